"""The Visio stand-in against the contract, over plain HTTP, on a real livekit-server.

The calls are made with a bare aiohttp session (no cookie jar: the tests send each
cookie themselves, as a client must for the lobby's ``Secure`` cookie on http), never
with our client's code, so a mistake in one cannot hide a mistake in the other.
Meeting tokens are joined with the official SDK, which sees the notifications and
the attributes the stand-in sets through the LiveKit server API.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from livekit import api

from devtools.caption_agent import CaptionAgentProcess
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.visio_standin import LobbyStatus, StandInRoom, VisioStandIn
from devtools.waiting import wait_for
from tests.sdk_peer import SdkPeer

pytestmark = pytest.mark.visio

P = "/api/v1.0"
PASSWORD = "correct horse battery staple"
SIX_HOURS = 6 * 3600


# --- helpers --------------------------------------------------------------------------


class Reply:
    def __init__(self, status: int, body: Any, headers: Any, text: str) -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.text = text

    def cookies(self) -> dict[str, Morsel[str]]:
        jar: SimpleCookie = SimpleCookie()
        for header in self.headers.getall("Set-Cookie", []):
            jar.load(header)
        return dict(jar)


class Caller:
    """One HTTP client; cookies go out only as given to each call."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: object = None,
        cookies: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        async with self.http.request(
            method,
            self.base_url + path,
            json=json_body,
            data=data,
            headers=sent,
            params=params,
            allow_redirects=False,
        ) as response:
            text = await response.text()
            body = json.loads(text) if response.content_type == "application/json" else None
            return Reply(response.status, body, response.headers, text)

    async def sign_in(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        """The cookies a signed-in browser holds afterwards (session and csrftoken)."""
        reply = await self.call(
            "POST",
            f"{P}/authenticate/",
            data={"email": email, "password": password, "returnTo": "/"},
        )
        assert reply.status == 302, reply.text
        return {name: morsel.value for name, morsel in reply.cookies().items()}


def writes(cookies: Mapping[str, str]) -> dict[str, str]:
    """Headers of a signed-in write, as the web app sends them."""
    return {"X-CSRFToken": cookies["csrftoken"]}


def claims_of(token: str, livekit: LiveKitServer) -> dict[str, Any]:
    """The JWT's payload, after checking its signature with the server's keys."""
    api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(token)
    header, payload, _ = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded


@contextlib.contextmanager
def running(livekit: LiveKitServer, **options: Any) -> Iterator[VisioStandIn]:
    standin = VisioStandIn(livekit, **options)
    standin.start()
    try:
        standin.add_user("sub-alice", "alice@example.org", "Alice Martin", PASSWORD)
        standin.add_user("sub-bob", "bob@example.org", "Bob Durand", PASSWORD)
        standin.add_user("sub-carol", "carol@example.org", "Carol Petit", PASSWORD)
        yield standin
    finally:
        standin.close()


@pytest.fixture
def visio(livekit_server: LiveKitServer) -> Iterator[VisioStandIn]:
    with running(livekit_server) as standin:
        yield standin


@pytest.fixture
async def caller(visio: VisioStandIn) -> AsyncIterator[Caller]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        yield Caller(http, visio.base_url)


def add_rooms(visio: VisioStandIn) -> dict[str, StandInRoom]:
    return {
        "public": visio.add_room("pub-room-one", access_level="public", owners=["sub-alice"]),
        "trusted": visio.add_room("tru-room-two", access_level="trusted", owners=["sub-alice"]),
        "restricted": visio.add_room(
            "res-room-thr",
            name="Comité de pilotage",
            access_level="restricted",
            owners=["sub-alice"],
            members=["sub-carol"],
        ),
    }


@contextlib.asynccontextmanager
async def joined(url: str, token: str) -> AsyncIterator[SdkPeer]:
    peer = SdkPeer(url, token)
    await peer.connect(subscribe=False)
    try:
        yield peer
    finally:
        await peer.close()


# --- rooms and tokens -----------------------------------------------------------------


async def test_room_details_per_access_level_and_sign_in(
    visio: VisioStandIn, caller: Caller, livekit_server: LiveKitServer
) -> None:
    rooms = add_rooms(visio)
    bob = await caller.sign_in("bob@example.org")
    carol = await caller.sign_in("carol@example.org")
    alice = await caller.sign_in("alice@example.org")

    async def detail(room: str, cookies: Mapping[str, str] | None = None) -> dict[str, Any]:
        reply = await caller.call(
            "GET", f"{P}/rooms/{room}/", params={"username": "Zoé"}, cookies=cookies
        )
        assert reply.status == 200, reply.text
        body: dict[str, Any] = reply.body
        return body

    anonymous = {level: await detail(room.slug) for level, room in rooms.items()}
    assert set(anonymous["public"]) == {
        "id",
        "name",
        "slug",
        "configuration",
        "access_level",
        "pin_code",
        "livekit",
    }
    for level in ("trusted", "restricted"):
        assert set(anonymous[level]) == {"id", "name", "slug", "configuration", "access_level"}
    restricted = anonymous["restricted"]
    assert restricted["id"] == rooms["restricted"].id
    assert (restricted["name"], restricted["slug"]) == ("Comité de pilotage", "res-room-thr")
    assert restricted["access_level"] == "restricted"
    livekit = anonymous["public"]["livekit"]
    assert livekit["url"] == livekit_server.http_url
    assert livekit["room"] == rooms["public"].id

    # Signed in: trusted rooms open; restricted ones only with a role.
    assert "livekit" in await detail(rooms["trusted"].slug, bob)
    assert "livekit" not in await detail(rooms["restricted"].slug, bob)
    as_member = await detail(rooms["restricted"].slug, carol)
    assert "livekit" in as_member and "accesses" not in as_member
    as_owner = await detail(rooms["restricted"].id, alice)
    assert "livekit" in as_owner
    assert {(a["user"]["email"], a["role"]) for a in as_owner["accesses"]} == {
        ("alice@example.org", "owner"),
        ("carol@example.org", "member"),
    }

    # The room answers to its id in any spelling, and to its slug in any case.
    assert (await detail(uuid.UUID(rooms["public"].id).hex))["id"] == rooms["public"].id
    assert (await detail("PUB-ROOM-ONE"))["id"] == rooms["public"].id

    # A guest is somebody new on every page load.
    first = claims_of((await detail("pub-room-one"))["livekit"]["token"], livekit_server)
    second = claims_of((await detail("pub-room-one"))["livekit"]["token"], livekit_server)
    assert first["sub"] != second["sub"]
    assert uuid.UUID(first["sub"])

    unknown = await caller.call("GET", f"{P}/rooms/abc-defg-hij/")
    assert (unknown.status, unknown.body) == (404, {"detail": "No Room matches the given query."})


async def test_token_claims(
    visio: VisioStandIn, caller: Caller, livekit_server: LiveKitServer
) -> None:
    rooms = add_rooms(visio)
    alice = await caller.sign_in("alice@example.org")
    carol = await caller.sign_in("carol@example.org")

    async def token(cookies: Mapping[str, str] | None, username: str | None) -> dict[str, Any]:
        params = {"username": username} if username is not None else {}
        reply = await caller.call(
            "GET", f"{P}/rooms/{rooms['restricted'].slug}/", params=params, cookies=cookies
        )
        return claims_of(reply.body["livekit"]["token"], livekit_server)

    owner = await token(alice, "Alice au bureau")
    assert owner["sub"] == "sub-alice"
    assert owner["name"] == "Alice au bureau"
    assert owner["iss"] == livekit_server.api_key
    assert owner["exp"] - owner["nbf"] == SIX_HOURS
    assert abs(owner["nbf"] - time.time()) < 60
    video = owner["video"]
    assert video["room"] == rooms["restricted"].id
    assert video["roomJoin"] is True and video["roomAdmin"] is True
    assert video["canUpdateOwnMetadata"] is False
    assert video["canPublish"] is True and video["canSubscribe"] is True
    assert video["canPublishData"] is True
    assert video["canPublishSources"] == [
        "camera",
        "microphone",
        "screen_share",
        "screen_share_audio",
    ]
    attributes = owner["attributes"]
    assert set(attributes) == {"color", "room_role", "is_authenticated"}
    assert attributes["room_role"] == "owner"
    assert attributes["is_authenticated"] == "true"
    assert attributes["color"].startswith("hsl(") and attributes["color"].endswith("%)")

    member = await token(carol, None)
    assert member["sub"] == "sub-carol"
    assert member["name"] == "Carol Petit"  # no username: the account's name
    assert member["video"]["roomAdmin"] is False
    assert member["attributes"]["room_role"] == "member"

    guest_reply = await caller.call(
        "GET", f"{P}/rooms/{rooms['public'].slug}/", params={"username": "Invité"}
    )
    guest = claims_of(guest_reply.body["livekit"]["token"], livekit_server)
    assert guest["name"] == "Invité"
    assert guest["video"]["roomAdmin"] is False
    assert guest["attributes"]["room_role"] == ""
    assert guest["attributes"]["is_authenticated"] == "false"
    nameless_reply = await caller.call("GET", f"{P}/rooms/{rooms['public'].slug}/")
    nameless = claims_of(nameless_reply.body["livekit"]["token"], livekit_server)
    assert nameless["name"] == "Anonymous"

    # The LiveKit server takes it, with name and attributes.
    async with joined(livekit_server.ws_url, guest_reply.body["livekit"]["token"]) as peer:
        local = peer.room.local_participant
        assert (local.identity, local.name) == (guest["sub"], "Invité")
        assert local.attributes["is_authenticated"] == "false"


async def test_unregistered_rooms_and_config(livekit_server: LiveKitServer) -> None:
    with running(
        livekit_server,
        allow_unregistered_rooms=True,
        subtitles_enabled=False,
        session_cookie_name="sessionid",
    ) as visio:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            caller = Caller(http, visio.base_url)
            reply = await caller.call("GET", f"{P}/rooms/Xyz-Abcd-Efg/", params={"username": "Z"})
            assert reply.status == 200
            body = reply.body
            assert body["id"] is None
            assert body["slug"] == "xyz-abcd-efg"
            assert body["access_level"] == "public"
            assert body["is_administrable"] is False
            assert body["livekit"]["room"] == "xyz-abcd-efg"
            claims = claims_of(body["livekit"]["token"], livekit_server)
            assert claims["video"]["room"] == "xyz-abcd-efg"

            config = await caller.call("GET", f"{P}/config/")
            assert config.body["subtitle"] == {"enabled": False}
            assert config.body["livekit"]["url"] == livekit_server.http_url

            # The deployment's session cookie name.
            cookies = await caller.sign_in("bob@example.org")
            assert set(cookies) == {"sessionid", "csrftoken"}


# --- sign-in --------------------------------------------------------------------------


async def test_sign_in_flow(
    visio: VisioStandIn, caller: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    return_to = f"{visio.base_url}/abc-defg-hij"
    form = await caller.call("GET", f"{P}/authenticate/", params={"returnTo": return_to})
    assert form.status == 200 and form.headers["Content-Type"].startswith("text/html")
    for needle in ('name="email"', 'name="password"', 'method="post"', return_to):
        assert needle in form.text

    refused = await caller.call(
        "POST",
        f"{P}/authenticate/",
        data={"email": "bob@example.org", "password": "wrong", "returnTo": return_to},
    )
    assert refused.status == 200 and "incorrect" in refused.text
    assert "Set-Cookie" not in refused.headers
    assert visio.sessions == 0

    accepted = await caller.call(
        "POST",
        f"{P}/authenticate/",
        data={"email": "Bob@Example.org", "password": PASSWORD, "returnTo": return_to},
    )
    assert (accepted.status, accepted.headers["Location"]) == (302, return_to)
    cookies = accepted.cookies()
    session = cookies["meet_sessionid"]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert not session["secure"]  # plain http: a browser would drop a Secure cookie
    assert session["path"] == "/"
    assert int(session["max-age"]) == 12 * 3600
    csrf = cookies["csrftoken"]
    assert len(csrf.value) == 32 and not csrf["httponly"]
    assert visio.sessions == 1
    signed_in = {"meet_sessionid": session.value, "csrftoken": csrf.value}

    me = await caller.call("GET", f"{P}/users/me/", cookies=signed_in)
    assert me.status == 200
    assert me.body["email"] == "bob@example.org"
    assert me.body["full_name"] == "Bob Durand"
    assert {"id", "short_name", "language"} <= set(me.body)
    assert me.body["id"] != "sub-bob"  # the API id, not the meeting identity

    anonymous = await caller.call("GET", f"{P}/users/me/")
    assert anonymous.status == 401
    assert anonymous.body == {"detail": "Authentication credentials were not provided."}

    # Only this server is a place to come back to.
    elsewhere = await caller.call(
        "POST",
        f"{P}/authenticate/",
        data={"email": "bob@example.org", "password": PASSWORD, "returnTo": "https://evil.test/"},
    )
    assert elsewhere.headers["Location"] == "/"

    logout = await caller.call("GET", f"{P}/logout/", cookies=signed_in)
    assert logout.status == 302
    assert logout.cookies()["meet_sessionid"].value == ""
    assert (await caller.call("GET", f"{P}/users/me/", cookies=signed_in)).status == 401

    # A session the server has forgotten (12 h later) is no session.
    again = await caller.sign_in("bob@example.org")
    assert (await caller.call("GET", f"{P}/users/me/", cookies=again)).status == 200
    assert visio.expire_sessions() >= 1
    assert visio.sessions == 0
    assert (await caller.call("GET", f"{P}/users/me/", cookies=again)).status == 401

    # The server logged the requests, never the cookies or the password.
    assert f"{P}/authenticate/" in caplog.text
    for secret in (*signed_in.values(), *again.values(), PASSWORD):
        assert secret not in caplog.text


# --- the lobby ------------------------------------------------------------------------


async def test_lobby_expiry_denial_admission_and_notifications(
    visio: VisioStandIn, caller: Caller, livekit_server: LiveKitServer
) -> None:
    room = visio.add_room("res-lobb-yyy", access_level="restricted", owners=["sub-alice"])
    alice = await caller.sign_in("alice@example.org")
    host_token = (
        await caller.call("GET", f"{P}/rooms/{room.slug}/", params={"username": "A"}, cookies=alice)
    ).body["livekit"]["token"]

    async def ask(name: str, lobby_id: str | None = None) -> Reply:
        cookies = {"lobbyParticipantId": lobby_id} if lobby_id else None
        reply = await caller.call(
            "POST",
            f"{P}/rooms/{room.slug}/request-entry/",
            json_body={"username": name},
            cookies=cookies,
        )
        assert reply.status == 200, reply.text
        return reply

    async def decide(guest: str, allow: bool) -> Reply:
        return await caller.call(
            "POST",
            f"{P}/rooms/{room.id}/enter/",
            json_body={"participant_id": guest, "allow_entry": allow},
            cookies=alice,
            headers={**writes(alice), "Origin": visio.base_url},
        )

    def waiting_ids() -> set[str]:
        return {entry.id for entry in visio.waiting(room)}

    async with joined(livekit_server.ws_url, host_token) as host:

        def notices() -> int:
            return sum(
                1
                for topic, body in host.data
                if topic == "" and json.loads(body) == {"type": "participantWaiting"}
            )

        # A guest without the cookie is somebody new each time.
        first = await ask("Anne")
        cookie = first.cookies()["lobbyParticipantId"]
        assert cookie["secure"] is True and cookie["httponly"] is True and cookie["path"] == "/"
        anne = cookie.value
        assert first.body == {
            "status": "waiting",
            "username": "Anne",
            "id": anne,
            "color": first.body["color"],
            "livekit": None,
        }
        bruno = (await ask("Bruno")).body["id"]
        chloe = (await ask("Chloé")).body["id"]
        assert len({anne, bruno, chloe}) == 3
        started = time.monotonic()

        async def at(seconds: float) -> None:
            await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))

        await wait_for(lambda: notices() >= 3, 5, "a participantWaiting per newcomer")
        listed = await caller.call(
            "GET", f"{P}/rooms/{room.id}/waiting-participants/", cookies=alice
        )
        assert listed.status == 200
        assert {(p["id"], p["username"], p["status"]) for p in listed.body["participants"]} == {
            (anne, "Anne", "waiting"),
            (bruno, "Bruno", "waiting"),
            (chloe, "Chloé", "waiting"),
        }

        # Anne polls every second; Bruno never again; Chloé is turned away at once.
        assert (await decide(chloe, False)).body == {"message": "Participant was updated."}
        denied_at = time.monotonic()
        assert (await ask("Chloé", chloe)).body["status"] == "denied"
        for second in (1, 2):
            await at(second)
            assert (await ask("Anne", anne)).body["status"] == "waiting"
        await at(2.5)
        assert waiting_ids() == {anne, bruno}
        await at(3.0)
        assert (await ask("Anne", anne)).body["status"] == "waiting"
        await at(3.5)  # 3.5 s since Bruno's only call, 0.5 s since Anne's last
        assert waiting_ids() == {anne}
        await at(4.0)
        assert (await ask("Anne", anne)).body["status"] == "waiting"
        # Polls renewed Anne's wait but announced nobody new.
        assert visio.waiting_announcements(room) == 3

        # Chloé's denial is still there 4.5 s on, and gone after 5 s: asking again starts over.
        await asyncio.sleep(max(0.0, denied_at + 4.5 - time.monotonic()))
        assert (await ask("Chloé", chloe)).body["status"] == "denied"
        await asyncio.sleep(max(0.0, denied_at + 5.5 - time.monotonic()))
        assert (await ask("Chloé", chloe)).body["status"] == "waiting"
        await wait_for(lambda: notices() >= 4, 5, "Chloé announced again")
        assert visio.waiting_announcements(room) == 4

        # Anne is let in: her lobby id becomes her identity in the meeting.
        assert (await decide(anne, True)).status == 200
        admitted = await ask("Anne", anne)
        assert admitted.body["status"] == "accepted"
        assert admitted.body["livekit"]["room"] == room.id
        claims = claims_of(admitted.body["livekit"]["token"], livekit_server)
        assert (claims["sub"], claims["name"]) == (anne, "Anne")
        assert claims["attributes"]["color"] == admitted.body["color"]
        assert visio.lobby_entry(room, anne).status is LobbyStatus.ACCEPTED  # type: ignore[union-attr]

        # Nobody left to decide on.
        gone = await decide(bruno, True)
        assert (gone.status, gone.body) == (404, {"message": "Participant not found."})
        assert notices() == 4


