"""Mouth to ear through real devices: ``python -m bench audio [--seconds N] [--json]``.

A private PulseAudio daemon (devtools/pulse.py) holds one stereo null sink, the
probe: its left channel is our microphone (what is played into ``probe_mouth`` is
what ``probe_mic`` captures), its right channel our speaker (``probe_speaker``).  One
recording of the probe's monitor therefore holds, on one clock, the sound at our
microphone and the sound out of our speaker, with every device latency in between.

Into the mouth goes speech (espeak-ng, continuous) with a 60 ms chirp every
``CHIRP_EVERY_S``.  Our engine (with its default ``AudioProcessor``) captures it and
sends it through a real livekit-server to an official-SDK peer in a process of its
own (devtools/echo_peer.py), which sends back what it hears; we receive, mix and
play that into the speaker.  Each chirp is found in both channels by normalised
cross-correlation (speech around it does not move the peak); the delay between the
two is one round trip: our capture, the server, the peer's receive and send, the
server again, our jitter buffer and playback.  ``mouth_to_ear_ms`` is half of it:
one direction of a call, with our devices counted once (the peer has none, so our
own direction is, if anything, the longer half).

``output_underrun_percent``: blocks in which our speaker lacked remote audio that
was due (a jitter buffer running dry mid-stream, the mix late for the device, the
device underflowing) per 100 blocks the device played, over the measured interval.
The silence put in meanwhile is reported apart (``concealed_percent``).
Targets: mouth to ear <= 120 ms (p50), underruns < 0.1 %.

``breakdown_ms`` says where the round trip goes: our device latencies (as PortAudio
reports them), our rings' and jitter buffer's depths sampled every 10 ms, the
receive prefetch's wait, and the echo peer's own buffering (its receive jitter
buffer's mean delay from WebRTC's statistics, its send queue).  The peer's jitter
buffer stands where a far end's would in a call, so it stays in the figure; it
grows after a stall of ours (the load of the machine, ``load_average_1min``, says
when to expect one) and comes down slowly.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

RATE = 48000
CHIRP_EVERY_S = 1.2
CHIRP_S = 0.06
#: Correlation a chirp must reach: at the microphone (clean) and after the round trip.
EMITTED_SCORE = 0.6
RECEIVED_SCORE = 0.35
SENTENCES = (
    "Good morning everyone, can you hear me? I will share the figures for the third"
    " quarter, then we can talk about the planning for next year.",
    "The new office opens in March. We still need volunteers for the move, and somebody"
    " to check the network before the first meeting there.",
)
TARGETS = {"mouth_to_ear_ms_p50": 120, "output_underrun_percent": 0.1}

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]


def chirp() -> FloatArray:
    """A 60 ms sweep from 400 Hz to 3.4 kHz: inside Opus's voice band, sharp in
    correlation, and not stationary (noise suppression leaves it alone)."""
    t = np.arange(int(CHIRP_S * RATE)) / RATE
    sweep = np.sin(2 * np.pi * (400 * t + (3000 / (2 * CHIRP_S)) * t * t))
    shaped: FloatArray = sweep * np.hanning(t.size)
    return shaped


def mouth_signal(seconds: float, folder: Path) -> Path:
    """Speech at a talking level with a chirp every ``CHIRP_EVERY_S``, as a WAV."""
    from devtools.pulse import speak

    speech = np.concatenate(
        [_read_wav(speak(text, folder / f"speech{i}.wav")) for i, text in enumerate(SENTENCES)]
    ).astype(np.float64)
    total = int(seconds * RATE)
    signal = np.resize(speech, total) * 0.5
    template = chirp() * 0.4 * 32767
    # The first chirp after half a second: streams and filters have settled.
    for start in range(RATE // 2, total - template.size, int(CHIRP_EVERY_S * RATE)):
        signal[start : start + template.size] += template
    path = folder / "mouth.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.clip(np.rint(signal), -32768, 32767).astype(np.int16).tobytes())
    return path


def _read_wav(path: Path) -> Int16Array:
    with wave.open(str(path)) as source:
        return np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16).copy()


def correlation(signal: Int16Array | FloatArray, template: FloatArray) -> FloatArray:
    """Normalised cross-correlation of ``template`` at every offset of ``signal``
    (1.0: the same shape at any level; speech scores low against a chirp)."""
    values = np.asarray(signal, dtype=np.float64)
    n = template.size
    size = 1 << int(np.ceil(np.log2(values.size + n)))
    raw = np.fft.irfft(np.fft.rfft(values, size) * np.fft.rfft(template[::-1], size), size)
    raw = raw[n - 1 : values.size]  # raw[i]: template aligned at values[i : i + n]
    energy = np.concatenate([[0.0], np.cumsum(values * values)])
    local = energy[n:] - energy[:-n]
    scores: FloatArray = np.abs(raw) / (
        np.linalg.norm(template) * np.sqrt(np.maximum(local, 1e-9)) + 1e-9
    )
    return scores


def find_chirps(scores: FloatArray, threshold: float, spacing: int) -> list[int]:
    """Offsets of correlation peaks above ``threshold``, at least ``spacing`` apart."""
    found: list[int] = []
    candidates = np.flatnonzero(scores > threshold)
    for index in candidates:
        if found and index - found[-1] < spacing:
            if scores[index] > scores[found[-1]]:
                found[-1] = int(index)
            continue
        found.append(int(index))
    return found


def round_trips(recording: Int16Array) -> tuple[list[float], int]:
    """Delays (ms) from each chirp at the microphone (left) to its return out of the
    speaker (right), and how many chirps were emitted."""
    template = chirp()
    spacing = int(CHIRP_EVERY_S * RATE / 2)
    left = correlation(recording[:, 0], template)
    right = correlation(recording[:, 1], template)
    emitted = find_chirps(left, EMITTED_SCORE, spacing)
    trips = []
    for start in emitted:
        # Its return: the best match from 10 ms later to just before the next chirp
        # would come back.
        low, high = start + RATE // 100, start + int(CHIRP_EVERY_S * RATE) - RATE // 10
        window = right[low:high]
        if window.size and window.max() > RECEIVED_SCORE:
            trips.append(1000.0 * (low + int(np.argmax(window)) - start) / RATE)
    return trips, len(emitted)


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


class _GcPauses:
    """Cyclic garbage collections in our process and how long each held the GIL (a
    long one stalls every Python thread, the audio callbacks included)."""

    def __init__(self) -> None:
        self.pauses_ms: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses_ms.append(1000.0 * (time.perf_counter() - self._started))

    def figures(self) -> dict[str, Any]:
        return {
            "count": len(self.pauses_ms),
            "over_5ms": sum(1 for p in self.pauses_ms if p > 5.0),
            "max_ms": round(max(self.pauses_ms, default=0.0), 1),
        }


class _Depths:
    """Our buffers' depths sampled every 10 ms over the measured interval."""

    def __init__(self) -> None:
        self.jitter: list[float] = []
        self.capture: list[float] = []
        self.microphone: list[float] = []
        self.playout: list[float] = []

    async def watch(self, engine: Any) -> None:
        while True:
            depths = engine.depths()
            self.capture.append(depths.capture_ms)
            self.microphone.append(depths.microphone_ms)
            self.playout.append(depths.playout_ms)
            streams = engine.mixer.stats()
            if streams:
                self.jitter.append(streams[0].depth_ms)
            await asyncio.sleep(0.01)


