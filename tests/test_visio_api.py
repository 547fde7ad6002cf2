"""Our Visio client against the backend's stand-in and a real livekit-server.

The stand-in (devtools/visio_standin) follows the contract observed on Visio's
backend; these tests drive our side of it: looking rooms up, the lobby and its
cookie, signing in (the session cookie found among those the login page leaves),
hosts admitting guests, and the in-call calls made with the LiveKit token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiortc.mediastreams import MediaStreamTrack
from keyring.backends import fail
from livekit import api as lk_api

from client.call_session import CallSession, TestMediaSources
from client.captions import CaptionUpdated
from client.livekit.room import RoomOptions
from client.media.test_sources import ToneTrack
from client.visio.accounts import SignInChanged, VisioAccounts
from client.visio.api import VisioApi, VisioError
from client.visio.joining import find_route, lobby_key
from client.visio.links import VisioLink
from client.visio.lobby import Lobby, LobbyDenied, LobbyTimedOut, LobbyWaiting
from client.visio.meeting import MutedBy, ParticipantsWaiting, RecordingChanged, token_claims
from client.visio.sign_in_store import SignInStore
from devtools.caption_agent import CaptionAgentProcess
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.secret_service import SecretServiceSession
from devtools.visio_standin import VisioStandIn
from devtools.waiting import wait_for
from tests.caption_agents import running_caption_agent
from tests.sdk_peer import SdkPeer

pytestmark = pytest.mark.visio

PASSWORD = "mot-de-passe-de-test"
SENTENCES = ("Bienvenue dans la réunion.", "Les sous-titres arrivent une seule fois.")


@pytest.fixture
def standin(livekit_server: LiveKitServer) -> Iterator[VisioStandIn]:
    with VisioStandIn(
        livekit_server, caption_agent_name=f"visio-captions-{uuid.uuid4().hex[:8]}"
    ) as server:
        server.add_user("sub-marie", "marie@example.gouv.fr", "Marie Curie", PASSWORD)
        server.add_user("sub-paul", "paul@example.gouv.fr", "Paul Langevin", PASSWORD)
        yield server


@pytest.fixture
async def accounts(secret_service: SecretServiceSession) -> AsyncIterator[VisioAccounts]:
    kept = VisioAccounts(SignInStore())
    try:
        yield kept
    finally:
        await kept.close()


def room_link(standin: VisioStandIn, slug: str) -> VisioLink:
    return VisioLink(standin.base_url, slug)


async def login_cookies(base_url: str, email: str, password: str) -> dict[str, str]:
    """What the sign-in page leaves in a browser: every cookie it set."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        page = f"{base_url}/api/v1.0/authenticate/?returnTo={base_url}/"
        async with http.get(page) as response:
            assert response.status == 200
            form_url = str(response.url)
        async with http.post(
            form_url, data={"email": email, "password": password}, allow_redirects=False
        ) as response:
            assert response.status in (302, 303), await response.text()
    return {cookie.key: cookie.value for cookie in jar}


async def signed_in_api(
    accounts: VisioAccounts, standin: VisioStandIn, email: str = "marie@example.gouv.fr"
) -> VisioApi:
    cookies = await login_cookies(standin.base_url, email, PASSWORD)
    account = await accounts.adopt(standin.base_url, cookies)
    assert account is not None
    return await accounts.api(standin.base_url)


async def test_public_room_straight_in_with_the_name_in_the_token(
    standin: VisioStandIn, livekit_server: LiveKitServer
) -> None:
    room = standin.add_room("abc-defg-hij", name="Point hebdo", access_level="public")
    api = VisioApi(standin.base_url)
    try:
        route = await find_route(api, room_link(standin, "abc-defg-hij"), "Jeanne Barret")
        assert route.straight_in and route.livekit is not None
        assert route.room.id == room.id and route.room.name == "Point hebdo"
        assert route.livekit.room == room.id
        assert route.livekit.url.startswith("ws://")  # http given, ws used
        claims = token_claims(route.livekit.token)
        assert claims["name"] == "Jeanne Barret"
        again = await find_route(api, room_link(standin, "abc-defg-hij"), "Jeanne Barret")
        assert again.livekit is not None
        # Anonymous: a new identity on every look-up.
        assert token_claims(again.livekit.token)["sub"] != claims["sub"]
        session = CallSession(RoomOptions(ice_servers=[]))
        session.use_visio(api, route.room)
        try:
            await session.join(
                route.livekit.url, route.livekit.token, camera_on=False, microphone_on=False
            )
            assert session.room.name == room.id
            assert session.visio is not None and not session.visio.is_host
        finally:
            await session.leave()
    finally:
        await api.close()