async def test_lobby_skipped_when_the_room_is_open_to_you(
    visio: VisioStandIn, caller: Caller, livekit_server: LiveKitServer
) -> None:
    rooms = add_rooms(visio)
    public = await caller.call(
        "POST", f"{P}/rooms/{rooms['public'].slug}/request-entry/", json_body={"username": "Léa"}
    )
    assert public.body["status"] == "accepted"
    lea = public.cookies()["lobbyParticipantId"].value
    assert claims_of(public.body["livekit"]["token"], livekit_server)["sub"] == lea

    bob = await caller.sign_in("bob@example.org")
    trusted = await caller.call(
        "POST",
        f"{P}/rooms/{rooms['trusted'].slug}/request-entry/",
        json_body={"username": "Bob"},
        cookies=bob,
        headers=writes(bob),
    )
    assert trusted.body["status"] == "accepted"
    assert claims_of(trusted.body["livekit"]["token"], livekit_server)["sub"] == "sub-bob"
    assert visio.waiting(rooms["trusted"]) == []

    missing = await caller.call(
        "POST", f"{P}/rooms/{rooms['public'].slug}/request-entry/", json_body={}
    )
    assert (missing.status, missing.body) == (400, {"username": ["This field is required."]})


# --- CSRF, Origin and hosts -----------------------------------------------------------


