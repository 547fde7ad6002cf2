"""The French catalogue covers every string of the code, compiles, and reaches the screens.

The committed ``resources/translations/visio_desktop_fr.ts`` is compared with a fresh
``pyside6-lupdate`` scan of the code, so a new ``self.tr(...)`` without its French
translation fails here; the compiled catalogue is then installed and the widgets that
need no network are built and searched for any English text left on screen.
"""

from __future__ import annotations

import importlib
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import translations as tool

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: Texts that are the same in both languages or not words at all.
ALLOWED = {"", "Visio", "English", "Français", "…"}
#: Qt's own English for standard buttons, translated by its qtbase_fr catalogue.
QT_ENGLISH = {"Cancel", "&Cancel", "Yes", "&Yes", "No", "&No", "Close", "&Close", "Apply"}


@pytest.fixture(scope="module")
def committed() -> list[tool.Message]:
    assert tool.TS.exists(), f"{tool.TS} is missing (run `make translations-update`)"
    return [m for m in tool.read_catalogue(tool.TS) if m.current]


@pytest.fixture(scope="module")
def compiled_qm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tool.compile_catalogue(tool.TS, tmp_path_factory.mktemp("qm") / "visio_desktop_fr.qm")


# --- (a) the catalogue covers the code ----------------------------------------------------


def test_every_string_in_the_code_has_a_french_translation(
    tmp_path: Path, committed: list[tool.Message]
) -> None:
    fresh = tmp_path / "scan_fr.ts"
    tool.scan(fresh)
    found = tool.read_catalogue(fresh)
    assert len(found) > 50, "the scan found suspiciously few strings"
    translated = {m.key: m for m in committed if m.finished}
    missing = [m.describe() for m in found if m.key not in translated]
    assert not missing, (
        "strings without a French translation (run `make translations-update`, "
        "translate them in resources/translations/visio_desktop_fr.ts):\n  " + "\n  ".join(missing)
    )
    for m in found:
        if m.numerus:
            assert translated[m.key].numerus, f"{m.describe()} became a plural form"


def test_translations_keep_their_placeholders(committed: list[tool.Message]) -> None:
    problems = [p for m in committed for p in tool.placeholder_problems(m)]
    assert not problems, "\n".join(problems)


def test_plural_entries_have_both_french_forms(committed: list[tool.Message]) -> None:
    plurals = [m for m in committed if m.numerus]
    assert plurals, "the catalogue should hold the %n entries"
    for m in plurals:
        assert len(m.translations) == 2 and all(m.translations), m.describe()


def test_the_catalogue_is_a_plain_qt_linguist_file() -> None:
    text = tool.TS.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>')
    root = ET.fromstring(text)
    assert root.tag == "TS" and root.get("language") == "fr"
    assert root.get("sourcelanguage") == "en"


def test_the_check_command_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main(["check"]) == 0, capsys.readouterr().out


# --- (b) it compiles ----------------------------------------------------------------------


def test_compile_writes_a_catalogue_qt_can_use(compiled_qm: Path) -> None:
    from PySide6.QtCore import QTranslator

    translator = QTranslator()
    assert translator.load(str(compiled_qm))
    assert translator.translate("HomePage", "Join a meeting") == "Rejoindre une réunion"
    assert translator.translate("Messages", "The meeting has ended.") == "La réunion est terminée."
    plural = "Chat, %n unread message(s)"
    assert translator.translate("ControlsBar", plural, "", 1) == "Chat, %n message non lu"
    assert translator.translate("ControlsBar", plural, "", 3) == "Chat, %n messages non lus"


def test_compile_refuses_an_unfinished_catalogue(tmp_path: Path) -> None:
    ts = tmp_path / "broken_fr.ts"
    ts.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n'
        '<TS version="2.1" language="fr" sourcelanguage="en">\n<context>\n'
        "    <name>HomePage</name>\n    <message>\n        <source>Join a meeting</source>\n"
        '        <translation type="unfinished"></translation>\n    </message>\n'
        "</context>\n</TS>\n",
        encoding="utf-8",
    )
    with pytest.raises(tool.TranslationError, match="unfinished"):
        tool.compile_catalogue(ts, tmp_path / "broken_fr.qm")
    assert not (tmp_path / "broken_fr.qm").exists()


# --- (c) no English left on the screens ---------------------------------------------------


def _texts(root: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for every text a user sees or hears in ``root`` and its children."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QComboBox,
        QGroupBox,
        QLabel,
        QLineEdit,
        QListWidget,
        QPlainTextEdit,
        QTabWidget,
        QTextEdit,
        QWidget,
    )

    for widget in [root, *root.findChildren(QWidget)]:
        where = f"{type(widget).__name__}({widget.objectName() or '-'})"
        yield f"{where}.windowTitle", widget.windowTitle()
        yield f"{where}.toolTip", widget.toolTip()
        yield f"{where}.statusTip", widget.statusTip()
        yield f"{where}.accessibleName", widget.accessibleName()
        yield f"{where}.accessibleDescription", widget.accessibleDescription()
        if isinstance(widget, QLabel):
            yield f"{where}.text", widget.text()
        if isinstance(widget, QAbstractButton):
            yield f"{where}.text", widget.text()
        if isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit):
            yield f"{where}.placeholderText", widget.placeholderText()
        if isinstance(widget, QComboBox):
            for i in range(widget.count()):
                yield f"{where}.item[{i}]", widget.itemText(i)
        if isinstance(widget, QListWidget):
            for i in range(widget.count()):
                item = widget.item(i)
                yield f"{where}.item[{i}]", item.text()
                yield f"{where}.item[{i}].toolTip", item.toolTip()
        if isinstance(widget, QGroupBox):
            yield f"{where}.title", widget.title()
        if isinstance(widget, QTabWidget):
            for i in range(widget.count()):
                yield f"{where}.tab[{i}]", widget.tabText(i)
        for action in widget.actions():
            yield f"{where}.action", action.text()
            yield f"{where}.action.toolTip", action.toolTip()


