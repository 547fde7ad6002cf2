"""The room's participant model driven by server ParticipantInfo updates, and ICE parsing."""

from __future__ import annotations

import asyncio

import av
import pytest
from aiohttp import web
from aiortc.mediastreams import MediaStreamTrack
from livekit.protocol import models, rtc

from client.livekit import errors
from client.livekit import events as ev
from client.livekit.engine import Engine
from client.livekit.participant_reconciler import ParticipantReconciler
from client.livekit.pc_transport import parse_candidate_init
from client.livekit.reconnect_policy import ReconnectPolicy
from client.livekit.room import Room, RoomOptions
from client.livekit.signal_messages import route_signal
from tests.test_signal_client import StartServer
from tests.test_signal_client import start_server as start_server

ACTIVE = models.ParticipantInfo.ACTIVE
DISCONNECTED = models.ParticipantInfo.DISCONNECTED


def track(sid: str, *, muted: bool = False, video: bool = False) -> models.TrackInfo:
    return models.TrackInfo(
        sid=sid,
        name="cam" if video else "mic",
        type=models.TrackType.VIDEO if video else models.TrackType.AUDIO,
        source=models.TrackSource.CAMERA if video else models.TrackSource.MICROPHONE,
        muted=muted,
    )


def info(
    identity: str = "alice",
    sid: str = "PA_1",
    *,
    name: str = "Alice",
    state: int = ACTIVE,
    tracks: tuple[models.TrackInfo, ...] = (),
    metadata: str = "",
    version: int = 1,
) -> models.ParticipantInfo:
    return models.ParticipantInfo(
        sid=sid,
        identity=identity,
        name=name,
        state=state,  # type: ignore[arg-type]
        tracks=list(tracks),
        metadata=metadata,
        version=version,
    )


