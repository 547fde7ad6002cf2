"""The room: one meeting, its connection state, and the commands a user gives in it.

The room owns one engine (one session) at a time.  When that session fails
(signal socket lost, pings unanswered, a PeerConnection failed) the room closes
it, rejoins on a new engine as its reconnect policy says, republishes the local
tracks and reconciles the participant list, emitting Reconnecting/Reconnected.
It gives up only when the user leaves or the server refuses us for good.

What the room delegates, each to its own module: the remote participants and
tracks (``participant_reconciler``), incoming data (``data_packets``), local
commands (``local_commands``), and when to retry (``reconnect_policy``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiortc import RTCIceServer
from aiortc.mediastreams import MediaStreamTrack
from livekit.protocol import models, rtc

from client.livekit import errors
from client.livekit import events as ev
from client.livekit.data_packets import DataPacketDecoder
from client.livekit.data_streams import MAX_STREAM_BYTES, TextStreamAssembler, TopicListener
from client.livekit.engine import Engine, EngineOptions
from client.livekit.local_commands import LocalParticipantCommands
from client.livekit.network_access import NetworkAccess
from client.livekit.participant import (
    LocalParticipant,
    LocalTrackPublication,
    Participant,
    RemoteParticipant,
    RemoteTrackPublication,
    TrackSource,
)
from client.livekit.participant_reconciler import ParticipantReconciler
from client.livekit.reachability import endpoint_of, first_hop, wait_reachable
from client.livekit.reconnect_policy import ReconnectPolicy
from client.livekit.signal_client import leave_error
from client.livekit.tasks import spawn

log = logging.getLogger(__name__)

#: After a rejoin, how long "Reconnected" waits for the others' media to flow again.
SUBSCRIBER_MEDIA_TIMEOUT_S = 5.0
#: How long leaving waits for sessions lost earlier to finish closing.
RETIRE_TIMEOUT_S = 5.0


@dataclass
class RoomOptions:
    auto_subscribe: bool = True
    #: None: use the server's ICE servers; a list (even empty) replaces them.
    ice_servers: list[RTCIceServer] | None = None
    video_codec: str = "VP8"
    reconnect: bool = True
    reconnect_policy: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    #: After an outage, carry the session on when the server still holds it (the
    #: others see no leave and rejoin); False: always rejoin as a new session.
    resume: bool = True
    #: PEM file of certificate authorities trusted on top of the system store (for the
    #: signaling connection and TURN over TLS).
    extra_ca_file: Path | None = None
    #: HTTP proxy for wss:// ("http://[user:password@]host:port"); None: from the
    #: environment (https_proxy, no_proxy); "": connect directly.
    proxy: str | None = None
    #: Trust for TURN over TLS; None: the system store plus ``extra_ca_file``.
    relay_tls: ssl.SSLContext | None = None


class Room:
    def __init__(self, options: RoomOptions | None = None) -> None:
        self.options = options or RoomOptions()
        self.events = ev.EventEmitter()
        self.state = ev.ConnectionState.DISCONNECTED
        self.name = ""
        self.sid = ""
        self.metadata = ""
        self.server_version = ""
        self.local_participant = LocalParticipant(sid="", identity="")
        self.reconciler = ParticipantReconciler(self.events, self.local_participant)
        self.text_streams = TextStreamAssembler()
        self._data = DataPacketDecoder(self.events, self.reconciler.remote.get, self.text_streams)
        self._commands = LocalParticipantCommands(
            self.events, self.local_participant, self, self.options.video_codec
        )
        self._engine: Engine | None = None
        self._url = ""
        self._token = ""
        self._reconnect_task: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._leaving = False
        # Set whenever the room is CONNECTED or DISCONNECTED (not mid-rejoin).
        self._settled = asyncio.Event()
        self.reconnect_count = 0
        #: Reconnections that kept the session (the others saw no leave and rejoin).
        self.resume_count = 0
        #: Whether this call's network drops UDP (None: not probed yet).
        self._udp_blocked: bool | None = None
        #: The next session goes through the TURN relay (the last one's media failed).
        self._relay_next = False
        #: Engines started, for leak checks: each must be closed when replaced.
        self.engines_started = 0

    # --- queries ---------------------------------------------------------------

    @property
    def remote_participants(self) -> dict[str, RemoteParticipant]:
        return self.reconciler.remote

    @property
    def active_speakers(self) -> tuple[Participant, ...]:
        return self.reconciler.active_speakers

    def participant_by_sid(self, sid: str) -> RemoteParticipant | None:
        return self.reconciler.by_sid(sid)

    def publication_by_track_sid(
        self, track_sid: str
    ) -> tuple[RemoteParticipant, RemoteTrackPublication] | None:
        return self.reconciler.publication(track_sid)

    @property
    def engine(self) -> Engine | None:
        return self._engine

    # --- connection ------------------------------------------------------------

    def _set_state(self, state: ev.ConnectionState) -> None:
        if state in (ev.ConnectionState.CONNECTED, ev.ConnectionState.DISCONNECTED):
            self._settled.set()
        else:
            self._settled.clear()
        if state != self.state:
            self.state = state
            self.events.emit(ev.ConnectionStateChanged(state))

    @property
    def token(self) -> str:
        """The access token in use: the one joined with, or the server's refresh."""
        return self._token

    async def connect(self, url: str, token: str) -> None:
        """Join the room; raises a ConnectError (typed) if that is impossible."""
        if self.state != ev.ConnectionState.DISCONNECTED:
            raise RuntimeError("already connected")
        self._url, self._token, self._leaving = url, token, False
        self._set_state(ev.ConnectionState.CONNECTING)
        self._udp_blocked, self._relay_next = None, False
        try:
            try:
                engine = await self._start_engine()
            except errors.MediaConnectionError:
                if not self._relay_next:
                    raise
                log.info("media did not connect over UDP: trying the TURN relay")
                engine = await self._start_engine()
        except BaseException:
            # Whoever the join announced is gone again, with events (no ghost tiles).
            self.reconciler.drop_all()
            self._set_state(ev.ConnectionState.DISCONNECTED)
            raise
        self._engine = engine
        self._set_state(ev.ConnectionState.CONNECTED)
        self.events.emit(ev.Connected(self.name, self.local_participant.identity))

    async def _start_engine(self) -> Engine:
        engine = Engine(
            self,
            EngineOptions(
                auto_subscribe=self.options.auto_subscribe,
                ice_servers=self.options.ice_servers,
                video_codec=self.options.video_codec,
                udp_blocked=True if self._relay_next else self._udp_blocked,
                relay_tls=self.options.relay_tls,
                extra_ca_file=self.options.extra_ca_file,
                proxy=self.options.proxy,
            ),
        )
        self.engines_started += 1
        try:
            await engine.connect(self._url, self._token)
        except errors.MediaConnectionError:
            await engine.close(leave=False)
            # UDP answered but media did not get through (a firewall that lets the
            # TURN port through but not the SFU's, or just a bad moment): the next
            # attempt goes through the relay, the one after probes again.
            self._relay_next = engine.udp_blocked is False
            raise
        except BaseException:
            await engine.close(leave=False)
            self._relay_next = False
            raise
        forced, self._relay_next = self._relay_next, False
        # A probe's verdict is kept for the rejoins of this call (a blocked network
        # stays blocked, and probing again would delay each rejoin); a relay used
        # because one attempt failed is not a verdict.
        self._udp_blocked = None if forced else engine.udp_blocked
        return engine

    def require_engine(self) -> Engine:
        if self._engine is None or self.state != ev.ConnectionState.CONNECTED:
            raise errors.NotConnectedError("not connected to a room")
        return self._engine

    async def wait_connected(self) -> Engine:
        await self._settled.wait()
        return self.require_engine()

    async def disconnect(self) -> None:
        """Leave the room (the server removes us at once)."""
        self._leaving = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reconnect_task
            self._reconnect_task = None
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.close(leave=True)
        if self._retiring:
            # Let dead sessions finish closing (their PeerConnections hold memory).
            await asyncio.wait(set(self._retiring), timeout=RETIRE_TIMEOUT_S)
        self.reconciler.drop_all()
        self._commands.stop_all()
        if self.state != ev.ConnectionState.DISCONNECTED:
            self._set_state(ev.ConnectionState.DISCONNECTED)
            self.events.emit(ev.Disconnected("client initiated"))
        await self.reconciler.close()

    # --- reconnection ------------------------------------------------------------

    def on_engine_failure(self, engine: Engine, reason: str) -> None:
        if engine is not self._engine or self._leaving:
            return
        if not self.options.reconnect:
            self._reconnect_task = spawn(self._give_up(reason, None), "room-give-up")
            return
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = spawn(self._reconnect(reason), "room-reconnect")

    async def _give_up(self, reason: str, error: errors.ConnectError | None) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.close(leave=False)
        self.reconciler.drop_all()
        self._set_state(ev.ConnectionState.DISCONNECTED)
        self.events.emit(ev.Disconnected(reason, error))

    def _retire(self, engine: Engine) -> None:
        """Close a dead session in the background: a dead path can make its teardown
        slow (a socket close that waits for an answer), and the rejoin must not wait
        for it.  A closing engine is silent at once."""
        retiring = spawn(engine.close(leave=False), "retire-engine")
        self._retiring.add(retiring)
        retiring.add_done_callback(self._retiring.discard)

    def _first_hop(self) -> tuple[str, int]:
        try:
            access = NetworkAccess.for_url(
                self._url, extra_ca_file=self.options.extra_ca_file, proxy=self.options.proxy
            )
            return first_hop(self._url, access.proxy)
        except errors.ConnectError:
            return endpoint_of(self._url)

    async def _resume(self, engine: Engine, reason: str) -> bool:
        """Carry the lost session on when the server still holds it: the others see
        the same participant (no leave and rejoin), the subscriptions and tracks
        stay.  False when that is impossible; the caller then rejoins."""
        self.events.emit(ev.Reconnecting(reason, 1))
        await wait_reachable(*self._first_hop())
        if self._leaving or not engine.can_resume():
            return False
        try:
            await engine.resume(self._url, self._token)
        except errors.ConnectError as exc:
            log.info("the session cannot be resumed (%s): rejoining", exc)
            return False
        if not await engine.wait_media_flowing(SUBSCRIBER_MEDIA_TIMEOUT_S):
            log.info("the session resumed but its media did not: rejoining")
            return False
        return True

    async def _reconnect(self, reason: str) -> None:
        log.info("connection lost (%s): reconnecting", reason)
        self._set_state(ev.ConnectionState.RECONNECTING)
        old, self._engine = self._engine, None
        resumed = False
        try:
            resumed = (
                old is not None
                and self.options.resume
                and old.can_resume()
                and await self._resume(old, reason)
            )
        finally:
            # Also when cancelled (the user left meanwhile): the old session must close.
            if old is not None and (not resumed or self._leaving):
                self._retire(old)
        if resumed and not self._leaving:
            assert old is not None
            self._engine = old
            try:
                await self._commands.publish_missing(old)
            except Exception as exc:
                log.warning("publishing after the resume failed: %s", exc)
            self.reconnect_count += 1
            self.resume_count += 1
            self._set_state(ev.ConnectionState.CONNECTED)
            self.events.emit(ev.Reconnected(1))
            return
        # Media from the old session is gone: the tracks will come back anew.
        self.reconciler.drop_all_tracks()
        policy = self.options.reconnect_policy
        host, port = self._first_hop()
        attempt = 0
        while not self._leaving:
            attempt += 1
            self.events.emit(ev.Reconnecting(reason, attempt))
            # Rejoin the moment the path to the server works again; back off only
            # when the server is reachable but the rejoin itself failed.
            waited_from = time.monotonic()
            await wait_reachable(host, port)
            if attempt > 1 and time.monotonic() - waited_from < policy.delay_s(attempt):
                await asyncio.sleep(policy.delay_s(attempt))
            try:
                engine = await self._start_engine()
            except Exception as exc:
                if policy.gives_up_on(exc):
                    log.warning("rejoin refused: %s", exc)
                    assert isinstance(exc, errors.ConnectError)
                    await self._give_up(str(exc), exc)
                    return
                log.info("rejoin attempt %d failed: %s", attempt, exc)
                continue
            self._engine = engine
            try:
                await self._commands.republish(engine)
            except Exception as exc:
                log.warning("republishing after rejoin failed: %s", exc)
            if engine.failed or self._engine is not engine:
                # This session died too: close it before the next attempt, or its
                # PeerConnections, socket and tasks would live on.
                if self._engine is engine:
                    self._engine = None
                await engine.close(leave=False)
                continue
            # "Reconnected" means the call works again: media both ways, not only the
            # signal.  A server that sends nothing (no permission, say) must not hold
            # the room back for ever.
            if self._expects_remote_media() and not await engine.wait_media_flowing(
                SUBSCRIBER_MEDIA_TIMEOUT_S
            ):
                log.info("rejoined; remote media has not resumed yet")
            self.reconnect_count += 1
            self._set_state(ev.ConnectionState.CONNECTED)
            self.events.emit(ev.Reconnected(attempt))
            return

    def _expects_remote_media(self) -> bool:
        """Whether the server will send us media: someone publishes and we subscribe."""
        return self.options.auto_subscribe and any(
            participant.track_publications for participant in self.remote_participants.values()
        )

    # --- engine listener: session and media --------------------------------------

    def on_joined(self, engine: Engine, join: rtc.JoinResponse) -> None:
        self.name = join.room.name
        self.sid = join.room.sid
        self.server_version = join.server_version
        if join.room.metadata != self.metadata:
            self.metadata = join.room.metadata
            if self.state != ev.ConnectionState.CONNECTING:
                self.events.emit(ev.RoomMetadataChanged(self.metadata))
        self.reconciler.apply_join(join)

    def on_request_refused(self, request: str, reason: str, message: str) -> None:
        self.events.emit(ev.RequestRefused(request, reason, message))

    def on_remote_track(self, track_sid: str, track: MediaStreamTrack) -> None:
        self.reconciler.track_arrived(track_sid, track)

    def on_data_packet(self, packet: models.DataPacket) -> None:
        self._data.handle(packet)

    # --- engine listener: signaling (typed, see signal_messages) -------------------

    def on_participant_update(self, participants: Sequence[models.ParticipantInfo]) -> None:
        for info in participants:
            self.reconciler.update(info)

    def on_speakers_changed(self, speakers: Sequence[models.SpeakerInfo]) -> None:
        self.reconciler.update_speakers(speakers)

    def on_connection_quality(self, updates: Sequence[rtc.ConnectionQualityInfo]) -> None:
        self.reconciler.update_quality(updates)

    def on_room_update(self, room: models.Room) -> None:
        if room.metadata != self.metadata:
            self.metadata = room.metadata
            self.events.emit(ev.RoomMetadataChanged(self.metadata))

    def on_refresh_token(self, token: str) -> None:
        self._token = token

    def on_track_unpublished(self, track_sid: str) -> None:
        self._commands.unpublished_by_server(track_sid)

    async def on_mute(self, track_sid: str, muted: bool) -> None:
        publication = self.local_participant.track_publications.get(track_sid)
        if publication is not None:
            await self.set_muted(publication, muted)

    async def on_leave(self, leave: rtc.LeaveRequest) -> None:
        if leave.action in (rtc.LeaveRequest.Action.RESUME, rtc.LeaveRequest.Action.RECONNECT):
            if self._engine is not None:
                self.on_engine_failure(self._engine, "server asked to reconnect")
            return
        error = leave_error(leave)
        await self._give_up(str(error), error)

    def on_subscribed_quality(self, update: rtc.SubscribedQualityUpdate) -> None:
        self._commands.subscribed_qualities(update)

    def on_room_moved(self, moved: rtc.RoomMovedResponse) -> None:
        if moved.token:
            self._token = moved.token
        if self._engine is not None:
            self.on_engine_failure(self._engine, "room moved")

    # --- commands ----------------------------------------------------------------

    async def publish_track(
        self,
        track: MediaStreamTrack,
        source: TrackSource,
        *,
        name: str = "",
        width: int = 0,
        height: int = 0,
    ) -> LocalTrackPublication:
        """Publish any aiortc track; it stays published across reconnections."""
        return await self._commands.publish_track(
            track, source, name=name, width=width, height=height
        )

    async def unpublish_track(self, publication: LocalTrackPublication) -> None:
        await self._commands.unpublish_track(publication)

    async def set_muted(self, publication: LocalTrackPublication, muted: bool) -> None:
        await self._commands.set_muted(publication, muted, self._engine)

    async def set_track_settings(
        self, track_sid: str, *, enabled: bool, width: int = 0, height: int = 0, fps: int = 0
    ) -> None:
        """Enable or disable a remote video track, or say at what size it is shown."""
        await self._commands.set_track_settings(
            track_sid, enabled=enabled, width=width, height=height, fps=fps
        )

    async def set_own_attributes(self, attributes: dict[str, str]) -> None:
        await self._commands.set_own_attributes(attributes)

    def listen_text_streams(
        self, topic: str, *, progress: bool = False, max_bytes: int = MAX_STREAM_BYTES
    ) -> Callable[[], None]:
        """Accept text streams on ``topic`` (others are dropped at their header).

        With ``progress``, a TextStreamUpdated is emitted for every chunk (keep
        ``max_bytes`` small then: each update carries the whole text so far);
        otherwise only when the stream ends.  Returns a function that stops it.
        """
        listener = TopicListener(progress=progress, max_bytes=max_bytes)
        return self.text_streams.listen(topic, listener)

    async def publish_data(
        self,
        payload: bytes,
        *,
        topic: str = "",
        reliable: bool = True,
        destination_identities: tuple[str, ...] = (),
    ) -> None:
        await self._commands.publish_data(
            payload, topic=topic, reliable=reliable, destination_identities=destination_identities
        )

    async def send_text(
        self,
        text: str,
        *,
        topic: str,
        attributes: dict[str, str] | None = None,
        stream_id: str | None = None,
        destination_identities: tuple[str, ...] = (),
    ) -> str:
        """Send a text stream (any length); returns its stream id."""
        return await self._commands.send_text(
            text,
            topic=topic,
            attributes=attributes,
            stream_id=stream_id,
            destination_identities=destination_identities,
        )

    async def send_packet(self, packet: models.DataPacket, *, reliable: bool = True) -> None:
        """Send a prepared DataPacket (transcriptions, chat messages)."""
        await self._commands.send_packet(packet, reliable=reliable)

    async def send_transcription(
        self,
        *,
        participant_identity: str,
        track_sid: str,
        segment_id: str,
        text: str,
        final: bool,
        language: str = "",
    ) -> None:
        """Publish a caption segment in both forms (legacy packet and lk.transcription)."""
        await self._commands.send_transcription(
            participant_identity=participant_identity,
            track_sid=track_sid,
            segment_id=segment_id,
            text=text,
            final=final,
            language=language,
        )