async def test_csrf_and_origin_for_signed_in_writes(visio: VisioStandIn, caller: Caller) -> None:
    rooms = add_rooms(visio)
    bob = await caller.sign_in("bob@example.org")
    alice = await caller.sign_in("alice@example.org")
    entry = f"{P}/rooms/{rooms['restricted'].slug}/request-entry/"
    session_only = {"meet_sessionid": bob["meet_sessionid"]}

    async def attempt(cookies: Mapping[str, str], headers: Mapping[str, str]) -> Reply:
        return await caller.call(
            "POST", entry, json_body={"username": "Bob"}, cookies=cookies, headers=headers
        )

    refusals = [
        (session_only, {}, "CSRF cookie not set."),
        (bob, {}, "CSRF token missing."),
        (bob, {"X-CSRFToken": "x" * 32}, "incorrect"),
        (bob, {**writes(bob), "Origin": "null"}, "Origin checking failed"),
        (bob, {**writes(bob), "Origin": "visio-desktop://app"}, "Origin checking failed"),
        (bob, {**writes(bob), "Origin": "http://evil.test"}, "Origin checking failed"),
    ]
    for cookies, headers, reason in refusals:
        reply = await attempt(cookies, headers)
        assert reply.status == 403, (headers, reply.text)
        assert reason in reply.body["detail"] and reply.body["detail"].startswith("CSRF Failed")
    for headers in (writes(bob), {**writes(bob), "Origin": visio.base_url}):
        assert (await attempt(bob, headers)).status == 200
    # Without a session nothing is checked: the lobby is open to anyone.
    assert (await attempt({}, {"Origin": "null"})).status == 200

    # Hosts' calls need a session, a host and the same CSRF rules.
    room = rooms["restricted"]
    listing = f"{P}/rooms/{room.id}/waiting-participants/"
    anonymous = await caller.call("GET", listing)
    assert anonymous.status == 401 and anonymous.headers["WWW-Authenticate"] == "Session"
    not_host = await caller.call("GET", listing, cookies=bob)
    assert (not_host.status, not_host.body) == (
        403,
        {"detail": "You must have privileges on room to perform this action."},
    )
    assert (await caller.call("GET", listing, cookies=alice)).status == 200
    body = {"participant_id": str(uuid.uuid4()), "allow_entry": True}
    enter = f"{P}/rooms/{room.id}/enter/"
    assert (await caller.call("POST", enter, json_body=body)).status == 401
    no_csrf = await caller.call("POST", enter, json_body=body, cookies=alice)
    assert no_csrf.status == 403 and "CSRF" in no_csrf.body["detail"]
    bad_origin = await caller.call(
        "POST", enter, json_body=body, cookies=alice, headers={**writes(alice), "Origin": "null"}
    )
    assert bad_origin.status == 403
    unknown = await caller.call("POST", enter, json_body=body, cookies=alice, headers=writes(alice))
    assert (unknown.status, unknown.body) == (404, {"message": "Participant not found."})
    invalid = await caller.call(
        "POST", enter, json_body={"participant_id": "x"}, cookies=alice, headers=writes(alice)
    )
    assert invalid.status == 400
    assert invalid.body == {
        "participant_id": ["Must be a valid UUID."],
        "allow_entry": ["This field is required."],
    }

    # Creating a room is a signed-in write like the others.
    create = f"{P}/rooms/"
    assert (await caller.call("POST", create, json_body={"name": "x"}, cookies=alice)).status == 403
    created = await caller.call(
        "POST", create, json_body={"name": "Mon Point"}, cookies=alice, headers=writes(alice)
    )
    assert created.status == 201 and created.body["slug"] == "mon-point"
    assert "livekit" in created.body and created.body["accesses"][0]["role"] == "owner"