class Unexpected:
    """A transport side for room-only messages: any call is a routing error."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"room message routed to the transport: {name}")


class Recorder:
    def __init__(self, room: Room) -> None:
        self.events: list[ev.Event] = []
        room.events.on_any(self.events.append)

    def take(self) -> list[ev.Event]:
        events = list(self.events)
        self.events.clear()
        return events


def describe(event: ev.Event) -> tuple[str, ...]:
    """A comparable summary of an event."""
    name = type(event).__name__
    if isinstance(event, ev.ParticipantConnected | ev.ParticipantDisconnected):
        return (name, event.participant.identity, event.participant.sid)
    if isinstance(event, ev.ParticipantUpdated):
        return (name, event.participant.identity, *sorted(event.changed))
    if isinstance(event, ev.TrackPublished | ev.TrackUnpublished):
        return (name, event.participant.identity, event.publication.sid)
    if isinstance(event, ev.TrackMuted | ev.TrackUnmuted):
        return (name, event.participant.identity, event.sid)
    return (name,)


def test_join_update_mute_unpublish_leave_emit_events_in_order() -> None:
    room = Room()
    rec = Recorder(room)
    mic, cam = track("TR_mic"), track("TR_cam", video=True)

    room.reconciler.update(info(tracks=(mic, cam)))
    assert [describe(e) for e in rec.take()] == [
        ("ParticipantConnected", "alice", "PA_1"),
        ("TrackPublished", "alice", "TR_mic"),
        ("TrackPublished", "alice", "TR_cam"),
    ]
    alice = room.remote_participants["alice"]
    assert alice.display_name == "Alice"
    assert set(alice.track_publications) == {"TR_mic", "TR_cam"}
    assert alice.track_publications["TR_cam"].kind == "video"
    found = room.publication_by_track_sid("TR_mic")
    assert found is not None and found[0] is alice

    room.reconciler.update(info(name="Alice B.", tracks=(mic, cam), version=2))
    events = rec.take()
    assert [describe(e) for e in events] == [("ParticipantUpdated", "alice", "name")]
    updated = events[0]
    assert isinstance(updated, ev.ParticipantUpdated)
    assert updated.changed == frozenset({"name"})
    assert updated.participant is alice and alice.name == "Alice B."

    room.reconciler.update(
        info(name="Alice B.", tracks=(track("TR_mic", muted=True), cam), version=3)
    )
    assert [describe(e) for e in rec.take()] == [("TrackMuted", "alice", "TR_mic")]
    assert alice.track_publications["TR_mic"].muted

    room.reconciler.update(info(name="Alice B.", tracks=(mic, cam), version=4))
    assert [describe(e) for e in rec.take()] == [("TrackUnmuted", "alice", "TR_mic")]

    room.reconciler.update(info(name="Alice B.", tracks=(mic,), version=5))
    assert [describe(e) for e in rec.take()] == [("TrackUnpublished", "alice", "TR_cam")]
    assert room.publication_by_track_sid("TR_cam") is None

    # The same state again: nothing to report.
    room.reconciler.update(info(name="Alice B.", tracks=(mic,), version=6))
    assert rec.take() == []

    room.reconciler.update(info(name="Alice B.", tracks=(mic,), state=DISCONNECTED, version=7))
    events = rec.take()
    assert [describe(e) for e in events] == [
        ("TrackUnpublished", "alice", "TR_mic"),
        ("ParticipantDisconnected", "alice", "PA_1"),
    ]
    assert all(getattr(e, "participant", None) is alice for e in events)
    assert room.remote_participants == {}


def test_metadata_change_reports_only_metadata() -> None:
    room = Room()
    room.reconciler.update(info())
    rec = Recorder(room)
    room.reconciler.update(info(metadata='{"hand": true}'))
    assert [describe(e) for e in rec.take()] == [("ParticipantUpdated", "alice", "metadata")]


def test_stale_disconnect_does_not_remove_newer_session() -> None:
    room = Room()
    room.reconciler.update(info(sid="PA_2", tracks=(track("TR_new"),)))
    rec = Recorder(room)
    room.reconciler.update(info(sid="PA_1", state=DISCONNECTED))
    assert rec.take() == []
    assert room.remote_participants["alice"].sid == "PA_2"
    assert set(room.remote_participants["alice"].track_publications) == {"TR_new"}


def test_disconnect_of_unknown_participant_is_ignored() -> None:
    room = Room()
    rec = Recorder(room)
    room.reconciler.update(info(identity="ghost", state=DISCONNECTED))
    assert rec.take() == [] and room.remote_participants == {}


def test_rejoin_with_new_sid_replaces_the_participant() -> None:
    room = Room()
    room.reconciler.update(info(sid="PA_1", tracks=(track("TR_old"),)))
    old = room.remote_participants["alice"]
    rec = Recorder(room)

    room.reconciler.update(info(sid="PA_2", tracks=(track("TR_new"),)))
    events = rec.take()
    assert [describe(e) for e in events] == [
        ("TrackUnpublished", "alice", "TR_old"),
        ("ParticipantDisconnected", "alice", "PA_1"),
        ("ParticipantConnected", "alice", "PA_2"),
        ("TrackPublished", "alice", "TR_new"),
    ]
    new = room.remote_participants["alice"]
    assert new is not old
    assert events[1].participant is old  # type: ignore[attr-defined]
    assert events[2].participant is new  # type: ignore[attr-defined]
    assert set(new.track_publications) == {"TR_new"}
    assert room.publication_by_track_sid("TR_old") is None

    # The old session's late DISCONNECTED no longer matters.
    room.reconciler.update(info(sid="PA_1", state=DISCONNECTED))
    assert rec.take() == []
    assert room.remote_participants["alice"] is new


def test_local_participant_updates_are_not_remote() -> None:
    room = Room()
    room.local_participant.identity = "me"
    room.local_participant.sid = "PA_me"
    rec = Recorder(room)
    room.reconciler.update(info(identity="me", sid="PA_me", name="Me"))
    assert room.remote_participants == {}
    events = rec.take()
    assert [describe(e) for e in events] == [("ParticipantUpdated", "me", "name")]
    assert events[0].participant is room.local_participant  # type: ignore[attr-defined]


async def test_signal_update_message_drives_the_same_model() -> None:
    room = Room()
    rec = Recorder(room)
    await route_signal(
        rtc.SignalResponse(
            update=rtc.ParticipantUpdate(
                participants=[info("bob", "PA_b", name="Bob"), info("carol", "PA_c")]
            )
        ),
        Unexpected(),
        room,
    )
    assert [describe(e) for e in rec.take()] == [
        ("ParticipantConnected", "bob", "PA_b"),
        ("ParticipantConnected", "carol", "PA_c"),
    ]


async def test_updates_right_behind_the_join_are_not_undone(
    start_server: StartServer,
) -> None:
    """The server sends queued updates right behind the JoinResponse: the room must
    apply the join's snapshot first, so they are not undone by it."""
    join = rtc.SignalResponse(
        join=rtc.JoinResponse(
            room=models.Room(sid="RM_1", name="room"),
            participant=models.ParticipantInfo(sid="PA_me", identity="me"),
            other_participants=[info("alice", "PA_a")],
        )
    )
    bob_joined = rtc.SignalResponse(
        update=rtc.ParticipantUpdate(participants=[info("bob", "PA_b", name="Bob")])
    )

    async def handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_bytes(join.SerializeToString())
        await ws.send_bytes(bob_joined.SerializeToString())
        async for _ in ws:
            pass
        return ws

    url = await start_server(handler)
    room = Room(RoomOptions(ice_servers=[]))
    seen: list[str] = []
    room.events.on(ev.ParticipantDisconnected, lambda e: seen.append(e.participant.identity))
    # This server speaks signaling only: the join stays pending on the media
    # connection, while the model already holds the snapshot and the update.
    connecting = asyncio.ensure_future(room.connect(url, "token"))
    try:
        await asyncio.sleep(0.3)
        assert set(room.remote_participants) == {"alice", "bob"}
        assert seen == []
    finally:
        connecting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await connecting


