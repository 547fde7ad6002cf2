"""``python -m bench loss [--seconds 12] [--loss 0.1] [--json]``: media at random loss.

Two aiortc peer connections in one process, over 127.0.0.1 only: one sends
espeak-ng speech (Opus) and a test pattern (VP8), the other drops a share of the
RTP packets it receives (retransmissions included) before aiortc sees them.
Each side of the comparison runs in its own interpreter, because the hooks of
``client.livekit.loss_concealment`` are process-wide: "without" is plain aiortc.

Figures: audio frames per second out of the receiving track, the correlation of
the played signal with the sent one (frames concatenated as a speaker would play
them, best lag), the longest pause between two decoded video frames, and the
keyframe requests the receiver sent.  The last line printed is JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fractions
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aioice.ice
import av
import numpy as np
import numpy.typing as npt
from aiortc import RTCPeerConnection, RTCRtpReceiver, sdp
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from client.media.test_sources import TestPatternTrack

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)

SPEECH_TEXT = (
    "Packet loss concealment keeps a conversation going when the network drops a "
    "packet now and then. The quick brown fox jumps over the lazy dog, while five "
    "wizards box quickly and a jolly grey whale swims past the harbour lights. "
    "Seventeen people joined the meeting at nine o'clock to discuss the budget."
)


def speech_pcm(text: str = SPEECH_TEXT) -> npt.NDArray[np.int16]:
    """``text`` spoken by espeak-ng, as 48 kHz mono s16."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is missing: run scripts/install-debian-deps.sh")
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        subprocess.run([espeak, "-s", "160", "-w", str(wav), text], check=True)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        pieces: list[npt.NDArray[Any]] = []
        with av.open(str(wav)) as container:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            pieces.append(out.to_ndarray().reshape(-1))
    return np.concatenate(pieces).astype(np.int16)


class PcmTrack(MediaStreamTrack):
    """Plays a mono PCM signal in 20 ms frames, paced in real time, looping."""

    kind = "audio"

    def __init__(self, pcm: npt.NDArray[np.int16]) -> None:
        super().__init__()
        self.pcm = pcm
        self.frames_sent = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.frames_sent * FRAME_SAMPLES / SAMPLE_RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        offset = (self.frames_sent * FRAME_SAMPLES) % (len(self.pcm) - FRAME_SAMPLES)
        chunk = self.pcm[offset : offset + FRAME_SAMPLES]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self.frames_sent * FRAME_SAMPLES
        frame.time_base = TIME_BASE
        self.frames_sent += 1
        return frame


class CameraLikeTrack(TestPatternTrack):
    """The test pattern without the picture type lavfi stamps on its frames.

    ``testsrc2`` marks every frame as an I picture and FFmpeg's libvpx wrapper then
    encodes each one as a keyframe, so loss would never break a reference chain.
    A camera's frames carry no picture type; the encoder makes P-frames.
    """

    __test__ = False

    async def recv(self) -> av.VideoFrame:
        frame = await super().recv()
        frame.pict_type = av.video.frame.PictureType.NONE
        return frame


@dataclasses.dataclass
class LinkResult:
    audio_frames: int = 0
    audio_seconds: float = 0.0
    audio_sent: int = 0
    played: npt.NDArray[np.float32] = dataclasses.field(
        default_factory=lambda: np.zeros(0, dtype=np.float32)
    )
    video_frames: int = 0
    longest_video_freeze_s: float = 0.0
    packets_dropped: int = 0
    keyframe_requests: int = 0
    stats: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def audio_frames_per_s(self) -> float:
        return self.audio_frames / self.audio_seconds if self.audio_seconds else 0.0


