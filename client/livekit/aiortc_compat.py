"""Work around two aiortc behaviours that break LiveKit sessions.

1. Late media start.  aiortc starts a transceiver's sender or receiver from a task
   that runs after each remote description, and only if DTLS is already up.  When
   a renegotiation lands while the first handshake is still going, that task skips
   the new transceiver and nothing starts it later, so a track published (or
   subscribed) in the first moments of a call never flows.  We run that step once
   more when the connection reaches "connected"; it is idempotent.

2. Reused transceivers (below).

3. Loss concealment: importing this module installs the hooks of
   ``client.livekit.loss_concealment`` (Opus FEC/PLC, keyframe requests and
   gating), before the engine creates any peer connection.

4. VP9 reception: importing this module also installs ``client.livekit.vp9_codec``
   (VP9 negotiated on subscriber answers, depayloaded and decoded by libvpx).

LiveKit recycles a subscriber transceiver (same mid) for a later track, with new
SSRCs in the next offer.  aiortc starts a receiver once: it keeps routing by the
first SSRCs, keeps the first track object and never emits a second ``track`` event,
so the new track's packets are dropped.  After each remote offer we give such a
transceiver a fresh receiver (new track, jitter buffer, decoder), which aiortc then
starts like any other.  The test ``tests/test_aiortc_compat.py`` fails when an
aiortc release changes the internals used here (or no longer needs this).

Supported aiortc range: see pyproject.toml.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCRtpTransceiver, sdp
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpreceiver import RemoteStreamTrack, RTCRtpReceiver

from client.livekit import loss_concealment, socket_buffers, vp9_codec
from client.livekit.tasks import spawn

log = logging.getLogger(__name__)

_RECEIVER_SLOT = "_RTCRtpTransceiver__receiver"
_CONNECT_METHOD = "_RTCPeerConnection__connect"
_RTCP_SSRC_SLOT = "_RTCRtpReceiver__rtcp_ssrc"

loss_concealment.install()
socket_buffers.install()
vp9_codec.install()  # after loss_concealment: its get_decoder hook goes outside


def internals_available() -> bool:
    """True when this aiortc still has the private attributes we rely on."""
    probe_pc_attrs = hasattr(RTCRtpReceiver, "_set_rtcp_ssrc") and hasattr(
        RTCRtpTransceiver, "_get_mline_index"
    )
    return (
        probe_pc_attrs
        and hasattr(RTCPeerConnection, _CONNECT_METHOD)
        and "_track" in _receiver_init_names()
    )


def _receiver_init_names() -> tuple[str, ...]:
    # Look under loss_concealment's wrapper: the names aiortc's own code uses.
    init = getattr(RTCRtpReceiver.__init__, "__wrapped__", RTCRtpReceiver.__init__)
    return tuple(init.__code__.co_names)


def start_media_when_connected(pc: RTCPeerConnection) -> None:
    """Re-run aiortc's media start step each time ``pc`` becomes connected."""
    tasks: set[asyncio.Task[None]] = set()

    @pc.on("connectionstatechange")
    def _changed() -> None:
        if pc.connectionState != "connected":
            return
        task = spawn(getattr(pc, _CONNECT_METHOD)(), "aiortc-start-media")
        tasks.add(task)
        task.add_done_callback(tasks.discard)


@dataclass(frozen=True)
class ReboundTrack:
    transceiver: RTCRtpTransceiver
    track: MediaStreamTrack


@dataclass
class ReceiverRebinder:
    """Remembers the remote SSRCs seen per mid on one subscriber PeerConnection."""

    pc: RTCPeerConnection
    _ssrcs_by_mid: dict[str, frozenset[int]] = field(default_factory=dict)
    _stopping: set[asyncio.Task[None]] = field(default_factory=set)

    def after_remote_offer(self) -> list[ReboundTrack]:
        """Call right after ``setRemoteDescription(offer)``, before any other await.

        Returns the new tracks on reused transceivers; aiortc emits no event for them.
        """
        remote = self.pc.remoteDescription
        if remote is None:
            return []
        description = sdp.SessionDescription.parse(remote.sdp)
        rebound: list[ReboundTrack] = []
        for transceiver in self.pc.getTransceivers():
            mid = transceiver.mid
            index = transceiver._get_mline_index()
            if mid is None or index is None or index >= len(description.media):
                continue
            media = description.media[index]
            ssrcs = frozenset(s.ssrc for s in media.ssrc)
            if not ssrcs:
                # Inactive (unsubscribed) section: keep what it carried last.
                continue
            previous = self._ssrcs_by_mid.get(mid)
            self._ssrcs_by_mid[mid] = ssrcs
            if previous is None or previous & ssrcs:
                continue
            if media.direction not in ("sendonly", "sendrecv"):
                continue
            track = self._replace_receiver(
                transceiver, description.webrtc_track_id(media) or f"{mid}-{min(ssrcs)}"
            )
            rebound.append(ReboundTrack(transceiver, track))
        return rebound

    def _replace_receiver(self, transceiver: RTCRtpTransceiver, track_id: str) -> MediaStreamTrack:
        old: RTCRtpReceiver = transceiver.receiver
        fresh = RTCRtpReceiver(transceiver.kind, old.transport)
        fresh._set_rtcp_ssrc(getattr(old, _RTCP_SSRC_SLOT))
        fresh._track = RemoteStreamTrack(kind=transceiver.kind, id=track_id)
        setattr(transceiver, _RECEIVER_SLOT, fresh)
        log.debug("mid %s reused for track %s: fresh receiver", transceiver.mid, track_id)
        task = spawn(self._stop(old), "stop-replaced-receiver")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)
        return fresh._track

    async def close(self) -> None:
        """Wait for the replaced receivers to stop (their tasks hold the old PC)."""
        for task in list(self._stopping):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 2)

    @staticmethod
    async def _stop(receiver: RTCRtpReceiver) -> None:
        try:
            await receiver.stop()
        except Exception:
            log.debug("stopping a replaced receiver failed", exc_info=True)
