"""ICE restart inside live aiortc PeerConnections (fails when aioice/aiortc change the
internals it uses)."""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection

from client.livekit import ice_restart
from devtools.waiting import wait_for
from tests.test_liveness import connected_pair


def credentials_sdp(connection: ice_restart.Connection) -> str:
    return f"a=ice-ufrag:{connection.local_username}\na=ice-pwd:{connection.local_password}\n"


async def test_both_sides_restart_ice_and_the_data_keeps_flowing() -> None:
    offerer, answerer = await connected_pair()
    received: list[bytes] = []
    try:
        channel = offerer.createDataChannel("after-restart")
        answerer.on("datachannel", lambda ch: ch.on("message", received.append))
        await wait_for(lambda: channel.readyState == "open", 5, "channel")
        before = ice_restart.ice_connections(answerer)[0]
        old_ufrag = before.local_username

        restarting = {pc: await ice_restart.prepare_restart(pc) for pc in (offerer, answerer)}
        offer_side, answer_side = restarting[offerer][0], restarting[answerer][0]
        assert answer_side.local_username != old_ufrag
        # While the checks run, the old pair still carries data.
        channel.send(b"during")
        await wait_for(lambda: b"during" in received, 5, "data during the restart")

        for mine, theirs in ((offer_side, answer_side), (answer_side, offer_side)):
            for candidate in theirs.local_candidates:
                await mine.add_remote_candidate(candidate)
            await mine.add_remote_candidate(None)
        tasks = ice_restart.finish_restart([offer_side], credentials_sdp(answer_side))
        tasks += ice_restart.finish_restart([answer_side], credentials_sdp(offer_side))
        assert all(await asyncio.gather(*tasks)), "a side did not nominate a new pair"
        assert offer_side._nominated and answer_side._nominated

        channel.send(b"after")
        await wait_for(lambda: b"after" in received, 5, "data after the restart")
        assert offerer.connectionState == answerer.connectionState == "connected"
        # Consent checks run again on the new pair.
        assert offer_side._query_consent_task is not None
        await ice_restart.refresh_consent(offerer)
    finally:
        await offerer.close()
        await answerer.close()


async def test_an_offer_with_new_credentials_is_recognised() -> None:
    offerer, answerer = await connected_pair()
    try:
        remote = answerer.remoteDescription
        assert remote is not None
        assert not ice_restart.restarts_ice(answerer, remote.sdp)
        changed = remote.sdp.replace(
            f"a=ice-ufrag:{ice_restart.ice_credentials(remote.sdp)[0]}",  # type: ignore[index]
            "a=ice-ufrag:ZZZZ",
        )
        assert ice_restart.restarts_ice(answerer, changed)
        assert not ice_restart.local_addresses_changed(answerer)
    finally:
        await offerer.close()
        await answerer.close()


def test_credentials_are_read_from_sdp() -> None:
    assert ice_restart.ice_credentials(
        "v=0\na=ice-ufrag:abcd\na=ice-pwd:0123456789abcdef012345\n"
    ) == (
        "abcd",
        "0123456789abcdef012345",
    )
    assert ice_restart.ice_credentials("v=0\n") is None
    assert not ice_restart.restarts_ice(RTCPeerConnection(), "a=ice-ufrag:x\na=ice-pwd:y\n")