async def test_a_failed_join_removes_whoever_it_announced(start_server: StartServer) -> None:
    """If the join fails after its snapshot, each announced participant leaves with an
    event, so a UI keeps no ghost tile."""
    join = rtc.SignalResponse(
        join=rtc.JoinResponse(
            room=models.Room(sid="RM_1", name="room"),
            participant=models.ParticipantInfo(sid="PA_me", identity="me"),
            other_participants=[info("alice", "PA_a")],
        )
    )

    async def handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_bytes(join.SerializeToString())
        await asyncio.sleep(0.2)
        await ws.close()  # the session dies while the media connection is pending
        return ws

    url = await start_server(handler)
    room = Room(RoomOptions(ice_servers=[]))
    rec = Recorder(room)
    with pytest.raises(errors.MediaConnectionError):
        await room.connect(url, "token")
    kinds = [describe(e) for e in rec.take()]
    assert ("ParticipantConnected", "alice", "PA_a") in kinds
    assert ("ParticipantDisconnected", "alice", "PA_a") in kinds
    assert room.remote_participants == {}
    assert room.state == ev.ConnectionState.DISCONNECTED


# --- ICE candidates -----------------------------------------------------------------------


def test_parse_livekit_candidate() -> None:
    candidate = parse_candidate_init(
        '{"candidate":"candidate:1 1 udp 2130706431 10.77.0.2 7882 typ host",'
        '"sdpMid":"0","sdpMLineIndex":0}'
    )
    assert candidate is not None
    assert candidate.foundation == "1"
    assert candidate.component == 1
    assert candidate.protocol == "udp"
    assert candidate.priority == 2130706431
    assert candidate.ip == "10.77.0.2"
    assert candidate.port == 7882
    assert candidate.type == "host"
    assert candidate.sdpMid == "0"
    assert candidate.sdpMLineIndex == 0


def test_parse_tcp_srflx_candidate_without_prefix() -> None:
    candidate = parse_candidate_init(
        '{"candidate":"2 1 tcp 1694498815 203.0.113.7 7881 typ srflx raddr 10.0.0.1 rport 9 '
        'tcptype passive","sdpMid":"1","sdpMLineIndex":1}'
    )
    assert candidate is not None
    assert (candidate.protocol, candidate.type, candidate.port) == ("tcp", "srflx", 7881)
    assert candidate.relatedAddress == "10.0.0.1"
    assert candidate.tcpType == "passive"
    assert candidate.sdpMLineIndex == 1


@pytest.mark.parametrize(
    "text",
    [
        '{"candidate":""}',
        '{"candidate":"","sdpMid":"0","sdpMLineIndex":0}',
        '{"candidate":null}',
        "{}",
    ],
)
def test_parse_end_of_candidates_is_none(text: str) -> None:
    assert parse_candidate_init(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        '{"candidate":"candidate:1 1 udp notanumber 10.0.0.1 7882 typ host"}',
        '{"candidate":"candidate:1 1 udp 1 10.0.0.1 port typ host"}',
        '{"candidate":"candidate:1 1 udp 1 10.0.0.1 7882 typ host","sdpMLineIndex":"x"}',
        '{"candidate":"candidate:1 1 udp 1 10.0.0.1 7882 typ host","sdpMLineIndex":[]}',
    ],
)
def test_parse_garbage_candidate_raises_a_handled_error(text: str) -> None:
    with pytest.raises((ValueError, KeyError, IndexError, TypeError)):
        parse_candidate_init(text)