def loopback_only() -> None:
    """Make aioice offer 127.0.0.1 alone, so both peers talk over loopback."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]  # type: ignore[assignment]


def drop_incoming(
    receiver: RTCRtpReceiver,
    loss: float,
    rng: random.Random,
    counter: list[int],
    decide: Callable[[RtpPacket], bool] | None = None,
) -> None:
    """Drop ``loss`` of the RTP packets before ``receiver`` sees them.

    The DTLS transport calls ``receiver._handle_rtp_packet`` for each packet; an
    instance attribute shadows the class's method (and our hook on it).
    """
    handle: Callable[[RtpPacket, int], Awaitable[None]] = receiver._handle_rtp_packet

    async def lossy(packet: RtpPacket, arrival_time_ms: int) -> None:
        dropped = decide(packet) if decide is not None else rng.random() < loss
        if dropped:
            counter[0] += 1
            return
        await handle(packet, arrival_time_ms)

    receiver._handle_rtp_packet = lossy  # type: ignore[method-assign]


class LostForGood:
    """Drops ``loss`` of the media packets and every retransmission of them, so
    NACK never recovers a hole (a retransmission path as bad as the first)."""

    def __init__(self, loss: float, seed: int) -> None:
        self.rtx_types: frozenset[int] = frozenset()  # set by run_link
        self.loss = loss
        self.rng = random.Random(seed)
        self.lost: set[int] = set()

    def __call__(self, packet: RtpPacket) -> bool:
        if packet.payload_type in self.rtx_types and len(packet.payload) >= 2:
            original = int.from_bytes(packet.payload[:2], "big")
            return original in self.lost
        if self.rng.random() < self.loss:
            self.lost.add(packet.sequence_number)
            return True
        return False


class CorruptOnce:
    """Garbles one inter frame's header after ``after_s``: libvpx then fails to
    decode that frame (a failure the jitter buffer cannot see)."""

    def __init__(self, after_s: float) -> None:
        self.rtx_types: frozenset[int] = frozenset()  # set by run_link
        self.due = time.monotonic() + after_s
        self.done = False

    def __call__(self, packet: RtpPacket) -> bool:
        if self.done or time.monotonic() < self.due or packet.payload_type in self.rtx_types:
            return False
        payload = packet.payload
        # VP8 descriptor with a 2-byte picture id: 4 bytes, then the frame tag.
        if len(payload) > 40 and payload[0] & 0x10 and payload[4] & 0x01:
            # The frame tag's first-partition size, now far beyond the data.
            packet.payload = payload[:5] + b"\xff\xff" + payload[7:]
            self.done = True
        return False


def _rtx_payload_types(pc: RTCPeerConnection) -> frozenset[int]:
    assert pc.remoteDescription is not None
    description = sdp.SessionDescription.parse(pc.remoteDescription.sdp)
    return frozenset(
        codec.payloadType
        for media in description.media
        for codec in media.rtp.codecs
        if codec.mimeType.lower().endswith("/rtx") and codec.payloadType is not None
    )


async def _connect(sender: RTCPeerConnection, receiver: RTCPeerConnection) -> None:
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)


async def run_link(
    *,
    seconds: float,
    loss: float,
    audio: bool = True,
    video: bool = True,
    seed: int = 7,
    pcm: npt.NDArray[np.int16] | None = None,
    warmup_s: float = 1.0,
    video_size: tuple[int, int] = (320, 240),
    decide: Callable[[RtpPacket], bool] | None = None,
) -> LinkResult:
    """Send for ``seconds`` over a lossy loopback link; what the receiver got."""
    loopback_only()
    rng = random.Random(seed)
    result = LinkResult()
    sender_pc, receiver_pc = RTCPeerConnection(), RTCPeerConnection()
    audio_track = PcmTrack(pcm if pcm is not None else speech_pcm()) if audio else None
    video_track = CameraLikeTrack(*video_size, fps=30) if video else None
    for track in (audio_track, video_track):
        if track is not None:
            sender_pc.addTrack(track)
    played: list[npt.NDArray[np.float32]] = []
    counter = [0]
    measuring = asyncio.Event()
    consumers: list[asyncio.Task[None]] = []

    async def consume_audio(track: MediaStreamTrack) -> None:
        while True:
            frame = await track.recv()
            if not measuring.is_set():
                continue
            assert isinstance(frame, av.AudioFrame)
            pcm16 = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
            played.append(pcm16.astype(np.float32))
            result.audio_frames += 1

    last_video = [0.0]

    async def consume_video(track: MediaStreamTrack) -> None:
        while True:
            await track.recv()
            now = time.monotonic()
            if not measuring.is_set():
                continue
            freeze = now - last_video[0]
            result.longest_video_freeze_s = max(result.longest_video_freeze_s, freeze)
            last_video[0] = now
            result.video_frames += 1

    @receiver_pc.on("track")
    def _on_track(track: MediaStreamTrack) -> None:
        consume = consume_audio if track.kind == "audio" else consume_video
        consumers.append(asyncio.ensure_future(consume(track)))

    try:
        await _connect(sender_pc, receiver_pc)
        if decide is not None and hasattr(decide, "rtx_types"):
            decide.rtx_types = _rtx_payload_types(receiver_pc)
        for transceiver in receiver_pc.getTransceivers():
            drop_incoming(transceiver.receiver, loss, rng, counter, decide)
        await asyncio.sleep(warmup_s)
        sent_before = audio_track.frames_sent if audio_track else 0
        started = time.monotonic()
        # A freeze counts from the start of the measurement to the first picture,
        # and from the last picture to its end.
        last_video[0] = started
        measuring.set()
        await asyncio.sleep(seconds)
        measuring.clear()
        if video:
            tail = time.monotonic() - last_video[0]
            result.longest_video_freeze_s = max(result.longest_video_freeze_s, tail)
        result.audio_seconds = time.monotonic() - started
        result.audio_sent = (audio_track.frames_sent if audio_track else 0) - sent_before
        result.packets_dropped = counter[0]
        from client.livekit import loss_concealment

        for transceiver in receiver_pc.getTransceivers():
            stats = loss_concealment.loss_stats(transceiver.receiver)
            if stats is not None:
                result.stats[stats.kind] = dataclasses.asdict(stats)
                result.keyframe_requests += stats.keyframe_requests
    finally:
        for task in consumers:
            task.cancel()
        for task in consumers:
            with contextlib.suppress(asyncio.CancelledError, MediaStreamError):
                await task
        await sender_pc.close()
        await receiver_pc.close()
    if played:
        result.played = np.concatenate(played)
    return result


def correlation(sent: npt.NDArray[Any], played: npt.NDArray[Any]) -> float:
    """Best normalised correlation of ``played`` against the looping ``sent`` signal.

    ``played`` is compared as heard: a missing frame shifts everything after it,
    which is exactly what a gap does to a listener.  The lag is searched over one
    whole loop of ``sent``.
    """
    if len(played) < FRAME_SAMPLES:
        return 0.0
    x = np.asarray(sent, dtype=np.float64)
    loops = int(np.ceil((len(played) + len(x)) / len(x))) + 1
    reference = np.tile(x, loops)
    y = np.asarray(played, dtype=np.float64)
    size = 1 << int(np.ceil(np.log2(len(reference) + len(y))))
    spectrum = np.fft.rfft(reference, size) * np.conj(np.fft.rfft(y, size))
    lags = np.fft.irfft(spectrum, size)[: len(x)]
    lag = int(np.argmax(lags))
    segment = reference[lag : lag + len(y)]
    if np.std(segment) == 0 or np.std(y) == 0:
        return 0.0
    return float(np.corrcoef(segment, y)[0, 1])


def _scenario(concealment: bool, seconds: float, loss: float, seed: int) -> dict[str, Any]:
    if concealment:
        from client.livekit import loss_concealment

        loss_concealment.install()
    pcm = speech_pcm()
    result = asyncio.run(run_link(seconds=seconds, loss=loss, seed=seed, pcm=pcm))
    hard = asyncio.run(
        run_link(seconds=seconds, loss=loss, audio=False, decide=LostForGood(loss, seed))
    )
    return {
        "longest_video_freeze_s_lost_for_good": round(hard.longest_video_freeze_s, 3),
        "video_frames_lost_for_good": hard.video_frames,
        "keyframe_requests_lost_for_good": hard.keyframe_requests,
        "audio_frames_per_s": round(result.audio_frames_per_s, 2),
        "audio_frames_sent_per_s": round(result.audio_sent / result.audio_seconds, 2),
        "audio_correlation": round(correlation(pcm, result.played), 3),
        "longest_video_freeze_s": round(result.longest_video_freeze_s, 3),
        "video_frames": result.video_frames,
        "keyframe_requests": result.keyframe_requests,
        "packets_dropped": result.packets_dropped,
        "stats": result.stats,
    }


def _run_isolated(concealment: bool, seconds: float, loss: float, seed: int) -> dict[str, Any]:
    """One scenario in a fresh interpreter (the hooks cannot be taken back)."""
    args = [sys.executable, "-m", "bench.loss", "--scenario", "with" if concealment else "without"]
    args += ["--seconds", str(seconds), "--loss", str(loss), "--seed", str(seed)]
    completed = subprocess.run(args, check=True, capture_output=True, text=True)
    parsed: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return parsed


def main_loss(seconds: float, loss: float, seed: int, as_json: bool) -> int:
    with_c = _run_isolated(True, seconds, loss, seed)
    without = _run_isolated(False, seconds, loss, seed)
    summary = {
        "loss": loss,
        "seconds": seconds,
        "audio_frames_per_s_at_loss": {
            "with_concealment": with_c["audio_frames_per_s"],
            "without_concealment": without["audio_frames_per_s"],
        },
        "audio_correlation": {
            "with_concealment": with_c["audio_correlation"],
            "without_concealment": without["audio_correlation"],
        },
        "longest_video_freeze_s_at_loss": {
            "with_keyframe_requests": with_c["longest_video_freeze_s"],
            "without_keyframe_requests": without["longest_video_freeze_s"],
        },
        "longest_video_freeze_s_retransmissions_lost_too": {
            "with_keyframe_requests": with_c["longest_video_freeze_s_lost_for_good"],
            "without_keyframe_requests": without["longest_video_freeze_s_lost_for_good"],
        },
        "video_frames": {"with": with_c["video_frames"], "without": without["video_frames"]},
        "video_frames_retransmissions_lost_too": {
            "with": with_c["video_frames_lost_for_good"],
            "without": without["video_frames_lost_for_good"],
        },
        "keyframe_requests": with_c["keyframe_requests"],
        "concealment_stats": with_c["stats"],
    }
    if not as_json:
        for key, value in summary.items():
            print(f"{key}: {value}")
    print(json.dumps(summary))
    return 0


def _main() -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.loss")
    parser.add_argument("--scenario", choices=("with", "without"), required=True)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--loss", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    outcome = _scenario(args.scenario == "with", args.seconds, args.loss, args.seed)
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
