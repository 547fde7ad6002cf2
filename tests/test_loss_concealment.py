"""Loss concealment on real aiortc peer connections over loopback.

Two RTCPeerConnections in this process; the receiving one drops 10 % of the RTP
packets it gets (``bench.loss.drop_incoming``) before aiortc sees them.  The
hooks are installed for the whole test process (importing ``client.livekit``
does it through ``aiortc_compat``), so these tests exercise the shipping path.
"""

from __future__ import annotations

import random

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection
from aiortc.codecs.opus import OpusEncoder
from aiortc.rtp import RtpPacket

from bench.loss import CorruptOnce, LostForGood, correlation, run_link, speech_pcm
from client.livekit import aiortc_compat, loss_concealment

LOSS = 0.1


def test_hooks_are_installed_and_reach_aiortc_internals() -> None:
    # Fails when an aiortc release renames or restructures what the hooks use.
    assert loss_concealment.internals_available()
    assert aiortc_compat.internals_available()
    loss_concealment.install()
    loss_concealment.install()
    assert loss_concealment.installed()
    # A second install must not stack a second layer of hooks.
    from aiortc import RTCRtpReceiver

    wrapped = getattr(RTCRtpReceiver._handle_rtp_packet, "__wrapped__", None)
    assert wrapped is not None and not getattr(wrapped, "_visio_loss_hook", False)


def test_libopus_is_reachable_for_fec_and_plc() -> None:
    assert loss_concealment.libopus() is not None
    assert loss_concealment.ConcealingOpusDecoder().uses_libopus


async def test_sdp_asks_for_opus_inband_fec() -> None:
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("audio")
        offer = await pc.createOffer()
    finally:
        await pc.close()
    opus_pt = next(
        line.split()[0].split(":")[1] for line in offer.sdp.splitlines() if "opus/48000" in line
    )
    fmtp = [line for line in offer.sdp.splitlines() if line.startswith(f"a=fmtp:{opus_pt} ")]
    assert fmtp and "useinbandfec=1" in fmtp[0]


def test_our_opus_encoder_produces_fec() -> None:
    lib = loss_concealment.libopus()
    assert lib is not None
    encoder = OpusEncoder()
    pcm = speech_pcm("Forward error correction rides inside the next packet.")
    packets: list[bytes] = []
    for start in range(0, len(pcm) - 960, 960):
        frame = av.AudioFrame.from_ndarray(
            pcm[start : start + 960].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = 48_000
        frame.pts = start
        payloads, _ = encoder.encode(frame)
        packets += payloads
    # SILK/hybrid TOC configs (0-15) are the ones that can carry LBRR data, and a
    # FEC decode of a packet gives audio only when the packet holds some.
    assert sum(1 for p in packets if p[0] >> 3 <= 15) > len(packets) * 0.8
    # Lose packet k: the FEC decode from packet k+1 must come much closer to what
    # packet k held than plain concealment does.
    fec_error = plc_error = 0.0
    for k in range(20, len(packets) - 2, 7):
        reference, with_fec, with_plc = (loss_concealment.ConcealingOpusDecoder() for _ in range(3))
        for packet in packets[:k]:
            for decoder in (reference, with_fec, with_plc):
                decoder._run(packet, 5760, fec=False)
        truth = reference._run(packets[k], 5760, fec=False)
        rebuilt = with_fec._run(packets[k + 1], 960, fec=True)
        concealed = with_plc._run(None, 960, fec=False)
        assert truth is not None and rebuilt is not None and concealed is not None
        fec_error += float(np.abs(rebuilt.astype(float) - truth).mean())
        plc_error += float(np.abs(concealed.astype(float) - truth).mean())
    assert fec_error < 0.6 * plc_error


async def test_audio_keeps_50_frames_per_second_and_the_speech_at_10_percent_loss() -> None:
    pcm = speech_pcm()
    result = await run_link(seconds=6.0, loss=LOSS, video=False, pcm=pcm, seed=3)
    stats = result.stats["audio"]
    assert result.packets_dropped > 0.05 * result.audio_sent
    # Every 20 ms slot that was sent came out (a count, not a timing).
    assert result.audio_frames >= 0.97 * result.audio_sent
    assert stats["audio_frames_fec"] > 0, "no lost frame was rebuilt from FEC"
    assert stats["audio_frames_fec"] + stats["audio_frames_plc"] >= 0.8 * result.packets_dropped
    assert correlation(pcm, result.played) > 0.8


async def test_video_requests_a_keyframe_after_a_decode_failure() -> None:
    corrupt = CorruptOnce(after_s=1.5)
    result = await run_link(seconds=4.0, loss=0.0, audio=False, decide=corrupt, warmup_s=0.5)
    stats = result.stats["video"]
    assert corrupt.done
    assert stats["video_decode_failures"] >= 1
    # One PLI at start-up (asked until the first keyframe is whole), then the
    # one the failure caused.
    assert stats["keyframe_requests"] >= 2
    assert result.video_frames > 60, "video did not resume after the failure"


async def test_video_at_10_percent_loss_with_retransmissions_lost_too() -> None:
    result = await run_link(seconds=6.0, loss=LOSS, audio=False, decide=LostForGood(LOSS, 5))
    stats = result.stats["video"]
    assert stats["video_gaps_skipped"] > 0
    assert stats["keyframe_requests"] > 0
    # Nothing past a skipped gap reached the decoder before a keyframe, so no
    # decode failed; and pictures kept coming.
    assert stats["video_decode_failures"] == 0
    assert result.video_frames > 30
    print("longest video freeze", result.longest_video_freeze_s)


@pytest.mark.parametrize("loss", [LOSS])
async def test_video_at_random_loss_keeps_flowing(loss: float) -> None:
    result = await run_link(seconds=5.0, loss=loss, audio=False, seed=11)
    assert result.packets_dropped > 0
    assert result.video_frames > 100
    assert result.stats["video"]["video_decode_failures"] == 0
    print("longest video freeze", result.longest_video_freeze_s)


class FirstRetransmissionLost:
    """Drops ``loss`` of the media packets and the first retransmission of each:
    only a repeated request brings them back."""

    def __init__(self, loss: float, seed: int) -> None:
        self.rtx_types: frozenset[int] = frozenset()  # set by run_link
        self.loss = loss
        self.rng = random.Random(seed)
        self.retransmitted: dict[int, int] = {}

    def __call__(self, packet: RtpPacket) -> bool:
        if packet.payload_type in self.rtx_types and len(packet.payload) >= 2:
            original = int.from_bytes(packet.payload[:2], "big")
            if original in self.retransmitted:
                self.retransmitted[original] += 1
                return self.retransmitted[original] == 1
            return False
        if self.rng.random() < self.loss:
            self.retransmitted[packet.sequence_number] = 0
            return True
        return False


async def test_a_lost_retransmission_is_asked_for_again() -> None:
    dropper = FirstRetransmissionLost(0.03, 3)
    result = await run_link(seconds=5.0, loss=0.0, audio=False, decide=dropper)
    stats = result.stats["video"]
    assert any(count >= 1 for count in dropper.retransmitted.values()), "nothing retransmitted"
    assert stats["nack_repeats"] > 0
    recovered = sum(1 for count in dropper.retransmitted.values() if count >= 2)
    assert recovered > 0, "no packet came back on a repeated request"
    assert result.video_frames > 100
    print(
        f"repeats {stats['nack_repeats']}, recovered by a repeat {recovered}, "
        f"gaps skipped {stats['video_gaps_skipped']}"
    )
