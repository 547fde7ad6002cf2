"""Publisher negotiation: one offer in flight, and never stuck behind a lost answer."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from client.livekit import pc_transport
from client.livekit.pc_transport import PCTransport


class Offers:
    def __init__(self) -> None:
        self.sent: list[tuple[RTCSessionDescription, int]] = []
        self.failures: list[str] = []

    async def send(self, offer: RTCSessionDescription, offer_id: int) -> None:
        self.sent.append((offer, offer_id))


async def publisher() -> tuple[PCTransport, Offers]:
    transport = PCTransport("publisher", RTCConfiguration(iceServers=[]))
    offers = Offers()
    transport.set_offer_sender(offers.send)
    transport.set_failure_handler(offers.failures.append)
    transport.pc.createDataChannel("_reliable")
    return transport, offers


async def answer_to(offer: RTCSessionDescription) -> tuple[RTCPeerConnection, str]:
    remote = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    await remote.setRemoteDescription(offer)
    await remote.setLocalDescription(await remote.createAnswer())
    return remote, remote.localDescription.sdp


async def test_an_answer_in_the_wrong_state_does_not_wedge_later_offers() -> None:
    transport, offers = await publisher()
    remote = None
    try:
        assert await transport.negotiate() == 1
        assert await transport.negotiate() == 2  # queued behind offer 1
        remote, sdp = await answer_to(offers.sent[0][0])
        # Something else already settled the description: the answer lands in "stable".
        await transport.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        assert transport.pc.signalingState == "stable"
        await transport.handle_answer(sdp, 1)
        # The queued request went out, rather than waiting forever.
        assert [offer_id for _, offer_id in offers.sent] == [1, 2]
        assert transport.offer_in_flight
        assert offers.failures == []
    finally:
        if remote is not None:
            await remote.close()
        await transport.close()


async def test_an_answer_that_cannot_be_applied_fails_the_transport() -> None:
    transport, offers = await publisher()
    try:
        await transport.negotiate()
        await transport.handle_answer("v=0\r\ngarbage\r\n", 1)
        assert len(offers.failures) == 1 and "answer" in offers.failures[0]
        assert not transport.offer_in_flight
        await transport.wait_answered(1, 1)  # waiters are released, not left hanging
    finally:
        await transport.close()


async def test_no_answer_in_time_fails_the_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pc_transport, "ANSWER_TIMEOUT_S", 0.05)
    transport, offers = await publisher()
    try:
        await transport.negotiate()
        await asyncio.sleep(0.2)
        assert len(offers.failures) == 1 and "no answer" in offers.failures[0]
    finally:
        await transport.close()


async def test_the_answer_to_a_superseded_offer_is_ignored() -> None:
    transport, offers = await publisher()
    remote = None
    try:
        await transport.negotiate()
        await transport.negotiate()
        remote, sdp = await answer_to(offers.sent[0][0])
        await transport.handle_answer(sdp, 1)  # applied; offer 2 goes out
        assert [offer_id for _, offer_id in offers.sent] == [1, 2]
        await transport.handle_answer(sdp, 1)  # a duplicate of the old answer
        assert transport.pc.signalingState == "have-local-offer"
        assert transport.offer_in_flight
    finally:
        if remote is not None:
            await remote.close()
        await transport.close()
