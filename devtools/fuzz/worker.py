"""One coverage-guided target in its own process: ``python -m devtools.fuzz.worker``.

``atheris.Fuzz()`` never returns and libFuzzer exits without running Python's exit
handlers, so this process counts its own inputs and ends itself when the budget
is spent, printing one ``STATS_PREFIX`` line of JSON.  libFuzzer's ``-runs`` is set
above the budget and only stops a runaway.  A finding does not stop the run: it
is written to the findings file at once (deduplicated by signature, smallest
input kept) and fuzzing goes on.  An input that does not return within the
timeout is left to libFuzzer, which writes it out and kills the process; the
parent counts that hang and starts a new worker for the rest of the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import atheris  # type: ignore[import-untyped]

from devtools.fuzz import findings as fnd
from devtools.fuzz.timing import HANG_S, InputTimer, is_hang

STATS_PREFIX = "FUZZ-WORKER-STATS "
REPLAY_PREFIX = "FUZZ-WORKER-REPLAY "
#: Occurrence counts of known signatures are written at most this often.
FLUSH_EVERY_S = 2.0


def rss_mb() -> float:
    """Current resident set size (the peak alone cannot show a slow leak)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def peak_rss_mb() -> float:
    """This process's RSS high-water mark.

    ``VmHWM`` belongs to the address space, which exec replaces; ``ru_maxrss``
    would also count what the parent held when it forked the worker.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Recorder:
    """Counts inputs, keeps findings, and ends the process when the budget is spent."""

    def __init__(self, target: str, budget: int, findings_path: Path) -> None:
        self.target = target
        self.budget = budget
        self.path = findings_path
        self.inputs = 0
        self.crashes = 0
        self.hangs = 0
        self.stalls = 0
        self.started = time.monotonic()
        self.warm_at = max(1, budget // 10)
        self.rss_warm_mb = 0.0
        self._smallest: dict[tuple[str, str], int] = {}
        self._unflushed: dict[tuple[str, str], int] = {}
        self._last_flush = time.monotonic()

    def record(self, kind: str, signature: str, detail: str, data: bytes, seconds: float) -> None:
        if kind == "crash":
            self.crashes += 1
        elif kind == "hang":
            self.hangs += 1
        else:
            self.stalls += 1
        key = (kind, signature)
        pending = self._unflushed.pop(key, 0) + 1
        smallest = self._smallest.get(key)
        if smallest is None or len(data) < smallest:
            self._smallest[key] = len(data)
            fnd.append(
                self.path,
                fnd.Finding(
                    self.target, kind, signature, detail, data.hex(), pending, round(seconds, 3)
                ),
            )
        else:
            self._unflushed[key] = pending
        self.flush(force=False)

    def flush(self, *, force: bool) -> None:
        if not self._unflushed or (
            not force and time.monotonic() - self._last_flush < FLUSH_EVERY_S
        ):
            return
        for (kind, signature), count in self._unflushed.items():
            # The input is not repeated: merging keeps the smallest one already written.
            fnd.append(self.path, fnd.Finding(self.target, kind, signature, "", "", count, 0.0))
        self._unflushed.clear()
        self._last_flush = time.monotonic()

    def finish(self) -> None:
        self.flush(force=True)
        stats: dict[str, Any] = {
            "target": self.target,
            "inputs": self.inputs,
            "crashes": self.crashes,
            "hangs": self.hangs,
            "stalls": self.stalls,
            "seconds": round(time.monotonic() - self.started, 2),
            "rss_warm_mb": round(self.rss_warm_mb, 1),
            "rss_end_mb": round(rss_mb(), 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        sys.stdout.write(STATS_PREFIX + json.dumps(stats) + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target")
    parser.add_argument("--budget", type=int, default=0, help="inputs to run")
    parser.add_argument("--findings", type=Path, help="JSON lines out")
    parser.add_argument("--seconds", type=float, default=0.0, help="stop earlier (0: never)")
    parser.add_argument("--replay", type=Path, help="only time this input, alone")
    args, libfuzzer_args = parser.parse_known_args(argv)
    if args.replay is not None:
        from devtools.fuzz import targets as plain_targets  # no instrumentation needed

        seconds = plain_targets.timed_replay(args.target, args.replay.read_bytes())
        sys.stdout.write(REPLAY_PREFIX + json.dumps({"seconds": seconds}) + "\n")
        return
    if args.findings is None or args.budget <= 0:
        parser.error("--budget and --findings are required to fuzz")

    # Only the client is instrumented: coverage of the harness would reward inputs
    # for exercising the fuzzer itself.
    with atheris.instrument_imports(include=["client"]):
        from devtools.fuzz import targets

    session = targets.FuzzSession(args.target)
    recorder = Recorder(args.target, args.budget, args.findings)
    deadline = time.monotonic() + args.seconds if args.seconds > 0 else float("inf")

    timer = InputTimer()

    def test_one(data: bytes) -> None:
        recorder.inputs += 1
        timer.start()
        failure: Exception | None = None
        try:
            session(data)
        except Exception as exc:
            failure = exc
        elapsed, cpu = timer.stop()
        if failure is not None:
            alone = session.replay_alone(data)
            if alone is not None and fnd.signature_of(alone) == fnd.signature_of(failure):
                note = "reproduces alone"
            else:
                note = "needs the state earlier inputs left"
            signature = fnd.signature_of(failure)
            detail = f"{fnd.describe(failure)} [{note}]"
            recorder.record("crash", signature, detail, data, 0.0)
        if elapsed > HANG_S:
            again = targets.timed_replay(args.target, data, 2, warm_up=False)
            kind = "hang" if is_hang(cpu, again) else "stall"
            note = f"{elapsed:.2f} s ({cpu:.2f} s of CPU outside GC, {again:.2f} s alone)"
            recorder.record(kind, f"slow {args.target} input", note, data, elapsed)
        if recorder.inputs == recorder.warm_at:
            recorder.rss_warm_mb = rss_mb()
        if recorder.inputs >= recorder.budget or (
            recorder.inputs % 256 == 0 and time.monotonic() > deadline
        ):
            recorder.finish()

    with targets.captured_client_logs():
        atheris.Setup([sys.argv[0], *libfuzzer_args], test_one)
        atheris.Fuzz()


if __name__ == "__main__":
    main()