async def test_unknown_room_a_server_that_is_not_visio_and_one_that_is_down(
    standin: VisioStandIn, livekit_server: LiveKitServer
) -> None:
    api = VisioApi(standin.base_url)
    with pytest.raises(VisioError) as unknown:
        await api.room("zzz-zzzz-zzz", "Jeanne")
    assert unknown.value.kind == VisioError.UNKNOWN_ROOM
    await api.close()
    # livekit-server answers HTTP, but not Visio's API.
    other = VisioApi(livekit_server.http_url)
    with pytest.raises(VisioError) as not_visio:
        await other.room("abc-defg-hij", "Jeanne")
    assert not_visio.value.kind == VisioError.NOT_VISIO
    await other.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = VisioApi(f"http://127.0.0.1:{closed_port}", timeout_s=3)
    with pytest.raises(VisioError) as unreachable:
        await down.room("abc-defg-hij", "Jeanne")
    assert unreachable.value.kind == VisioError.UNREACHABLE
    await down.close()


async def test_an_unregistered_room_opens_when_the_server_allows_it(
    livekit_server: LiveKitServer,
) -> None:
    with VisioStandIn(livekit_server, allow_unregistered_rooms=True) as server:
        api = VisioApi(server.base_url)
        try:
            route = await find_route(api, room_link(server, "nouvelle-salle"), "Jeanne")
            assert route.room.id is None and route.straight_in
        finally:
            await api.close()


async def test_lobby_one_guest_across_polls_then_admitted_by_a_host(
    standin: VisioStandIn, accounts: VisioAccounts, livekit_server: LiveKitServer
) -> None:
    room = standin.add_room(
        "cde-fghi-jkl", name="Comité", access_level="restricted", owners=("sub-marie",)
    )
    host = await signed_in_api(accounts, standin)
    guest = VisioApi(standin.base_url)
    watcher: SdkPeer | None = None
    try:
        route = await find_route(guest, room_link(standin, "cde-fghi-jkl"), "Invité")
        assert route.livekit is None and route.sign_in_offered
        # The host is in the meeting: the server tells it someone waits.
        host_route = await find_route(host, room_link(standin, "cde-fghi-jkl"), "Marie")
        assert host_route.livekit is not None
        watcher = SdkPeer(host_route.livekit.url, host_route.livekit.token)
        await watcher.connect()
        host_peer = watcher
        lobby = Lobby(guest, lobby_key(route), "Invité")
        waits: list[LobbyWaiting] = []
        lobby.events.on(LobbyWaiting, waits.append)
        waiting = asyncio.ensure_future(lobby.wait())
        await wait_for(lambda: lobby.polls >= 4, 10, "four lobby polls")
        # Over plain http the Secure cookie is resent by hand: still one guest.
        listed = await host.waiting_participants(room.id)
        assert [p.username for p in listed] == ["Invité"], listed
        assert len(waits) == 1 and waits[0].participant_id == listed[0].id
        await wait_for(
            lambda: any(
                topic == "" and b'"participantWaiting"' in payload
                for topic, payload in host_peer.data
            ),
            10,
            "participantWaiting at the host",
        )
        await host.enter(room.id, listed[0].id, allow=True)
        access = await asyncio.wait_for(waiting, 5)
        assert token_claims(access.token)["sub"] == listed[0].id
        assert await host.waiting_participants(room.id) == []
    finally:
        if watcher is not None:
            await watcher.close()
        await guest.close()


async def test_a_lobby_nobody_answers_gives_up(standin: VisioStandIn) -> None:
    room = standin.add_room("jkl-mnop-qrs", access_level="restricted", owners=("sub-marie",))
    guest = VisioApi(standin.base_url)
    try:
        lobby = Lobby(guest, room.id, "Patient", give_up_after_s=2.5)
        with pytest.raises(LobbyTimedOut):
            await asyncio.wait_for(lobby.wait(), 10)
        assert lobby.polls >= 3  # every second until then
    finally:
        await guest.close()


