"""Icons, translations and styles from the ``resources/`` folder."""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QPixmap

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    return RESOURCES.joinpath(*parts)


@functools.cache
def icon(name: str) -> QIcon:
    """An SVG icon: sharp at any scale factor (Qt renders it per device pixel ratio)."""
    return QIcon(str(resource_path("icons", f"{name}.svg")))


def pixmap(name: str, size: int, ratio: float) -> QPixmap:
    """The icon drawn at ``size`` logical pixels for a screen of ``ratio``."""
    result = icon(name).pixmap(QSize(size, size), ratio)
    return result
