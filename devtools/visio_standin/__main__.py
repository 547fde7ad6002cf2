"""``python -m devtools.visio_standin``: the stand-in on its own, for the demo.

Prints its base URL on the first line of stdout, then one line per room, and serves
until interrupted.  The API secret may come from ``LIVEKIT_API_SECRET`` instead of the
command line, where other users of the machine can read it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

from devtools.visio_standin.server import VisioStandIn

_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


@dataclass(frozen=True)
class LiveKitEndpoint:
    """A LiveKit server known only by its address and keys."""

    http_url: str
    ws_url: str
    api_key: str
    api_secret: str = field(repr=False)

    @classmethod
    def from_url(cls, url: str, api_key: str, api_secret: str) -> LiveKitEndpoint:
        parts = urlsplit(url.rstrip("/"))
        http_scheme = _SCHEMES.get(parts.scheme)
        if http_scheme is None or not parts.netloc:
            raise ValueError(f"not a LiveKit server URL: {url!r}")
        ws_scheme = "wss" if http_scheme == "https" else "ws"
        return cls(
            urlunsplit((http_scheme, parts.netloc, parts.path, "", "")),
            urlunsplit((ws_scheme, parts.netloc, parts.path, "", "")),
            api_key,
            api_secret,
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devtools.visio_standin", description=__doc__)
    parser.add_argument("--livekit-url", required=True, help="ws(s):// or http(s):// URL")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--api-secret", default=os.environ.get("LIVEKIT_API_SECRET", ""))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--origin", default=None, help="the public origin, if not base URL")
    parser.add_argument("--allow-unregistered-rooms", action="store_true")
    parser.add_argument("--no-subtitles", action="store_true", help="captions disabled")
    parser.add_argument("--caption-agent-name", default="visio-caption-agent")
    parser.add_argument("--session-cookie-name", default="meet_sessionid")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="SUB:EMAIL:FULL NAME:PASSWORD",
        help="an account that can sign in (repeat)",
    )
    parser.add_argument(
        "--room",
        action="append",
        default=[],
        metavar="SLUG[:LEVEL[:OWNER,...]]",
        help="a room: public (default), trusted or restricted, owned by these subs (repeat)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.api_secret:
        parser.error("--api-secret or LIVEKIT_API_SECRET in the environment is required")
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        livekit = LiveKitEndpoint.from_url(args.livekit_url, args.api_key, args.api_secret)
    except ValueError as exc:
        parser.error(str(exc))
    standin = VisioStandIn(
        livekit,
        host=args.host,
        port=args.port,
        allow_unregistered_rooms=args.allow_unregistered_rooms,
        subtitles_enabled=not args.no_subtitles,
        caption_agent_name=args.caption_agent_name,
        session_cookie_name=args.session_cookie_name,
        origin=args.origin,
    )
    for spec in args.user:
        parts = spec.split(":", 3)
        if len(parts) != 4:
            parser.error(f"--user wants SUB:EMAIL:FULL NAME:PASSWORD, got {parts[0]!r}...")
        standin.add_user(*parts)
    rooms = []
    for spec in args.room:
        slug, _, rest = spec.partition(":")
        level, _, owners = rest.partition(":")
        rooms.append(
            standin.add_room(
                slug, access_level=level or "public", owners=[o for o in owners.split(",") if o]
            )
        )

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with standin:
        print(standin.base_url, flush=True)
        for room in rooms:
            print(f"room {room.slug} {room.access_level.value} {room.id}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
