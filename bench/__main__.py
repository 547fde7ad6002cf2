"""``python -m bench call --participants 4 --seconds 20 [--json]``."""

from __future__ import annotations

import argparse
import sys

from bench.call import main_call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    call = sub.add_parser("call", help="a call on a local server, with CPU against the codec floor")
    call.add_argument("--participants", type=int, default=4)
    call.add_argument("--seconds", type=float, default=20.0)
    call.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    args = parser.parse_args(argv)
    return main_call(args.participants, args.seconds, args.json)


if __name__ == "__main__":
    sys.exit(main())