async def _peer_figures(peer: subprocess.Popen[str]) -> dict[str, Any]:
    """The echo peer's own buffering so far (see devtools/echo_peer.py)."""
    assert peer.stdin is not None and peer.stdout is not None
    peer.stdin.write("stats\n")
    peer.stdin.flush()
    line = await asyncio.to_thread(peer.stdout.readline)
    figures: dict[str, Any] = json.loads(line)
    return figures


def _breakdown(
    stats: Any, depths: _Depths, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    """Where the round trip's time goes, as far as each part can tell: ours (device
    latencies as PortAudio reports them, our rings' and jitter buffer's median
    depths, the receive prefetch's wait) and the echo peer's (its jitter buffer's
    mean delay and target over the interval, its send queue's median depth).  What
    is left of the round trip is the encoders, the server, the sound server's own
    buffering and the pacing of frames between the parts."""
    from client.livekit.loss_concealment import AUDIO_PREFETCH

    ours = {
        "input_latency": round(stats.input_latency_ms, 1),
        "capture_ring_p50": _percentile(depths.capture, 50),
        "microphone_ring_p50": _percentile(depths.microphone, 50),
        "receive_prefetch": 20.0 * AUDIO_PREFETCH,
        "jitter_buffer_p50": _percentile(depths.jitter, 50),
        "jitter_buffer_p95": _percentile(depths.jitter, 95),
        "playout_ring_p50": _percentile(depths.playout, 50),
        "output_latency": round(stats.output_latency_ms, 1),
    }
    ours["sum_p50"] = round(sum(v for k, v in ours.items() if not k.endswith("p95") and v), 1)
    emitted = after.get("jitter_buffer_emitted_count", 0.0) - before.get(
        "jitter_buffer_emitted_count", 0.0
    )
    peer: dict[str, Any] = {
        "send_queue_p50": _percentile(after.get("send_queue_ms", []), 50),
        "send_skipped": round(after["send_skipped_ms"] - before["send_skipped_ms"], 1),
    }
    if "arrival_jitter_s" in after:
        peer["arrival_jitter"] = round(1000.0 * after["arrival_jitter_s"], 1)
    if emitted > 0:
        for name in ("jitter_buffer_delay", "jitter_buffer_target_delay"):
            spent = after[f"{name}_s"] - before[f"{name}_s"]
            peer[f"{name}_mean"] = round(1000.0 * spent / emitted, 1)
    return {"ours": ours, "echo_peer": peer}


async def _run(seconds: float) -> dict[str, Any]:
    from client.livekit import events as ev
    from client.livekit.participant import TrackSource
    from client.livekit.room import Room, RoomOptions
    from client.media.audio_devices import PulseDevices, reinitialize_portaudio
    from client.media.audio_engine import AudioEngine
    from client.media.audio_processing import AudioProcessor
    from devtools.pulse import PulseDaemon
    from devtools.sandbox.livekit_server import LiveKitServer
    from devtools.sandbox.tokens import mint_token

    folder = Path(tempfile.mkdtemp(prefix="bench-audio-"))
    mouth = await asyncio.to_thread(mouth_signal, seconds + 1.0, folder)
    server = LiveKitServer()
    await asyncio.to_thread(server.start)
    pulse = PulseDaemon()
    pulse.start()
    pulse.apply_env()
    engine: AudioEngine | None = None
    room: Room | None = None
    peer: subprocess.Popen[str] | None = None
    try:
        probe = pulse.add_probe("probe")
        reinitialize_portaudio()

        def token(identity: str) -> str:
            return mint_token(server.api_key, server.api_secret, identity=identity, room="audio")

        peer = subprocess.Popen(
            [sys.executable, "-m", "devtools.echo_peer", server.ws_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert peer.stdin is not None and peer.stdout is not None
        peer.stdin.write(token("echo") + "\n")
        peer.stdin.flush()
        if (await asyncio.to_thread(peer.stdout.readline)).strip() != "ready":
            raise RuntimeError("the echo peer did not start")

        engine = AudioEngine(
            AudioProcessor(),
            PulseDevices(),
            input_device=probe.microphone,
            output_device=probe.speaker,
        )
        await asyncio.to_thread(engine.start)
        room = Room(RoomOptions(ice_servers=[]))
        mixer = engine.mixer

        def subscribed(event: ev.TrackSubscribed) -> None:
            if event.track.kind == "audio":
                mixer.add_track(event.participant.identity, event.track)

        room.events.on(ev.TrackSubscribed, subscribed)
        await room.connect(server.ws_url, token("visio-desktop"))
        await room.publish_track(engine.microphone, TrackSource.MICROPHONE)
        # Until our own audio comes back and plays, then a little longer for the
        # jitter buffers and the echo canceller to settle.
        deadline = time.monotonic() + 20
        while mixer.totals().played_samples < RATE:
            if time.monotonic() > deadline:
                raise RuntimeError("the echoed audio never played")
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)

        recorder = pulse.record(f"{probe.sink}.monitor", folder / "probe.raw", channels=2)
        await asyncio.sleep(0.3)
        peer_before = await _peer_figures(peer)
        before = engine.stats()
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        player = pulse.play_file(probe.mouth, mouth)
        pauses = _GcPauses()
        gc.callbacks.append(pauses)
        depths = _Depths()
        sampler = asyncio.ensure_future(depths.watch(engine))
        await asyncio.sleep(seconds)
        sampler.cancel()
        gc.callbacks.remove(pauses)
        stats = engine.stats().since(before)
        elapsed = time.monotonic() - started
        peer_after = await _peer_figures(peer)
        await asyncio.sleep(1.0)  # the last chirps' returns
        recording = recorder.stop()
        player.kill()
        buffers = [
            {
                "jitter_ms": round(b.jitter_ms, 1),
                "target_ms": round(b.target_ms, 1),
                "depth_ms": round(b.depth_ms, 1),
            }
            for b in mixer.stats()
        ]
    finally:
        if room is not None:
            await room.disconnect()
        if peer is not None:
            if peer.stdin is not None:
                peer.stdin.close()
            try:
                await asyncio.to_thread(peer.wait, 10)
            except subprocess.TimeoutExpired:
                peer.kill()
        if engine is not None:
            engine.close()
        pulse.stop()
        await asyncio.to_thread(server.stop)
        shutil.rmtree(folder, ignore_errors=True)

    samples = recording[: recording.size // 2 * 2].reshape(-1, 2)
    trips, emitted = round_trips(samples)
    halves = [trip / 2 for trip in trips]
    return {
        "seconds": seconds,
        "mouth_to_ear_ms_p50": _percentile(halves, 50),
        "mouth_to_ear_ms_p95": _percentile(halves, 95),
        "round_trip_ms_p50": _percentile(trips, 50),
        "round_trip_ms_max": round(max(trips), 1) if trips else None,
        "chirps_returned": f"{len(trips)}/{emitted}",
        "output_underrun_percent": round(stats.output_underrun_percent, 3),
        "output_underrun_blocks": stats.output_underrun_blocks,
        "output_blocks": stats.output_blocks,
        "concealed_percent": round(stats.concealed_percent, 3),
        "jitter_underruns": stats.jitter_underruns,
        "jitter_overruns": stats.jitter_overruns,
        "jitter_trimmed_ms": round(1000 * stats.jitter_trimmed_samples / RATE, 1),
        "device_starved_blocks": stats.output_starved_blocks,
        "portaudio_underflows": stats.portaudio_underflows,
        "microphone_frames_per_s": round(stats.microphone_frames_sent / elapsed, 2),
        "microphone_stalls": stats.microphone_stalls,
        "processing_stalls": stats.processing_stalls,
        "input_latency_ms": stats.input_latency_ms,
        "output_latency_ms": stats.output_latency_ms,
        "stream_delay_ms": stats.stream_delay_ms,
        # Two cores shared with whatever else runs: a loaded machine delays every
        # part, so the figures say how busy it was (at the start, at the end).
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "gc_pauses": pauses.figures(),
        "jitter_buffer": buffers,
        "breakdown_ms": _breakdown(stats, depths, peer_before, peer_after),
        "round_trips_ms": [round(trip, 1) for trip in trips],
        "targets": TARGETS,
    }


def main_audio(args: argparse.Namespace) -> int:
    from devtools.sandbox.livekit_server import enter_sandbox_with_server

    enter_sandbox_with_server()
    figures = asyncio.run(_run(float(args.seconds)))
    if not args.json:
        for key, value in figures.items():
            if key != "round_trips_ms":
                print(f"{key}: {value}")
        p50 = figures["mouth_to_ear_ms_p50"]
        verdict = (
            "n/a" if p50 is None else ("ok" if p50 <= TARGETS["mouth_to_ear_ms_p50"] else "over")
        )
        underruns = figures["output_underrun_percent"]
        print(
            f"mouth to ear p50 {p50} ms (target <= {TARGETS['mouth_to_ear_ms_p50']}: {verdict}),"
            f" underruns {underruns} % (target < {TARGETS['output_underrun_percent']}:"
            f" {'ok' if underruns < TARGETS['output_underrun_percent'] else 'over'})"
        )
    print(json.dumps(figures))
    return 0 if figures["mouth_to_ear_ms_p50"] is not None else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.audio")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    sys.exit(main_audio(parser.parse_args()))
