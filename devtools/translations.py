"""The French catalogue: ``python -m devtools.translations update|compile|check``.

``resources/translations/visio_desktop_fr.ts`` is the committed source of the
translations (a Qt Linguist file: open it with ``pyside6-linguist``).

- ``update`` scans the code under ``client/`` with ``pyside6-lupdate`` and merges what
  it finds into the .ts: translations are kept, new strings arrive unfinished and
  strings that left the code are dropped.  For developers (``make translations-update``).
- ``compile`` turns the .ts into ``visio_desktop_fr.qm`` next to it with
  ``pyside6-lrelease`` (``make translations``).  It never rescans the code, and it
  fails if any message is unfinished or breaks a placeholder.
- ``check`` rescans the code into a scratch copy and lists every string that has no
  finished translation in the committed .ts; exit status 1 if there is any.

The Qt tools are the ones next to the running interpreter (the venv's bin folder).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "client"
TRANSLATIONS = ROOT / "resources" / "translations"
LANGUAGE = "fr"
TS = TRANSLATIONS / f"visio_desktop_{LANGUAGE}.ts"

#: A file is scanned if it marks strings for translation in any of these ways.
_MARKED = re.compile(
    r"\b(?:tr|translate|QT_TR_NOOP|QT_TR_N_NOOP|QT_TRANSLATE_NOOP|QT_TRANSLATE_N_NOOP"
    r"|QT_TRANSLATE_NOOP3|QT_TRANSLATE_N_NOOP3)\s*\("
)
#: Placeholders a translation must keep: Qt's %1…%99 and %n, and str.format fields.
_PLACEHOLDER = re.compile(r"%(?:\d{1,2}|n)|\{[A-Za-z_][A-Za-z0-9_]*\}")


class TranslationError(Exception):
    """A Qt tool is missing or failed, or the catalogue is not complete."""


@dataclass(frozen=True)
class Message:
    context: str
    source: str
    comment: str
    numerus: bool
    #: One text, or one per plural form for a numerus message.
    translations: tuple[str, ...]
    #: None when finished; else "unfinished", "vanished" or "obsolete".
    state: str | None
    location: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What QTranslator looks messages up by."""
        return (self.context, self.source, self.comment)

    @property
    def current(self) -> bool:
        """Still in the code (as of the catalogue's last update)."""
        return self.state not in ("vanished", "obsolete")

    @property
    def finished(self) -> bool:
        return self.state is None and bool(self.translations) and all(self.translations)

    def describe(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"{self.context}: {self.source!r}{where}"


def qt_tool(name: str) -> Path:
    """``pyside6-lupdate`` and friends: from the interpreter's bin folder, else PATH."""
    folder = Path(sys.executable).parent
    for candidate in (folder / name, folder / f"{name}.exe"):
        if candidate.exists():
            return candidate
    found = shutil.which(name)
    if found is None:
        raise TranslationError(f"{name} not found next to {sys.executable} nor on PATH")
    return Path(found)


def _run(args: Sequence[str | Path]) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise TranslationError(f"{Path(args[0]).name} failed ({result.returncode}):\n{output}")
    return output


def source_files(root: Path = CLIENT) -> list[Path]:
    """Every Python file under ``root`` that marks a string for translation."""
    return sorted(
        path
        for path in root.rglob("*.py")
        if _MARKED.search(path.read_text(encoding="utf-8", errors="replace"))
    )


def scan(ts: Path, sources: Sequence[Path] | None = None) -> str:
    """Merge the strings of ``sources`` (default: the client's) into ``ts``."""
    files = list(sources) if sources is not None else source_files()
    if not files:
        raise TranslationError("no source file marks a string for translation")
    ts.parent.mkdir(parents=True, exist_ok=True)
    return _run(
        [
            qt_tool("pyside6-lupdate"),
            *files,
            "-ts",
            ts,
            "-no-obsolete",
            "-locations",
            "absolute",
            "-source-language",
            "en",
            "-target-language",
            LANGUAGE,
        ]
    )


def read_catalogue(ts: Path) -> list[Message]:
    messages: list[Message] = []
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            numerus = message.get("numerus") == "yes"
            texts: tuple[str, ...] = ()
            state: str | None = "unfinished"
            if translation is not None:
                state = translation.get("type")
                if numerus:
                    texts = tuple(f.text or "" for f in translation.iter("numerusform"))
                else:
                    texts = (translation.text or "",)
            location = message.find("location")
            where = ""
            if location is not None:
                where = f"{Path(location.get('filename', '')).name}:{location.get('line', '')}"
            messages.append(
                Message(
                    context=name,
                    source=message.findtext("source") or "",
                    comment=message.findtext("comment") or "",
                    numerus=numerus,
                    translations=texts,
                    state=state,
                    location=where,
                )
            )
    return messages


def placeholder_problems(message: Message) -> list[str]:
    """A translation that drops or invents a placeholder shows the wrong text."""
    wanted = sorted(_PLACEHOLDER.findall(message.source))
    problems: list[str] = []
    for index, text in enumerate(message.translations):
        found = sorted(_PLACEHOLDER.findall(text))
        # A singular form may spell the number out ("un message"), never invent one.
        singular = message.numerus and index == 0 and "%n" in wanted
        expected = [p for p in wanted if p != "%n"] if singular else wanted
        got = [p for p in found if p != "%n"] if singular else found
        if got != expected:
            problems.append(
                f"{message.describe()}: translation {text!r} has placeholders {found}, "
                f"the source has {wanted}"
            )
    return problems


def catalogue_problems(ts: Path) -> list[str]:
    """What makes the committed catalogue unfit to compile, without rescanning."""
    problems: list[str] = []
    for message in read_catalogue(ts):
        if not message.current:
            continue
        if not message.finished:
            problems.append(f"unfinished: {message.describe()}")
        else:
            problems.extend(placeholder_problems(message))
    return problems


@dataclass(frozen=True)
class Report:
    #: In the code, not in the catalogue at all.
    missing: list[Message]
    #: In the catalogue, without a finished translation.
    unfinished: list[Message]
    #: In the catalogue, gone from the code (harmless; ``update`` drops them).
    stale: list[Message]
    invalid: list[str]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unfinished or self.invalid)


