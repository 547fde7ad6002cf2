"""Running one atheris target to its budget, and reading what libFuzzer says.

The worker reports a clean end itself.  When libFuzzer kills it instead (an input
over the timeout, the RSS limit exceeded, a crash no Python handler saw), this
reads libFuzzer's summary: the kind of death, the input it wrote out, how many
inputs ran (``stat::number_of_executed_units``) and the peak RSS.  The death is
counted, and a new worker runs the rest of the budget from the corpus so far.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.fuzz import findings as fnd
from devtools.fuzz import seeds
from devtools.fuzz.worker import REPLAY_PREFIX, STATS_PREFIX

TIMEOUT_S = 1
MAX_LEN = 4096
DEFAULT_RSS_LIMIT_MB = 2048
#: Worker restarts after a hang or a hard crash, before the target is abandoned.
MAX_RESTARTS = 5
#: A replayed input slower than this is a hang whatever the machine is doing.
REPLAY_TIMEOUT_S = 60.0
#: No worker may outlive its budget by this much (a hang libFuzzer failed to catch).
WALL_SLACK_S = 120.0

_EXECUTED = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
_PEAK = re.compile(r"stat::peak_rss_mb:\s*(\d+)")
_RSS = re.compile(r"\brss: (\d+)Mb")
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_CORPUS = re.compile(r"\bcorp: (\d+)/(\d+)(b|Kb|Mb)\b")
_UNIT = {"b": 1, "Kb": 1024, "Mb": 1024 * 1024}
_DEATHS = (
    ("hang", re.compile(r"ERROR: libFuzzer: timeout")),
    ("oom", re.compile(r"ERROR: libFuzzer: out-of-memory")),
    ("crash", re.compile(r"ERROR: libFuzzer: |=== Uncaught Python exception")),
)


@dataclass
class TargetResult:
    target: str
    inputs: int = 0
    crashes: int = 0
    hangs: int = 0
    #: Inputs over the timeout once that ran fast again alone: the machine was busy.
    stalls: int = 0
    ooms: int = 0
    peak_rss_mb: float = 0.0
    rss_warm_mb: float = 0.0
    rss_end_mb: float = 0.0
    seconds: float = 0.0
    restarts: int = 0
    #: libFuzzer's corpus at the end: it lives in the worker, so RSS grows with it.
    corpus_entries: int = 0
    corpus_kb: float = 0.0
    findings: list[fnd.Finding] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0


@dataclass
class Death:
    kind: str
    executed: int
    peak_rss_mb: float
    artifact: bytes
    excerpt: str


def read_death(log: str) -> Death:
    """What libFuzzer printed when it ended the worker."""
    kind = next((name for name, pattern in _DEATHS if pattern.search(log)), "crash")
    executed = _EXECUTED.search(log)
    peak = _PEAK.search(log)
    rss = [int(value) for value in _RSS.findall(log)]
    artifact = b""
    written = _ARTIFACT.search(log)
    if written:
        path = Path(written.group(1))
        artifact = path.read_bytes() if path.exists() else b""
    return Death(
        kind=kind,
        executed=int(executed.group(1)) if executed else 0,
        peak_rss_mb=float(peak.group(1)) if peak else float(max(rss, default=0)),
        artifact=artifact,
        excerpt="\n".join(log.strip().splitlines()[-12:]),
    )


def _write_seeds(corpus: Path, target: str) -> None:
    for index, seed in enumerate(seeds.SEEDS[target]()):
        (corpus / f"seed-{index}").write_bytes(seed)


def _write_dictionary(path: Path) -> None:
    # libFuzzer dictionary syntax: one quoted token per line, \xNN escapes.
    lines = []
    for token in seeds.dictionary():
        escaped = "".join(
            chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02x}" for b in token
        )
        lines.append(f'"{escaped}"')
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def run_target(
    target: str,
    budget: int,
    *,
    seconds: float = 0.0,
    rss_limit_mb: int = DEFAULT_RSS_LIMIT_MB,
    seed: int | None = None,
) -> TargetResult:
    """Fuzz ``target`` for ``budget`` inputs, or ``seconds`` if that comes first.

    A worker killed by libFuzzer is replaced, for what is left of the budget.
    """
    result = TargetResult(target)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        corpus.mkdir()
        _write_seeds(corpus, target)
        dictionary = work / "tokens.dict"
        _write_dictionary(dictionary)
        findings_path = work / "findings.jsonl"
        remaining = budget
        deadline = started + seconds if seconds > 0 else float("inf")
        while remaining > 0:
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                break
            command = [
                sys.executable,
                "-m",
                "devtools.fuzz.worker",
                target,
                "--budget",
                str(remaining),
                "--findings",
                str(findings_path),
                "--seconds",
                str(round(left_s, 2) if seconds > 0 else 0),
                f"-runs={remaining * 2 + 10_000}",
                f"-timeout={TIMEOUT_S}",
                f"-rss_limit_mb={rss_limit_mb}",
                f"-max_len={MAX_LEN}",
                f"-dict={dictionary}",
                "-print_final_stats=1",
                f"-artifact_prefix={work}/",
                str(corpus),
            ]
            if seed is not None:
                command.insert(-1, f"-seed={seed + result.restarts}")
            log_path = work / f"worker-{result.restarts}.log"
            with log_path.open("w") as log:
                try:
                    process = subprocess.run(
                        command,
                        stdout=subprocess.PIPE,
                        stderr=log,
                        text=True,
                        check=False,
                        env=_worker_env(),
                        # A clean run is well under 1 ms per input: this only stops a
                        # worker that libFuzzer's own timeout failed to end.
                        timeout=WALL_SLACK_S + min(remaining * 0.02, left_s),
                    )
                    stdout = process.stdout
                except subprocess.TimeoutExpired:
                    stdout = ""
                    log.write("\nERROR: libFuzzer: timeout (the worker outlived its budget)\n")
            stats = _stats(stdout)
            reported = _CORPUS.findall(log_path.read_text(errors="replace"))
            if reported:
                entries, size, unit = reported[-1]
                result.corpus_entries = int(entries)
                result.corpus_kb = round(int(size) * _UNIT[unit] / 1024, 1)
            if stats is not None:
                result.inputs += int(stats["inputs"])
                result.peak_rss_mb = max(result.peak_rss_mb, float(stats["peak_rss_mb"]))
                if not result.rss_warm_mb:
                    result.rss_warm_mb = float(stats["rss_warm_mb"])
                result.rss_end_mb = float(stats["rss_end_mb"])
                break
            death = read_death(log_path.read_text(errors="replace"))
            if death.kind == "hang" and death.artifact and not _hangs_again(target, death.artifact):
                death.kind = "stall"
            result.inputs += death.executed
            # libFuzzer's figure is ru_maxrss, which may include what this process held
            # when it forked the worker: an upper bound, used only for deaths.
            result.peak_rss_mb = max(result.peak_rss_mb, death.peak_rss_mb)
            fnd.append(
                findings_path,
                fnd.Finding(
                    target,
                    death.kind,
                    f"libFuzzer {death.kind} ({target})",
                    death.excerpt,
                    death.artifact.hex(),
                    seconds=float(TIMEOUT_S) if death.kind in ("hang", "stall") else 0.0,
                ),
            )
            result.restarts += 1
            # The next worker starts from the corpus: without this input, or it dies again.
            _drop_from_corpus(corpus, death.artifact)
            # A death before the first input (a broken import) must not loop.
            if result.restarts > MAX_RESTARTS or death.executed == 0:
                break
            remaining -= max(death.executed, 1)
        result.findings = fnd.merge(fnd.load(findings_path))
    for finding in result.findings:
        if finding.kind == "crash":
            result.crashes += finding.count
        elif finding.kind == "hang":
            result.hangs += finding.count
        elif finding.kind == "stall":
            result.stalls += finding.count
        else:
            result.ooms += finding.count
    result.seconds = round(time.monotonic() - started, 2)
    return result


def _drop_from_corpus(corpus: Path, data: bytes) -> None:
    for path in corpus.iterdir():
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            path.unlink()


def _hangs_again(target: str, data: bytes) -> bool:
    """Replay a timed-out input in a fresh process: a hang must be slow every time."""
    with tempfile.NamedTemporaryFile(prefix=f"fuzz-{target}-", suffix=".bin") as file:
        file.write(data)
        file.flush()
        command = [sys.executable, "-m", "devtools.fuzz.worker", target, "--replay", file.name]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=False,
                env=_worker_env(),
                timeout=REPLAY_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return True
    for line in done.stdout.splitlines():
        if line.startswith(REPLAY_PREFIX):
            return float(json.loads(line[len(REPLAY_PREFIX) :])["seconds"]) > TIMEOUT_S
    return True  # the replay died: whatever it is, it is not a busy machine


def _stats(stdout: str) -> dict[str, float] | None:
    """The numbers of the worker's closing line, if it got to print one."""
    for line in stdout.splitlines():
        if line.startswith(STATS_PREFIX):
            value = json.loads(line[len(STATS_PREFIX) :])
            if isinstance(value, dict):
                return {k: float(v) for k, v in value.items() if isinstance(v, int | float)}
    return None


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    # The worker imports devtools.fuzz from this checkout, wherever it is run from.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env
