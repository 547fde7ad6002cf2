"""``python -m bench call --participants 4 --seconds 20 [--json]``, ``python -m bench
rejoin --count 50 [--json]``, ``python -m bench streams [--json]``, and the window's:
``python -m bench render --tiles 9 [--json]``, ``python -m bench captions [--json]``,
``python -m bench startup [--json]``, ``python -m bench convert [--json]``, and
``python -m bench scale --peers 16 [--json]``; the devices': ``python -m bench aec [--json]``
and ``python -m bench audio [--json]``."""

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
    call.add_argument(
        "--loop", choices=("asyncio", "uvloop"), default="asyncio", help="the core's event loop"
    )
    call.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    rejoin = sub.add_parser("rejoin", help="memory and live sessions over many rejoins")
    rejoin.add_argument("--count", type=int, default=50)
    rejoin.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    streams = sub.add_parser("streams", help="event-loop stalls while a 4 MB text stream arrives")
    streams.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    render = sub.add_parser("render", help="the window in a call: UI time per frame, CPU to show")
    render.add_argument("--tiles", type=int, default=9)
    render.add_argument("--seconds", type=float, default=15.0)
    render.add_argument("--fps", type=int, default=15, help="each peer's frame rate")
    render.add_argument(
        "--peers",
        choices=("replay", "sdk"),
        default="replay",
        help="pre-encoded loops replayed (cheap), or official-SDK peers encoding live",
    )
    render.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    captions = sub.add_parser("captions", help="an agent's caption to the overlay's paint")
    captions.add_argument("--count", type=int, default=50, help="caption updates sent")
    captions.add_argument("--video-peers", type=int, default=0, help="peers also sending video")
    captions.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    startup = sub.add_parser("startup", help="launching visio-desktop to the first remote frame")
    startup.add_argument("--runs", type=int, default=3)
    startup.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    convert = sub.add_parser("convert", help="PyAV reformat against QVideoFrame.toImage()")
    convert.add_argument("--frames", type=int, default=300, help="frames per path and size")
    convert.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    scale = sub.add_parser("scale", help="16 simulcast cameras received as thumbnails, then full")
    scale.add_argument("--peers", type=int, default=16)
    scale.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    scale.add_argument("--fps", type=float, default=5.0, help="each peer's frame rate")
    scale.add_argument(
        "--congestion-control", action="store_true", help="leave the SFU's congestion control on"
    )
    scale.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    loss = sub.add_parser(
        "loss", help="audio and video at random packet loss, with/without concealment"
    )
    loss.add_argument("--seconds", type=float, default=12.0)
    loss.add_argument("--loss", type=float, default=0.1, help="share of RTP packets dropped")
    loss.add_argument("--seed", type=int, default=7)
    loss.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    aec = sub.add_parser("aec", help="echo cancellation on a synthetic room echo path")
    aec.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="measured part of each scenario, after a 15 s warm-up",
    )
    aec.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    audio = sub.add_parser("audio", help="mouth to ear through PulseAudio, the server and a peer")
    audio.add_argument("--seconds", type=float, default=20.0)
    audio.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    args = parser.parse_args(argv)
    if args.command == "aec":
        from bench.aec import main_aec

        return main_aec(args)
    if args.command == "audio":
        from bench.audio import main_audio

        return main_audio(args)
    if args.command == "loss":
        from bench.loss import main_loss

        return main_loss(args.seconds, args.loss, args.seed, args.json)
    if args.command == "scale":
        from bench.scale import main_scale

        return main_scale(args.peers, args.seconds, args.fps, args.json, args.congestion_control)
    if args.command == "render":
        from bench.render import main_render

        return main_render(args.tiles, args.seconds, args.fps, args.json, args.peers)
    if args.command == "captions":
        from bench.captions_latency import main_captions

        return main_captions(args.count, args.json, args.video_peers)
    if args.command == "startup":
        from bench.startup import main_startup

        return main_startup(args.runs, args.json)
    if args.command == "convert":
        from bench.convert import main_convert

        return main_convert(args.frames, args.json)
    if args.command == "rejoin":
        from bench.rejoin import main_rejoin

        return main_rejoin(args.count, args.json)
    if args.command == "streams":
        from bench.streams import main_streams

        return main_streams(args.json)
    return main_call(args.participants, args.seconds, args.json, args.loop)


if __name__ == "__main__":
    sys.exit(main())
