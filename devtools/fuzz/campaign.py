"""A fuzzing campaign: the budget split over the targets, run in parallel, one report.

The coverage-guided targets each run in their own worker processes; the property
pass runs in this process, in one of the same parallel slots.  The report gives,
per target and in total, inputs run, crashes, hangs (inputs over 1 s), peak
memory and RSS growth, then every distinct finding with its reproducer.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from devtools.fuzz import findings as fnd
from devtools.fuzz import libfuzzer, properties
from devtools.fuzz.worker import peak_rss_mb

#: Share of the coverage-guided budget per target: the stateful parsers get most.
WEIGHTS = {
    "signal": 0.25,
    "data": 0.25,
    "streams": 0.25,
    "chat_json": 0.125,
    "ice": 0.125,
    "vp9": 0.125,
}
#: The property pass gets about this share of the inputs, within these bounds per property.
PROPERTY_SHARE = 0.01
PROPERTY_EXAMPLES = (20, 1000)


@dataclass
class Row:
    """One line of the report: a coverage-guided target or a property."""

    name: str
    kind: str  # "atheris" or "hypothesis"
    inputs: int
    crashes: int
    hangs: int
    ooms: int
    peak_rss_mb: float
    rss_warm_mb: float
    rss_end_mb: float
    seconds: float
    #: Over the timeout once, fast again alone: the machine was busy (not a finding).
    stalls: int
    corpus_entries: int = 0
    corpus_kb: float = 0.0

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    findings: list[fnd.Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def inputs(self) -> int:
        return sum(row.inputs for row in self.rows)

    @property
    def crashes(self) -> int:
        return sum(row.crashes for row in self.rows)

    @property
    def hangs(self) -> int:
        return sum(row.hangs for row in self.rows)

    @property
    def ooms(self) -> int:
        return sum(row.ooms for row in self.rows)

    @property
    def stalls(self) -> int:
        return sum(row.stalls for row in self.rows)

    @property
    def peak_rss_mb(self) -> float:
        return max((row.peak_rss_mb for row in self.rows), default=0.0)

    @property
    def clean(self) -> bool:
        """No finding left once the tolerated ones (and stalls) are set aside."""
        return all(finding.kind == "stall" for finding in self.findings)

    def summary(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "crashes": self.crashes,
            "distinct_crashes": sum(1 for f in self.findings if f.kind == "crash"),
            "hangs": self.hangs,
            "ooms": self.ooms,
            "stalls": self.stalls,
            "peak_rss_mb": self.peak_rss_mb,
            "seconds": self.seconds,
            "targets": [{**asdict(row), "rate": round(row.rate)} for row in self.rows],
            "findings": [asdict(finding) for finding in self.findings if finding.kind != "stall"],
        }

    def text(self) -> str:
        head = (
            f"{'target':<24}{'inputs':>10}{'per s':>8}{'crashes':>9}{'hangs':>7}"
            f"{'peak MB':>9}{'RSS MB warm→end':>18}{'s':>8}"
        )
        lines = [head]
        for row in self.rows:
            growth = (
                f"{row.rss_warm_mb:.0f} → {row.rss_end_mb:.0f}" if row.kind == "atheris" else "-"
            )
            lines.append(
                f"{row.kind[0]}:{row.name:<22}{row.inputs:>10}{row.rate:>8.0f}"
                f"{row.crashes:>9}{row.hangs + row.ooms:>7}{row.peak_rss_mb:>9.0f}"
                f"{growth:>18}{row.seconds:>8.0f}"
            )
        lines.append(
            f"{'total':<24}{self.inputs:>10}{self.inputs / max(self.seconds, 1e-9):>8.0f}"
            f"{self.crashes:>9}{self.hangs + self.ooms:>7}{self.peak_rss_mb:>9.0f}"
            f"{'':>18}{self.seconds:>8.0f}"
        )
        if self.stalls:
            lines.append(
                f"({self.stalls} input(s) took over 1 s once but ran fast again alone: "
                "the machine was busy; not counted as hangs)"
            )
        corpora = [
            f"{r.name} {r.corpus_entries} ({r.corpus_kb:.0f} KB)"
            for r in self.rows
            if r.corpus_entries
        ]
        if corpora:
            lines.append(
                "libFuzzer corpora at the end (held by each worker): " + ", ".join(corpora)
            )
        for finding in self.findings:
            if finding.kind == "stall":
                continue
            shown = finding.input_hex[:400] + ("…" if len(finding.input_hex) > 400 else "")
            detail = " ".join(finding.detail.split())
            lines += [
                "",
                f"{finding.kind.upper()} in {finding.target} ×{finding.count}: {finding.signature}",
                f"  {detail[:600]}",
                f"  reproducer ({len(finding.input_hex) // 2} bytes): {shown}",
            ]
        return "\n".join(lines)


def plan(total: int, names: Sequence[str], with_properties: bool) -> tuple[dict[str, int], int]:
    """(inputs per coverage-guided target, examples per property) for ``total`` inputs."""
    examples = 0
    if with_properties:
        low, high = PROPERTY_EXAMPLES
        share = int(total * PROPERTY_SHARE) // len(properties.PROPERTIES)
        examples = max(low, min(high, share))
    left = max(0, total - examples * len(properties.PROPERTIES) if with_properties else total)
    weights = {name: WEIGHTS.get(name, 0.1) for name in names}
    scale = sum(weights.values()) or 1.0
    budgets = {name: int(left * weight / scale) for name, weight in weights.items()}
    if budgets:
        first = next(iter(budgets))
        budgets[first] += left - sum(budgets.values())  # rounding goes to the first
    return budgets, examples


def _property_rows(examples: int, tolerate: properties.Tolerate) -> list[tuple[Row, Any]]:
    rows: list[tuple[Row, Any]] = []
    for prop in properties.PROPERTIES:
        result = properties.run_property(prop, examples, tolerate=tolerate)
        row = Row(
            prop.name,
            "hypothesis",
            result.examples,
            result.crashes,
            result.hangs,
            0,
            round(peak_rss_mb(), 1),
            0.0,
            0.0,
            result.seconds,
            result.stalls,
        )
        rows.append((row, result.findings))
    return rows


def run(
    total: int,
    *,
    names: Sequence[str] | None = None,
    with_properties: bool = True,
    seconds: float = 0.0,
    jobs: int | None = None,
    rss_limit_mb: int = libfuzzer.DEFAULT_RSS_LIMIT_MB,
    tolerate: properties.Tolerate = properties.tolerate_nothing,
    seed: int | None = None,
) -> Report:
    """Fuzz every target (or ``names``) for ``total`` inputs in all."""
    started = time.monotonic()
    chosen = list(names) if names is not None else list(WEIGHTS)
    budgets, examples = plan(total, chosen, with_properties)
    report = Report()
    slots = jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=slots) as pool:
        atheris_runs: list[Future[libfuzzer.TargetResult]] = [
            pool.submit(
                libfuzzer.run_target,
                name,
                budget,
                seconds=seconds,
                rss_limit_mb=rss_limit_mb,
                seed=seed,
            )
            for name, budget in budgets.items()
            if budget > 0
        ]
        property_run = pool.submit(_property_rows, examples, tolerate) if examples else None
        for future in atheris_runs:
            result = future.result()
            report.rows.append(
                Row(
                    result.target,
                    "atheris",
                    result.inputs,
                    result.crashes,
                    result.hangs,
                    result.ooms,
                    result.peak_rss_mb,
                    result.rss_warm_mb,
                    result.rss_end_mb,
                    result.seconds,
                    result.stalls,
                    result.corpus_entries,
                    result.corpus_kb,
                )
            )
            report.findings += [f for f in result.findings if not _tolerated(f, tolerate)]
        if property_run is not None:
            for row, found in property_run.result():
                report.rows.append(row)
                report.findings += found
    report.findings = fnd.merge(report.findings)
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _tolerated(finding: fnd.Finding, tolerate: properties.Tolerate) -> bool:
    return tolerate(finding.signature)


def to_json(report: Report) -> str:
    return json.dumps(report.summary(), sort_keys=True)
