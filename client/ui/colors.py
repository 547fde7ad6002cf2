"""Participant colours as Visio sends them: any CSS colour, parsed once for every widget.

The ``color`` attribute comes from the wire: ``#rrggbb``, a colour name, ``rgb()`` or
``hsl()``; anything else is refused (an invalid ``QColor``) and a colour derived from
the identity is used instead.
"""

from __future__ import annotations

import colorsys
import hashlib
import re

from PySide6.QtGui import QColor

_CSS_FUNCTION = re.compile(r"^\s*(rgba?|hsla?)\(\s*([^)]*)\)\s*$", re.IGNORECASE)


def css_color(text: str) -> QColor:
    """A participant colour: ``#rrggbb``, a colour name, ``rgb()`` or ``hsl()``.

    Visio's ``color`` attribute may be any CSS colour; ``QColor`` parses the first two
    forms only.  Returns an invalid ``QColor`` for anything else.
    """
    match = _CSS_FUNCTION.match(text)
    if match is None:
        return QColor.fromString(text.strip()) if text.strip() else QColor()
    kind = match.group(1).lower()
    parts = [p for p in re.split(r"[\s,/]+", match.group(2).strip()) if p]
    if len(parts) < 3:
        return QColor()
    try:
        alpha = _css_number(parts[3], 1.0) if len(parts) > 3 else 1.0
        if kind.startswith("rgb"):
            red, green, blue = (_css_number(p, 255.0) for p in parts[:3])
            return QColor.fromRgbF(*(_unit(v) for v in (red / 255, green / 255, blue / 255, alpha)))
        hue = float(parts[0].lower().removesuffix("deg")) % 360 / 360
        saturation = _css_number(parts[1], 1.0)
        lightness = _css_number(parts[2], 1.0)
        return QColor.fromHslF(hue, _unit(saturation), _unit(lightness), _unit(alpha))
    except ValueError:
        return QColor()


def _css_number(part: str, scale: float) -> float:
    """A CSS number or percentage; a percentage is of ``scale``."""
    if part.endswith("%"):
        return float(part[:-1]) / 100 * scale
    return float(part)


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


def participant_color(identity: str, attribute: str = "") -> str:
    """The participant's colour as ``#rrggbb``: Visio's ``color`` attribute when it is a
    colour, else one derived from the identity (stable across sessions)."""
    parsed = css_color(attribute) if attribute else QColor()
    if parsed.isValid():
        return str(parsed.name())
    digest = hashlib.sha256(identity.encode()).digest()
    red, green, blue = colorsys.hls_to_rgb(digest[0] / 255, 0.42, 0.55)
    return f"#{int(red * 255):02x}{int(green * 255):02x}{int(blue * 255):02x}"
