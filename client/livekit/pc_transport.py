"""One RTCPeerConnection and the negotiation rules LiveKit expects of it.

The publisher transport makes offers: never two in flight; a request made while
one is pending is folded into one more offer once the answer is in.  An answer
that cannot be applied, or none within ``ANSWER_TIMEOUT_S``, fails the transport
(the session is then replaced) instead of leaving later offers stuck behind it.
The subscriber transport answers the server's offers.  Server ICE candidates may
arrive before the description they belong to: they wait here until it is set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable

from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from client.livekit.ice_servers import trust_relay_with
from client.livekit.tasks import TaskGroup

log = logging.getLogger(__name__)

OfferSender = Callable[[RTCSessionDescription, int], Awaitable[None]]
FailureHandler = Callable[[str], None]

ANSWER_TIMEOUT_S = 15.0


def parse_candidate_init(candidate_init: str) -> RTCIceCandidate | None:
    """Turn LiveKit's JSON ``candidateInit`` into an aiortc candidate (None = end)."""
    try:
        data = json.loads(candidate_init)
    except RecursionError as exc:  # nesting deeper than the parser goes
        raise ValueError("candidateInit nests too deep") from exc
    if not isinstance(data, dict):
        raise ValueError("candidateInit is not a JSON object")
    raw = data.get("candidate")
    if not raw:
        return None
    if not isinstance(raw, str):
        raise ValueError("candidate is not a string")
    line = raw[len("candidate:") :] if raw.startswith("candidate:") else raw
    # aiortc only asserts on short lines (and not at all under -O).
    if len(line.split()) < 8:
        raise ValueError(f"truncated ICE candidate: {line!r}")
    try:
        candidate = candidate_from_sdp(line)
    except (IndexError, KeyError, TypeError) as exc:  # aiortc's parser trusts its input
        raise ValueError(f"malformed ICE candidate: {line[:80]!r}") from exc
    mid = data.get("sdpMid")
    candidate.sdpMid = mid if isinstance(mid, str) else None
    index = data.get("sdpMLineIndex")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise ValueError(f"sdpMLineIndex is not an integer: {index!r:.40}")
    candidate.sdpMLineIndex = index
    return candidate


class PCTransport:
    def __init__(
        self,
        name: str,
        configuration: RTCConfiguration,
        *,
        relay_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        self.pc = RTCPeerConnection(configuration)
        self._relay_tls = relay_tls
        self._pending_candidates: list[RTCIceCandidate] = []
        self._offer_lock = asyncio.Lock()
        self._offer_in_flight = False
        self._renegotiate = False
        self._offer_id = 0
        self._answered_id = 0
        self._answered = asyncio.Condition()
        self._send_offer: OfferSender | None = None
        self._on_failure: FailureHandler | None = None
        self._tasks = TaskGroup(f"{name}-transport")
        self._answer_timer: asyncio.Task[None] | None = None
        self.closed = False

    # --- publisher side -------------------------------------------------------

    def set_offer_sender(self, sender: OfferSender) -> None:
        self._send_offer = sender

    def set_failure_handler(self, handler: FailureHandler) -> None:
        self._on_failure = handler

    def _fail(self, reason: str) -> None:
        log.warning("%s: %s", self.name, reason)
        if self._on_failure is not None and not self.closed:
            self._on_failure(f"{self.name} {reason}")

    @property
    def offer_in_flight(self) -> bool:
        return self._offer_in_flight

    async def negotiate(self) -> int:
        """Start (or queue) an offer; returns the offer id that will cover this request."""
        async with self._offer_lock:
            if self._offer_in_flight:
                self._renegotiate = True
                return self._offer_id + 1
            await self._make_offer()
            return self._offer_id

    async def _make_offer(self) -> None:
        assert self._send_offer is not None
        self._offer_in_flight = True
        self._offer_id += 1
        offer = await self.pc.createOffer()
        self._prepare_gathering()
        await self.pc.setLocalDescription(offer)
        local = self.pc.localDescription
        await self._send_offer(local, self._offer_id)
        if self._answer_timer is not None:
            self._answer_timer.cancel()
        self._answer_timer = self._tasks.spawn(self._expect_answer(self._offer_id), "answer-timer")

    async def _expect_answer(self, offer_id: int) -> None:
        await asyncio.sleep(ANSWER_TIMEOUT_S)
        if self._offer_in_flight and self._offer_id == offer_id and not self.closed:
            self._fail(f"no answer to offer {offer_id} within {ANSWER_TIMEOUT_S:.0f} s")

    async def wait_answered(self, offer_id: int, timeout: float) -> None:
        """Wait until the answer to ``offer_id`` (or a later one) has been applied."""
        async with self._answered:
            await asyncio.wait_for(
                self._answered.wait_for(lambda: self._answered_id >= offer_id or self.closed),
                timeout,
            )

    async def handle_answer(self, sdp: str, answer_id: int) -> None:
        if self.closed:
            return
        if answer_id and answer_id < self._offer_id:
            log.info("%s: ignoring the answer to superseded offer %d", self.name, answer_id)
            return
        if self.pc.signalingState != "have-local-offer":
            log.warning("%s: ignoring an answer in state %s", self.name, self.pc.signalingState)
            # No offer of ours is waiting: nothing is in flight any more.
            await self._offer_settled()
            return
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:  # aiortc raises ValueError/InvalidStateError here
            self._fail(f"cannot apply the answer: {exc}")
            await self._offer_settled()
            return
        await self._flush_candidates()
        await self._offer_settled()

    async def _offer_settled(self) -> None:
        """The offer in flight is answered (or moot): send the queued one, wake waiters."""
        if self._answer_timer is not None:
            self._answer_timer.cancel()
            self._answer_timer = None
        async with self._offer_lock:
            self._offer_in_flight = False
            done = self._offer_id
            if self._renegotiate:
                self._renegotiate = False
                await self._make_offer()
        async with self._answered:
            self._answered_id = max(self._answered_id, done)
            self._answered.notify_all()

    # --- subscriber side ------------------------------------------------------

    async def apply_offer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))

    async def create_answer(self) -> RTCSessionDescription:
        answer = await self.pc.createAnswer()
        self._prepare_gathering()
        await self.pc.setLocalDescription(answer)
        await self._flush_candidates()
        return self.pc.localDescription

    # --- both -----------------------------------------------------------------

    def _prepare_gathering(self) -> None:
        if self._relay_tls is not None:
            trust_relay_with(self.pc, self._relay_tls)

    async def add_candidate(self, candidate_init: str) -> None:
        try:
            candidate = parse_candidate_init(candidate_init)
        except Exception as exc:  # aiortc asserts on short lines; JSON may be any type
            log.warning("%s: ignoring a malformed ICE candidate: %s", self.name, exc)
            return
        if candidate is None:
            return
        if self.pc.remoteDescription is None:
            self._pending_candidates.append(candidate)
            return
        await self._add(candidate)

    async def _flush_candidates(self) -> None:
        pending, self._pending_candidates = self._pending_candidates, []
        for candidate in pending:
            await self._add(candidate)

    async def _add(self, candidate: RTCIceCandidate) -> None:
        try:
            await self.pc.addIceCandidate(candidate)
        except Exception as exc:  # aiortc raises plain ValueError/KeyError here
            log.debug("%s: candidate not applied: %s", self.name, exc)

    async def close(self) -> None:
        self.closed = True
        await self._tasks.close()
        async with self._answered:
            self._answered.notify_all()
        try:
            await asyncio.wait_for(self.pc.close(), 5)
        except Exception:
            log.debug("%s: close failed", self.name, exc_info=True)
