"""What counts as a crash, how one is named, and how the worker stores it.

A finding is any exception that escapes a target: an exception the client does
not document, or a ``FuzzFinding`` raised by the harness when a property fails
(a stream completed by the wrong sender, a cap exceeded, an error the room's event
emitter swallowed and logged).  Findings are grouped by signature, the exception
type and the innermost frame in the client, so one bug is one line in the report.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

CLIENT_MARKER = "/client/"


class FuzzFinding(Exception):
    """A property of the client failed; ``signature`` names the bug."""

    def __init__(self, signature: str, detail: str) -> None:
        super().__init__(f"{signature}: {detail}")
        self.signature = signature
        self.detail = detail


def frame_signature(kind: str, tb: TracebackType | None) -> str:
    """``Type@file:line`` of the innermost client frame (else the innermost frame)."""
    frames = traceback.extract_tb(tb)
    chosen = None
    for frame in frames:
        if CLIENT_MARKER in frame.filename.replace("\\", "/"):
            chosen = frame
    if chosen is None and frames:
        chosen = frames[-1]
    if chosen is None:
        return kind
    path = chosen.filename.replace("\\", "/")
    short = path[path.rfind(CLIENT_MARKER) + 1 :] if CLIENT_MARKER in path else Path(path).name
    return f"{kind}@{short}:{chosen.lineno} ({chosen.name})"


def signature_of(exc: BaseException) -> str:
    if isinstance(exc, FuzzFinding):
        return exc.signature
    return frame_signature(type(exc).__name__, exc.__traceback__)


def describe(exc: BaseException) -> str:
    if isinstance(exc, FuzzFinding):
        return exc.detail
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


@dataclass
class Finding:
    """One signature: how often it happened and the smallest input that shows it."""

    target: str
    kind: str  # "crash" or "hang"
    signature: str
    detail: str
    input_hex: str
    count: int = 1
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Finding:
        return cls(**json.loads(line))


def append(path: Path, finding: Finding) -> None:
    """Write at once: a worker killed by libFuzzer (hang, OOM) loses nothing."""
    with path.open("a", encoding="utf-8") as out:
        out.write(finding.to_json() + "\n")


def load(path: Path) -> list[Finding]:
    if not path.exists():
        return []
    return [Finding.from_json(line) for line in path.read_text("utf-8").splitlines() if line]


def merge(findings: list[Finding]) -> list[Finding]:
    """One entry per (kind, signature): counts summed, targets listed, smallest input kept.

    Entries without an input only carry more occurrences of one already written.
    """
    merged: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        key = (finding.kind, finding.signature)
        seen = merged.get(key)
        if seen is None:
            merged[key] = Finding(**asdict(finding))
            continue
        seen.count += finding.count
        seen.seconds = max(seen.seconds, finding.seconds)
        if finding.target not in seen.target.split(", "):
            seen.target = f"{seen.target}, {finding.target}"
        if finding.input_hex and (
            not seen.input_hex or len(finding.input_hex) < len(seen.input_hex)
        ):
            seen.input_hex, seen.detail = finding.input_hex, finding.detail
    return sorted(merged.values(), key=lambda f: (f.kind, f.signature))
