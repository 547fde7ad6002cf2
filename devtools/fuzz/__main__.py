"""``python -m devtools.fuzz``: fuzz every parser of untrusted input, then report.

Prints a line per target (inputs run, rate, crashes, hangs over 1 s, peak memory,
RSS after warm-up and at the end), the totals, every distinct finding with the
input that shows it, and, last, the same as one line of JSON.  Exits 1 if
anything was found.
"""

from __future__ import annotations

import argparse
import sys

from devtools.fuzz import campaign, libfuzzer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.fuzz", description=__doc__)
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs in all targets")
    parser.add_argument(
        "--seconds", type=float, default=0.0, help="time limit per target (0: none)"
    )
    parser.add_argument(
        "--targets",
        default=",".join(campaign.WEIGHTS),
        help="comma-separated coverage-guided targets (default: all)",
    )
    parser.add_argument("--no-properties", action="store_true", help="skip the hypothesis pass")
    parser.add_argument("--jobs", type=int, default=None, help="parallel slots (default: CPUs)")
    parser.add_argument(
        "--rss-limit-mb", type=int, default=libfuzzer.DEFAULT_RSS_LIMIT_MB, help="per worker"
    )
    parser.add_argument("--seed", type=int, default=None, help="libFuzzer seed")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)
    names = [name for name in args.targets.split(",") if name]
    unknown = set(names) - set(campaign.WEIGHTS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    report = campaign.run(
        args.inputs,
        names=names,
        with_properties=not args.no_properties,
        seconds=args.seconds,
        jobs=args.jobs,
        rss_limit_mb=args.rss_limit_mb,
        seed=args.seed,
    )
    if not args.json:
        print(report.text())
    print(campaign.to_json(report))
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