async def test_denied_and_cancelled_guests(standin: VisioStandIn, accounts: VisioAccounts) -> None:
    room = standin.add_room("def-ghij-klm", access_level="restricted", owners=("sub-marie",))
    host = await signed_in_api(accounts, standin)
    guest = VisioApi(standin.base_url)
    try:
        lobby = Lobby(guest, room.id, "Refusé")
        waiting = asyncio.ensure_future(lobby.wait())
        await wait_for(lambda: lobby.polls >= 1, 5, "the first poll")
        (entry,) = await host.waiting_participants(room.id)
        await host.enter(room.id, entry.id, allow=False)
        with pytest.raises(LobbyDenied):
            await asyncio.wait_for(waiting, 5)
        # Another guest gives up: the server forgets them about 3 s later.
        other = VisioApi(standin.base_url)
        lobby = Lobby(other, room.id, "Pressé")
        waiting = asyncio.ensure_future(lobby.wait())
        await wait_for(lambda: lobby.polls >= 1, 5, "the first poll")
        assert [p.username for p in await host.waiting_participants(room.id)] == ["Pressé"]
        waiting.cancel()
        started = time.monotonic()
        await wait_for(lambda: not standin.waiting(room.id), 6, "the cancelled guest dropped")
        assert time.monotonic() - started >= 2.0
        await other.close()
        # A host action on someone who left: not found, said plainly.
        with pytest.raises(VisioError) as gone:
            await host.enter(room.id, str(uuid.uuid4()), allow=True)
        assert gone.value.kind == VisioError.NOT_FOUND
    finally:
        await guest.close()


async def test_sign_in_finds_the_session_cookie_and_keeps_it_in_the_keychain(
    livekit_server: LiveKitServer, secret_service: SecretServiceSession
) -> None:
    # A deployment whose session cookie is not called "sessionid".
    with VisioStandIn(livekit_server, session_cookie_name="visio_sess") as server:
        server.add_user("sub-marie", "marie@example.gouv.fr", "Marie Curie", PASSWORD)
        server.add_room("efg-hijk-lmn", name="Réservée", access_level="trusted")
        accounts = VisioAccounts(SignInStore())
        changes: list[SignInChanged] = []
        accounts.events.on(SignInChanged, changes.append)
        try:
            signed_out = await find_route(
                await accounts.api(server.base_url), room_link(server, "efg-hijk-lmn"), "Marie"
            )
            assert signed_out.livekit is None and signed_out.sign_in_offered
            cookies = await login_cookies(server.base_url, "marie@example.gouv.fr", PASSWORD)
            assert "visio_sess" in cookies and "csrftoken" in cookies
            account = await accounts.adopt(server.base_url, cookies)
            assert account is not None and account.full_name == "Marie Curie"
            assert changes[-1].account == account and changes[-1].remembered
            api = await accounts.api(server.base_url)
            assert api.sign_in is not None and api.sign_in.cookie_name == "visio_sess"
            route = await find_route(api, room_link(server, "efg-hijk-lmn"), "Marie")
            assert route.straight_in
            assert token_claims(route.livekit.token)["sub"] == "sub-marie"  # type: ignore[union-attr]
        finally:
            await accounts.close()
        # A relaunch: the sign-in comes back from the keychain.
        relaunched = VisioAccounts(SignInStore())
        try:
            assert await relaunched.saved_user(server.base_url) == "Marie Curie"
            assert (await relaunched.who(server.base_url)) is not None
            # The server forgets the session: the room says so, and the link is not lost.
            server.expire_sessions()
            route = await find_route(
                await relaunched.api(server.base_url), room_link(server, "efg-hijk-lmn"), "Marie"
            )
            assert route.session_expired and route.sign_in_offered and route.livekit is None
            assert await relaunched.who(server.base_url) is None
            assert SignInStore().load(room_link(server, "x").host) is None
        finally:
            await relaunched.close()


async def test_signed_in_writes_carry_the_csrf_token_and_our_origin(
    standin: VisioStandIn, accounts: VisioAccounts
) -> None:
    room = standin.add_room("fgh-ijkl-mno", access_level="restricted", owners=("sub-paul",))
    marie = await signed_in_api(accounts, standin)
    # Signed in but no role: the lobby, asked with the session (a CSRF-checked write).
    entry = await marie.request_entry(room.id, "Marie Curie")
    assert entry.status == "waiting"
    # The same call with a forged Origin is refused: the check is real.
    sign_in = marie.sign_in
    assert sign_in is not None
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
        http.post(
            f"{standin.base_url}/api/v1.0/rooms/{room.id}/request-entry/",
            json={"username": "Marie Curie"},
            headers={
                "Cookie": f"{sign_in.cookie_name}={sign_in.cookie_value}; "
                f"csrftoken={sign_in.csrf_token}",
                "X-CSRFToken": sign_in.csrf_token,
                "Origin": "null",
            },
        ) as response,
    ):
        assert response.status == 403
    # Not a host of that room: its waiting list is refused.
    with pytest.raises(VisioError) as refused:
        await marie.waiting_participants(room.id)
    assert refused.value.kind == VisioError.FORBIDDEN