@pytest.mark.parametrize("text", ["[]", '"candidate:1 1 udp 1 10.0.0.1 1 typ host"', "null", "7"])
def test_parse_non_object_json_candidate_raises_a_handled_error(text: str) -> None:
    with pytest.raises((ValueError, KeyError, IndexError, TypeError)):
        parse_candidate_init(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"candidate":"candidate:garbage"}',
        '{"candidate":"candidate:1 1 udp 2130706431 10.0.0.1 7882 typ"}',
        '{"candidate": 5}',
    ],
)
def test_parse_truncated_candidate_raises_a_handled_error(text: str) -> None:
    with pytest.raises((ValueError, KeyError, IndexError, TypeError)):
        parse_candidate_init(text)


# --- tracks that arrive before their publication ----------------------------------------


class CountingTrack(MediaStreamTrack):
    """An aiortc track that produces frames forever and counts the reads."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def recv(self) -> av.AudioFrame:
        self.reads += 1
        await asyncio.sleep(0.001)
        frame = av.AudioFrame(format="s16", layout="mono", samples=480)
        frame.sample_rate = 48000
        return frame


async def test_a_track_waiting_for_its_publication_is_drained_then_attached() -> None:
    room = Room()
    rec = Recorder(room)
    early = CountingTrack()
    room.on_remote_track("TR_early", early)
    await asyncio.sleep(0.1)
    # Read while waiting, so aiortc's queue behind it stays empty.
    assert early.reads > 20
    assert room.reconciler.pending_tracks == 1
    room.reconciler.update(info(tracks=(track("TR_early"),)))
    publication = room.remote_participants["alice"].track_publications["TR_early"]
    assert publication.track is not None and publication.track.incoming is early
    assert room.reconciler.pending_tracks == 0
    assert "TrackSubscribed" in [describe(e)[0] for e in rec.take()]
    await room.disconnect()


async def test_a_track_never_published_is_stopped_after_a_while() -> None:
    clock = [0.0]
    room = Room()
    room.reconciler = ParticipantReconciler(room.events, room.local_participant, lambda: clock[0])
    orphan = CountingTrack()
    room.reconciler.track_arrived("TR_orphan", orphan)
    clock[0] += 60
    room.reconciler.update(info())
    assert room.reconciler.pending_tracks == 0
    await asyncio.sleep(0.05)
    assert orphan.readyState == "ended"
    await room.reconciler.close()


# --- sessions that fail while the room rejoins ---------------------------------------------


class FailingEngine:
    """A session that joins, then dies before the room can use it."""

    def __init__(self, dies: bool) -> None:
        self.failed = dies
        self.closed = False

    async def close(self, *, leave: bool) -> None:
        self.closed = True

    def can_resume(self) -> bool:
        return False


async def test_every_session_that_dies_during_a_rejoin_is_closed() -> None:
    started: list[FailingEngine] = []

    class Rejoining(Room):
        async def _start_engine(self) -> Engine:  # type: ignore[override]
            # Three sessions die right after joining; the fourth holds.
            engine = FailingEngine(dies=len(started) < 3)
            started.append(engine)
            return engine  # type: ignore[return-value]

    room = Rejoining(RoomOptions(reconnect_policy=ReconnectPolicy(delays_s=(0.0,))))
    # Before each attempt the room waits for the server's port to accept connections.
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    room._url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    room.state = ev.ConnectionState.CONNECTED
    first = FailingEngine(dies=True)
    room._engine = first  # type: ignore[assignment]
    room.on_engine_failure(first, "signal lost")  # type: ignore[arg-type]
    await until_connected(room)
    assert len(started) == 4
    assert first.closed
    assert [e.closed for e in started] == [True, True, True, False]
    assert room.engine is started[-1]
    await room.disconnect()
    server.close()


async def until_connected(room: Room) -> None:
    for _ in range(200):
        if room.state == ev.ConnectionState.CONNECTED and room.reconnect_count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"room still {room.state}")