def check(ts: Path = TS, sources: Sequence[Path] | None = None) -> Report:
    """Compare the committed catalogue with what the code marks today."""
    committed = read_catalogue(ts) if ts.exists() else []
    by_key = {m.key: m for m in committed if m.current}
    with tempfile.TemporaryDirectory(prefix="visio-ts-") as scratch:
        fresh = Path(scratch) / ts.name
        scan(fresh, sources)
        found = read_catalogue(fresh)
    found_keys = {m.key for m in found}
    missing = [m for m in found if m.key not in by_key]
    unfinished = [by_key[m.key] for m in found if m.key in by_key and not by_key[m.key].finished]
    invalid: list[str] = []
    for m in found:
        if m.key in by_key and by_key[m.key].finished:
            invalid.extend(placeholder_problems(by_key[m.key]))
    stale = [m for m in by_key.values() if m.key not in found_keys]
    return Report(missing, unfinished, stale, invalid)


def update(ts: Path = TS) -> str:
    """Rescan the code into the catalogue, keeping every translation."""
    return scan(ts)


def compile_catalogue(ts: Path = TS, qm: Path | None = None) -> Path:
    """The .qm for ``ts`` (next to it unless told); refuses an incomplete catalogue."""
    if not ts.exists():
        raise TranslationError(f"{ts} does not exist (run `make translations-update`)")
    problems = catalogue_problems(ts)
    if problems:
        raise TranslationError(
            f"{ts.name}: {len(problems)} message(s) not ready:\n  " + "\n  ".join(problems)
        )
    target = qm if qm is not None else ts.with_suffix(".qm")
    target.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [
            qt_tool("pyside6-lrelease"),
            ts,
            "-qm",
            target,
            "-fail-on-unfinished",
            "-fail-on-invalid",
            "-silent",
        ]
    )
    if not target.exists() or target.stat().st_size == 0:
        raise TranslationError(f"pyside6-lrelease wrote no {target}")
    return target


def ensure_compiled(ts: Path = TS) -> Path:
    """The .qm for ``ts``, compiled first when it is missing or older than the .ts (the
    tools that take screenshots must show the French the app ships, not English)."""
    qm = ts.with_suffix(".qm")
    if not qm.exists() or qm.stat().st_mtime < ts.stat().st_mtime:
        compile_catalogue(ts, qm)
    return qm


def _print_report(report: Report, ts: Path) -> None:
    for title, messages in (
        ("not in the catalogue", report.missing),
        ("without a finished translation", report.unfinished),
    ):
        if messages:
            print(f"{len(messages)} string(s) {title}:")
            for m in messages:
                print(f"  {m.describe()}")
    if report.invalid:
        print(f"{len(report.invalid)} translation(s) with wrong placeholders:")
        for line in report.invalid:
            print(f"  {line}")
    if report.stale:
        print(f"{len(report.stale)} entr(y/ies) no longer in the code (update drops them)")
    if report.ok:
        print(f"{ts.name}: every string of the code is translated")
    elif report.missing:
        print("run `make translations-update`, then translate the new strings")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.translations")
    parser.add_argument("--ts", type=Path, default=TS, help=f"catalogue (default {TS.name})")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", help="rescan the code into the catalogue")
    compile_parser = commands.add_parser("compile", help="build the .qm from the catalogue")
    compile_parser.add_argument("--qm", type=Path, default=None, help="output .qm file")
    commands.add_parser("check", help="list untranslated strings; exit 1 if any")
    args = parser.parse_args(argv)
    ts: Path = args.ts
    try:
        if args.command == "update":
            print(update(ts))
            left = [m for m in read_catalogue(ts) if m.current and not m.finished]
            if left:
                print(f"{len(left)} message(s) to translate:")
                for m in left:
                    print(f"  {m.describe()}")
            return 0
        if args.command == "compile":
            print(f"wrote {compile_catalogue(ts, args.qm)}")
            return 0
        report = check(ts)
        _print_report(report, ts)
        return 0 if report.ok else 1
    except TranslationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