class SpeakingSources(TestMediaSources):
    """A microphone that sends sound: the scripted speech-to-text hears once audio flows."""

    def microphone(self) -> MediaStreamTrack:
        return ToneTrack(220.0, amplitude=0.3)


@pytest.fixture
async def caption_agent(
    livekit_server: LiveKitServer, standin: VisioStandIn, tmp_path: Path
) -> AsyncIterator[CaptionAgentProcess]:
    name = standin.api.settings.caption_agent_name
    async with running_caption_agent(
        livekit_server, tmp_path / "caption-agent.log", name, SENTENCES
    ) as agent:
        yield agent


async def test_hand_captions_and_muted_notice_through_the_api(
    standin: VisioStandIn, livekit_server: LiveKitServer, caption_agent: CaptionAgentProcess
) -> None:
    standin.add_room("ghi-jklm-nop", name="Plénière", access_level="public")
    api = VisioApi(standin.base_url)
    peer_api = VisioApi(standin.base_url)
    session = CallSession(RoomOptions(ice_servers=[]), media=SpeakingSources())
    peer: SdkPeer | None = None
    try:
        route = await find_route(api, room_link(standin, "ghi-jklm-nop"), "Nous")
        assert route.livekit is not None
        visio = session.use_visio(api, route.room)
        muted: list[MutedBy] = []
        session.events.on(MutedBy, muted.append)
        captions: list[CaptionUpdated] = []
        session.events.on(CaptionUpdated, captions.append)
        await session.join(
            route.livekit.url, route.livekit.token, camera_on=False, microphone_on=True
        )
        # Captions: asked once, however often the button is pressed.  Asked while we
        # are alone: the test agent, like Visio's, gets no metadata and transcribes
        # the first participant it finds.
        assert await session.start_captions() is True
        assert await session.start_captions() is False
        assert standin.dispatch_count(route.room.id or "") == 1
        await wait_for(lambda: sum(1 for c in captions if c.segment.final) >= 1, 40, "a caption")
        peer_route = await find_route(peer_api, room_link(standin, "ghi-jklm-nop"), "Agnès")
        assert peer_route.livekit is not None
        peer = SdkPeer(peer_route.livekit.url, peer_route.livekit.token)
        await peer.connect()
        ours = session.room.local_participant.identity

        def peer_sees_hand() -> str:
            assert peer is not None
            participant = peer.room.remote_participants.get(ours)
            return participant.attributes.get("handRaisedAt", "") if participant else ""

        await session.set_hand_raised(True)
        await wait_for(lambda: bool(peer_sees_hand()), 10, "the raised hand at the peer")
        assert "T" in peer_sees_hand()  # an ISO time: the web app's queue order
        await session.set_hand_raised(False)
        await wait_for(lambda: not peer_sees_hand(), 10, "the lowered hand at the peer")
        # Renaming goes through the API too (the token forbids changing our own name).
        await visio.rename("Nous, salle 204")

        def peer_sees_name() -> str:
            assert peer is not None
            participant = peer.room.remote_participants.get(ours)
            return participant.name if participant else ""

        await wait_for(lambda: peer_sees_name() == "Nous, salle 204", 10, "the new name")
        # The web app tells the person it muted, by a packet to them alone (sent
        # again until the peer's fresh data path is up).
        for _ in range(20):
            await peer.room.local_participant.publish_data(
                b'{"type":"participantMuted"}', reliable=True, destination_identities=[ours]
            )
            with contextlib.suppress(AssertionError):
                await wait_for(lambda: bool(muted), 0.5, "the muted-by notice")
                break
        assert muted, "no muted-by notice"
        assert muted[0].name == "Agnès"
        assert visio.info.id == route.room.id
        # A recording starts: the backend writes it in the room's metadata.
        recordings: list[RecordingChanged] = []
        session.events.on(RecordingChanged, recordings.append)
        async with api_client(livekit_server) as server_api:
            await server_api.room.update_room_metadata(
                lk_api.UpdateRoomMetadataRequest(
                    room=session.room.name,
                    metadata=json.dumps(
                        {"recording_status": "started", "recording_mode": "screen_recording"}
                    ),
                )
            )
        await wait_for(lambda: bool(recordings), 10, "the recording notice")
        assert recordings[-1].recording and visio.recording
    finally:
        await session.leave()
        if peer is not None:
            await peer.close()
        await api.close()
        await peer_api.close()