# --- in-meeting calls authorised by the LiveKit token ---------------------------------


async def test_toggle_hand_and_rename_through_livekit(
    visio: VisioStandIn, caller: Caller, livekit_server: LiveKitServer
) -> None:
    rooms = add_rooms(visio)
    room, other = rooms["public"], rooms["trusted"]

    async def token(name: str) -> str:
        reply = await caller.call("GET", f"{P}/rooms/{room.slug}/", params={"username": name})
        value: str = reply.body["livekit"]["token"]
        return value

    def bearer(value: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {value}"}

    speaker_token, observer_token = await token("Paul"), await token("Olga")
    hand = f"{P}/rooms/{room.id}/toggle-hand/"
    async with (
        joined(livekit_server.ws_url, speaker_token) as speaker,
        joined(livekit_server.ws_url, observer_token) as observer,
    ):
        await wait_for(
            lambda: speaker.identity in observer.room.remote_participants, 10, "the speaker"
        )
        seen = observer.room.remote_participants[speaker.identity]

        before = datetime.datetime.now(datetime.UTC)
        raised = await caller.call(
            "POST", hand, json_body={"raised": True}, headers=bearer(speaker_token)
        )
        assert (raised.status, raised.body) == (200, {"status": "success"})
        await wait_for(lambda: "handRaisedAt" in seen.attributes, 5, "the raised hand")
        assert seen.metadata == "null"  # what Visio's update leaves behind
        raised_at = datetime.datetime.fromisoformat(seen.attributes["handRaisedAt"])
        assert before - datetime.timedelta(seconds=1) <= raised_at
        assert raised_at <= datetime.datetime.now(datetime.UTC)
        assert seen.attributes["color"]  # the token's attributes are kept

        lowered = await caller.call(
            "POST", hand, json_body={"raised": False}, headers=bearer(speaker_token)
        )
        assert lowered.status == 200
        await wait_for(lambda: "handRaisedAt" not in seen.attributes, 5, "the hand lowered")

        renamed = await caller.call(
            "POST",
            f"{P}/rooms/{room.id}/rename/",
            json_body={"name": "Paul D."},
            headers=bearer(speaker_token),
        )
        assert renamed.status == 200
        await wait_for(lambda: seen.name == "Paul D.", 5, "the new name")

        # A valid token whose holder is not in the meeting.
        absent = await caller.call(
            "POST", hand, json_body={"raised": True}, headers=bearer(await token("Absent"))
        )
        assert (absent.status, absent.body) == (404, {"error": "Participant not found"})

        forged = api.AccessToken(livekit_server.api_key, "not-the-secret-" * 3)
        forged_jwt = forged.with_identity(speaker.identity).with_grants(
            api.VideoGrants(room_join=True, room=room.id)
        )
        other_room = (await caller.call("GET", f"{P}/rooms/{other.slug}/")).body
        assert "livekit" not in other_room
        wrong_room = (await caller.call("GET", f"{P}/rooms/{room.slug}/")).body["livekit"]["token"]
        for headers, detail in (
            ({}, "Authentication credentials were not provided."),
            (bearer(forged_jwt.to_jwt()), "Invalid LiveKit token"),
            ({"Authorization": "Token abc"}, "Authorization header must be"),
        ):
            reply = await caller.call("POST", hand, json_body={"raised": True}, headers=headers)
            assert reply.status == 403, reply.text
            assert reply.body["detail"].startswith(detail)
        mismatch = await caller.call(
            "POST",
            f"{P}/rooms/{other.id}/toggle-hand/",
            json_body={"raised": True},
            headers=bearer(wrong_room),
        )
        assert (mismatch.status, mismatch.body) == (
            403,
            {"detail": "You do not have permission to perform this action."},
        )
        missing = await caller.call("POST", hand, json_body={}, headers=bearer(speaker_token))
        assert (missing.status, missing.body) == (400, {"raised": ["This field is required."]})
        blank = await caller.call(
            "POST",
            f"{P}/rooms/{room.id}/rename/",
            json_body={"name": "  "},
            headers=bearer(speaker_token),
        )
        assert (blank.status, blank.body) == (400, {"name": ["This field may not be blank."]})


async def test_start_subtitle_dispatches_the_agent(
    livekit_server: LiveKitServer, tmp_path: Path
) -> None:
    agent_name = f"visio-caption-agent-{uuid.uuid4().hex[:8]}"
    agent = CaptionAgentProcess(
        livekit_server.ws_url,
        livekit_server.api_key,
        livekit_server.api_secret,
        log_path=tmp_path / "caption-agent.log",
        agent_name=agent_name,
        sentences=("Bonjour à tous.",),
    )
    with (
        running(livekit_server, subtitles_enabled=False) as disabled,
        running(livekit_server, caption_agent_name=agent_name) as visio,
    ):
        off_room = disabled.add_room("sub-off-aaa")
        room = visio.add_room("sub-on-bbbb")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            off, on = Caller(http, disabled.base_url), Caller(http, visio.base_url)
            off_token = (await off.call("GET", f"{P}/rooms/{off_room.slug}/")).body["livekit"]
            refused = await off.call(
                "POST",
                f"{P}/rooms/{off_room.id}/start-subtitle/",
                headers={"Authorization": f"Bearer {off_token['token']}"},
            )
            assert (refused.status, refused.body) == (404, {"detail": "Not found."})
            assert disabled.dispatch_count(off_room) == 0

            speaker_access = (
                await on.call("GET", f"{P}/rooms/{room.slug}/", params={"username": "Paul"})
            ).body["livekit"]
            start = f"{P}/rooms/{room.id}/start-subtitle/"
            assert (await on.call("POST", start)).status == 403
            try:
                await agent.start()
                async with joined(livekit_server.ws_url, speaker_access["token"]) as speaker:
                    speaker.watch_text("lk.transcription")
                    await speaker.publish_tone(440)
                    bearer = {"Authorization": f"Bearer {speaker_access['token']}"}
                    started = await on.call("POST", start, headers=bearer)
                    assert (started.status, started.body) == (200, {"status": "success"})
                    assert visio.dispatch_count(room) == 1
                    # The real agent, dispatched without metadata, transcribes the speaker.
                    await wait_for(
                        lambda: any(
                            text == "Bonjour à tous."
                            for _, text in speaker.texts("lk.transcription")
                        ),
                        30,
                        "the agent's caption",
                    )
                    # Each call is one more dispatch.
                    assert (await on.call("POST", start, headers=bearer)).status == 200
                    assert visio.dispatch_count(room) == 2
                    async with api.LiveKitAPI(
                        livekit_server.http_url, livekit_server.api_key, livekit_server.api_secret
                    ) as lkapi:
                        dispatches = await lkapi.agent_dispatch.list_dispatch(room.id)
                    # The room also holds LiveKit's own default dispatch (no agent name).
                    ours = [d for d in dispatches if d.agent_name == agent_name]
                    assert sorted(d.id for d in ours) == sorted(visio.dispatch_ids(room))
                    assert [d.metadata for d in ours] == ["", ""]
            finally:
                await asyncio.to_thread(agent.stop)
                print(f"--- caption agent log ---\n{agent.log_tail()}")


# --- odds and ends --------------------------------------------------------------------


async def test_errors_outside_the_contract_look_like_django(
    visio: VisioStandIn, caller: Caller
) -> None:
    not_allowed = await caller.call("PUT", f"{P}/config/")
    assert (not_allowed.status, not_allowed.body) == (405, {"detail": 'Method "PUT" not allowed.'})
    nowhere = await caller.call("GET", f"{P}/nowhere/")
    assert nowhere.status == 404 and nowhere.body is None  # a page, not JSON
    visio.add_room("bad-json-ccc")
    entry = f"{visio.base_url}{P}/rooms/bad-json-ccc/request-entry/"
    async with caller.http.post(
        entry, data=b"{", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        assert (await response.json())["detail"].startswith("JSON parse error")
    async with caller.http.post(
        entry, data=b"username=x", headers={"Content-Type": "text/plain"}
    ) as response:
        assert response.status == 415


def test_command_line_serves_until_terminated(livekit_server: LiveKitServer) -> None:
    env = dict(os.environ, LIVEKIT_API_SECRET=livekit_server.api_secret)
    command = [
        sys.executable,
        "-m",
        "devtools.visio_standin",
        "--livekit-url",
        livekit_server.ws_url,
        "--api-key",
        livekit_server.api_key,
        "--user",
        "sub-demo:demo@example.org:Démo Visio:demo",
        "--room",
        "dem-oroo-mmm:trusted:sub-demo",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert urlsplit(base_url).scheme == "http", base_url
        room_line = process.stdout.readline().split()
        assert room_line[:3] == ["room", "dem-oroo-mmm", "trusted"]

        async def probe() -> dict[str, Any]:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{base_url}{P}/config/") as response,
            ):
                body: dict[str, Any] = await response.json()
                return body

        assert asyncio.run(probe())["livekit"]["url"] == livekit_server.http_url
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert livekit_server.api_secret not in stderr
