"""Noticing within seconds that a session's network path is gone.

A cut link (Wi-Fi lost, cable pulled, VPN dropped) closes nothing: TCP waits for
minutes and ICE consent checks take 30 s to fail.  The signal client pings every
second and the server answers each ping, so a session is declared dead when the
server has said nothing for ``SIGNAL_SILENCE_S`` *and* no datagram has arrived on
its PeerConnections for ``MEDIA_SILENCE_S``.  The second condition keeps a call
whose media still flows from being torn down because one TCP segment needed a
few retransmissions on a lossy link.

The datagram count is aiortc's own per-DTLS-transport receive counter (what its
``getStats`` reports as the transport's ``packetsReceived``), read from the
transport rather than through ``getStats`` so the check costs no allocation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from aiortc import RTCPeerConnection
from aiortc.rtcdtlstransport import RTCDtlsTransport

log = logging.getLogger(__name__)

SIGNAL_SILENCE_S = 2.5
MEDIA_SILENCE_S = 2.0
CHECK_INTERVAL_S = 0.25

_DTLS_TRANSPORTS_SLOT = "_RTCPeerConnection__dtlsTransports"
_RX_PACKETS_SLOT = "_RTCDtlsTransport__rx_packets"


def datagrams_received(pcs: Iterable[RTCPeerConnection]) -> int:
    """Datagrams received so far on the DTLS transports of these PeerConnections."""
    total = 0
    for pc in pcs:
        transports: set[RTCDtlsTransport] = getattr(pc, _DTLS_TRANSPORTS_SLOT, set())
        for transport in transports:
            total += int(getattr(transport, _RX_PACKETS_SLOT, 0))
    return total


class LivenessWatch:
    """Calls ``on_dead(reason)`` once when both the signal and the media are silent."""

    def __init__(
        self,
        last_heard_at: Callable[[], float],
        pcs: Callable[[], Iterable[RTCPeerConnection]],
        on_dead: Callable[[str], None],
        *,
        signal_silence_s: float = SIGNAL_SILENCE_S,
        media_silence_s: float = MEDIA_SILENCE_S,
    ) -> None:
        self._last_heard_at = last_heard_at
        self._pcs = pcs
        self._on_dead = on_dead
        self._signal_silence_s = signal_silence_s
        self._media_silence_s = media_silence_s
        self._datagrams = -1
        self._media_heard_at = time.monotonic()

    def check(self, now: float | None = None) -> bool:
        """One look; True (and ``on_dead`` called) when the session is gone."""
        now = time.monotonic() if now is None else now
        count = datagrams_received(self._pcs())
        if count != self._datagrams:
            self._datagrams = count
            self._media_heard_at = now
        signal_quiet = now - self._last_heard_at()
        media_quiet = now - self._media_heard_at
        if signal_quiet < self._signal_silence_s or media_quiet < self._media_silence_s:
            return False
        log.warning(
            "nothing from the server for %.1f s (media silent for %.1f s): connection lost",
            signal_quiet,
            media_quiet,
        )
        self._on_dead(f"no answer from the server for {signal_quiet:.1f} s")
        return True

    async def run(self) -> None:
        while not self.check():
            await asyncio.sleep(CHECK_INTERVAL_S)
