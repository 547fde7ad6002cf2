"""``python -m bench call --participants 4 --seconds 20 [--json]``, ``python -m bench
rejoin --count 50 [--json]``, ``python -m bench streams [--json]``."""

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
    rejoin = sub.add_parser("rejoin", help="memory and live sessions over many rejoins")
    rejoin.add_argument("--count", type=int, default=50)
    rejoin.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    streams = sub.add_parser("streams", help="event-loop stalls while a 4 MB text stream arrives")
    streams.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    args = parser.parse_args(argv)
    if args.command == "rejoin":
        from bench.rejoin import main_rejoin

        return main_rejoin(args.count, args.json)
    if args.command == "streams":
        from bench.streams import main_streams

        return main_streams(args.json)
    return main_call(args.participants, args.seconds, args.json)


if __name__ == "__main__":
    sys.exit(main())