def _pattern(text: str) -> re.Pattern[str] | None:
    """A source with placeholders as the shapes its filled-in text can take."""
    pieces = re.split(r"%(?:\d{1,2}|n)|\{[A-Za-z_][A-Za-z0-9_]*\}", text)
    if len(pieces) == 1 or sum(c.isalpha() for c in "".join(pieces)) < 3:
        return None
    return re.compile(".+?".join(re.escape(p) for p in pieces), re.DOTALL)


class EnglishDetector:
    def __init__(self, messages: list[tool.Message], extra: set[str] | None = None) -> None:
        french = {t for m in messages for t in m.translations}
        self.french = french | ALLOWED
        self.english = ({m.source for m in messages} | (extra or set())) - self.french
        self.patterns = [p for s in self.english if (p := _pattern(s)) is not None]
        # Words and phrases of the sources, to catch them inside composed texts
        # ("Camera (off) — V"); short words ("on") would match French by accident.
        self.phrases = [
            re.compile(rf"(?<!\w){re.escape(s)}(?!\w)")
            for s in self.english
            if len(s) >= 4 and _pattern(s) is None and s.strip() == s
        ]

    def is_english(self, text: str) -> bool:
        if text in self.french or len(text.strip()) <= 1:
            return False
        if text in self.english:
            return True
        if any(p.fullmatch(text) for p in self.patterns):
            return True
        return any(p.search(text) for p in self.phrases)


def _build(module: str, factory: Callable[[Any], Any]) -> tuple[Any, str]:
    """The widget, or why its module does not import yet (being written)."""
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        return None, f"{module}: {exc}"
    return factory(loaded), ""


def _home(module: Any) -> Any:
    from client.settings import Settings

    page = module.HomePage(Settings())
    page.join.click()  # empty link: a message from the Messages context
    page.link.setText("wss://visio.example.gouv.fr")
    page.token.setText("a.b.c")
    page.join.click()  # no name yet
    return page


def _prejoin(module: Any) -> Any:
    from client.meeting_link import MeetingLink

    page = module.PrejoinPage()
    page.prepare(
        MeetingLink("wss://visio.example.gouv.fr", "a.b.c"),
        "Anne",
        camera_on=False,
        microphone_on=True,
    )
    page.stop()
    return page


def _controls(module: Any) -> Any:
    bar = module.ControlsBar()
    bar.set_unread(3)
    bar.microphone.set_on(True)
    return bar


def _settings(module: Any) -> Any:
    from client.settings import Settings

    return module.SettingsDialog(Settings())


SCREENS: list[tuple[str, Callable[[Any], Any]]] = [
    ("client.ui.home_page", _home),
    ("client.ui.prejoin_page", _prejoin),
    ("client.ui.controls_bar", _controls),
    ("client.ui.settings_dialog", _settings),
]


@pytest.mark.gui
def test_no_english_text_left_on_the_screens(
    compiled_qm: Path, committed: list[tool.Message]
) -> None:
    from PySide6.QtCore import QLibraryInfo, QTranslator
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    app = existing if existing is not None else QApplication([])
    assert isinstance(app, QApplication), "another test created a QCoreApplication"
    translator = QTranslator()
    assert translator.load(str(compiled_qm))
    # As the app does: Qt's own catalogue too (OK/Cancel), when Qt ships it.
    qt = QTranslator()
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    has_qt = qt.load("qtbase_fr", qt_dir)
    translators = [translator, qt] if has_qt else [translator]
    for installed in translators:
        assert app.installTranslator(installed)
    detector = EnglishDetector(committed, QT_ENGLISH if has_qt else None)
    built: list[Any] = []
    not_yet: list[str] = []
    try:
        for module, factory in SCREENS:
            widget, reason = _build(module, factory)
            if widget is None:
                not_yet.append(reason)
            else:
                built.append(widget)
        assert built, "no screen could be built: " + "; ".join(not_yet)
        english = [
            f"{type(w).__name__} > {where}: {text!r}"
            for w in built
            for where, text in _texts(w)
            if detector.is_english(text)
        ]
        seen = {text for w in built for _, text in _texts(w)}
    finally:
        for widget in built:
            widget.deleteLater()
        for installed in translators:
            app.removeTranslator(installed)
    assert not english, "English text left on screen:\n  " + "\n  ".join(english)
    # The check looked at translated screens, not empty ones.
    assert {"Rejoindre une réunion", "Paramètres"} & seen, sorted(seen)