@contextlib.asynccontextmanager
async def api_client(livekit_server: LiveKitServer) -> AsyncIterator[lk_api.LiveKitAPI]:
    client = lk_api.LiveKitAPI(
        livekit_server.http_url, livekit_server.api_key, livekit_server.api_secret
    )
    try:
        yield client
    finally:
        await client.aclose()


async def test_without_a_keychain_the_sign_in_lasts_this_run_only(
    standin: VisioStandIn,
) -> None:
    standin.add_room("ijk-lmno-pqr", access_level="trusted")
    accounts = VisioAccounts(SignInStore(backend=fail.Keyring()))
    changes: list[SignInChanged] = []
    accounts.events.on(SignInChanged, changes.append)
    try:
        cookies = await login_cookies(standin.base_url, "marie@example.gouv.fr", PASSWORD)
        account = await accounts.adopt(standin.base_url, cookies)
        assert account is not None
        assert changes[-1].account == account and not changes[-1].remembered
        # Signed in for this run: the trusted room lets us in.
        route = await find_route(
            await accounts.api(standin.base_url), room_link(standin, "ijk-lmno-pqr"), "Marie"
        )
        assert route.straight_in
    finally:
        await accounts.close()
    # The next run starts signed out: nothing was written anywhere.
    again = VisioAccounts(SignInStore(backend=fail.Keyring()))
    try:
        assert await again.saved_user(standin.base_url) is None
    finally:
        await again.close()


async def test_captions_disabled_and_hosts_learn_of_waiting_guests_in_the_call(
    livekit_server: LiveKitServer, secret_service: SecretServiceSession
) -> None:
    with VisioStandIn(livekit_server, subtitles_enabled=False) as server:
        server.add_user("sub-marie", "marie@example.gouv.fr", "Marie Curie", PASSWORD)
        room = server.add_room("hij-klmn-opq", access_level="restricted", owners=("sub-marie",))
        accounts = VisioAccounts(SignInStore())
        guest = VisioApi(server.base_url)
        session = CallSession(RoomOptions(ice_servers=[]))
        try:
            host = await signed_in_api(accounts, server)  # type: ignore[arg-type]
            assert not await host.captions_enabled()
            route = await find_route(host, room_link(server, "hij-klmn-opq"), "Marie")
            assert route.livekit is not None
            visio = session.use_visio(host, route.room)
            seen: list[ParticipantsWaiting] = []
            session.events.on(ParticipantsWaiting, seen.append)
            await session.join(
                route.livekit.url, route.livekit.token, camera_on=False, microphone_on=False
            )
            assert visio.is_host
            with pytest.raises(VisioError) as disabled:
                await session.start_captions()
            assert disabled.value.kind == VisioError.CAPTIONS_DISABLED
            lobby = Lobby(guest, room.id, "Invitée")
            waiting = asyncio.ensure_future(lobby.wait())
            await wait_for(
                lambda: bool(seen) and bool(seen[-1].participants),
                20,
                "the waiting guest at the host",
            )
            (entry,) = seen[-1].participants
            assert entry.username == "Invitée"
            await session.admit(entry.id, allow=True)
            await asyncio.wait_for(waiting, 5)
            await wait_for(lambda: not seen[-1].participants, 10, "the list emptied")
            # Someone knocks later in the meeting: the server's notice brings them
            # (a notice sent while our data channel was opening, at the join, is
            # covered by the list read at the join and a slow safety poll).
            notices = visio.notices_acted_on
            late = VisioApi(server.base_url)
            late_lobby = Lobby(late, room.id, "Retardataire")
            late_wait = asyncio.ensure_future(late_lobby.wait())
            try:
                await wait_for(
                    lambda: bool(seen[-1].participants), 10, "the late guest at the host"
                )
                assert visio.notices_acted_on > notices
                (late_entry,) = seen[-1].participants
                await session.admit(late_entry.id, allow=False)
                with pytest.raises(LobbyDenied):
                    await asyncio.wait_for(late_wait, 5)
            finally:
                late_wait.cancel()
                await late.close()
        finally:
            await session.leave()
            await guest.close()
            await accounts.close()
