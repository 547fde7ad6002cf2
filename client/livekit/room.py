"""The room: the model of a meeting and the commands a user can give in it.

The room owns one engine at a time.  When the engine fails (signal socket lost,
pings unanswered, a PeerConnection failed) the room rejoins with backoff on a new
engine, republishes its tracks and reconciles the participant list, emitting
Reconnecting/Reconnected; it gives up only when the user leaves or the server
refuses the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCIceServer
from aiortc.mediastreams import MediaStreamTrack
from livekit.protocol import models, rtc

from client.livekit import errors
from client.livekit import events as ev
from client.livekit.data_streams import (
    MAX_STREAM_BYTES,
    TextStreamAssembler,
    TopicListener,
    text_stream_packets,
)
from client.livekit.engine import Engine, EngineOptions
from client.livekit.participant import (
    LocalParticipant,
    LocalTrackPublication,
    Participant,
    RemoteParticipant,
    RemoteTrackPublication,
    TrackSource,
)
from client.livekit.remote_track import RemoteTrack
from client.livekit.signal_client import leave_error

log = logging.getLogger(__name__)

RECONNECT_DELAYS_S = (0.0, 0.3, 1.0, 2.0, 3.0, 5.0)
PENDING_TRACK_TIMEOUT_S = 10.0

_QUALITY = {
    models.ConnectionQuality.LOST: ev.ConnectionQuality.LOST,
    models.ConnectionQuality.POOR: ev.ConnectionQuality.POOR,
    models.ConnectionQuality.GOOD: ev.ConnectionQuality.GOOD,
    models.ConnectionQuality.EXCELLENT: ev.ConnectionQuality.EXCELLENT,
}


@dataclass
class RoomOptions:
    auto_subscribe: bool = True
    #: None: use the server's ICE servers; a list (even empty) replaces them.
    ice_servers: list[RTCIceServer] | None = None
    video_codec: str = "VP8"
    reconnect: bool = True


@dataclass
class _PendingTrack:
    track: MediaStreamTrack
    since: float = field(default_factory=time.monotonic)


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
        self.remote_participants: dict[str, RemoteParticipant] = {}
        self.active_speakers: tuple[Participant, ...] = ()
        self._engine: Engine | None = None
        self._url = ""
        self._token = ""
        self._assembler = TextStreamAssembler()
        self._pending_tracks: dict[str, _PendingTrack] = {}
        self._reconnect_task: asyncio.Task[None] | None = None
        self._leaving = False
        self.reconnect_count = 0
        self._background: set[asyncio.Task[None]] = set()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a side task, keeping a reference so it is not collected mid-way."""
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- queries ---------------------------------------------------------------

    def participant_by_sid(self, sid: str) -> RemoteParticipant | None:
        for participant in self.remote_participants.values():
            if participant.sid == sid:
                return participant
        return None

    def publication_by_track_sid(
        self, track_sid: str
    ) -> tuple[RemoteParticipant, RemoteTrackPublication] | None:
        for participant in self.remote_participants.values():
            publication = participant.track_publications.get(track_sid)
            if publication is not None:
                return participant, publication
        return None

    @property
    def engine(self) -> Engine | None:
        return self._engine

    # --- connection ------------------------------------------------------------

    def _set_state(self, state: ev.ConnectionState) -> None:
        if state != self.state:
            self.state = state
            self.events.emit(ev.ConnectionStateChanged(state))

    async def connect(self, url: str, token: str) -> None:
        """Join the room; raises a ConnectError (typed) if that is impossible."""
        if self.state != ev.ConnectionState.DISCONNECTED:
            raise RuntimeError("already connected")
        self._url, self._token, self._leaving = url, token, False
        self._set_state(ev.ConnectionState.CONNECTING)
        try:
            engine = await self._start_engine()
        except BaseException:
            await self._drop_all_remote(emit=False)
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
            ),
        )
        try:
            await engine.connect(self._url, self._token)
        except BaseException:
            await engine.close(leave=False)
            raise
        return engine

    def _apply_join(self, join: rtc.JoinResponse, *, initial: bool) -> None:
        self.name = join.room.name
        self.sid = join.room.sid
        self.server_version = join.server_version
        if join.room.metadata != self.metadata:
            self.metadata = join.room.metadata
            if not initial:
                self.events.emit(ev.RoomMetadataChanged(self.metadata))
        self.local_participant.identity = join.participant.identity
        self.local_participant.apply_info(join.participant)
        present = {info.identity for info in join.other_participants}
        for identity in list(self.remote_participants):
            if identity not in present:
                self._remove_participant(identity)
        for info in join.other_participants:
            self._update_participant(info)

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
        await self._drop_all_remote(emit=True)
        for publication in self.local_participant.track_publications.values():
            publication.stop_sending()
        if self.state != ev.ConnectionState.DISCONNECTED:
            self._set_state(ev.ConnectionState.DISCONNECTED)
            self.events.emit(ev.Disconnected("client initiated"))

    # --- reconnection ------------------------------------------------------------

    def on_engine_failure(self, engine: Engine, reason: str) -> None:
        if engine is not self._engine or self._leaving:
            return
        if not self.options.reconnect:
            self._spawn(self._give_up(reason, None))
            return
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.create_task(self._reconnect(reason))

    async def _give_up(self, reason: str, error: errors.ConnectError | None) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.close(leave=False)
        await self._drop_all_remote(emit=True)
        self._set_state(ev.ConnectionState.DISCONNECTED)
        self.events.emit(ev.Disconnected(reason, error))

    async def _reconnect(self, reason: str) -> None:
        log.info("connection lost (%s): rejoining", reason)
        self._set_state(ev.ConnectionState.RECONNECTING)
        old, self._engine = self._engine, None
        if old is not None:
            await old.close(leave=False)
        # Media from the old session is gone: the tracks will come back anew.
        await self._drop_all_tracks()
        attempt = 0
        while not self._leaving:
            delay = RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S) - 1)]
            attempt += 1
            self.events.emit(ev.Reconnecting(reason, attempt))
            await asyncio.sleep(delay)
            try:
                engine = await self._start_engine()
            except errors.ConnectError as exc:
                if exc.permanent:
                    log.warning("rejoin refused: %s", exc)
                    await self._give_up(str(exc), exc)
                    return
                log.info("rejoin attempt %d failed: %s", attempt, exc)
                continue
            except Exception as exc:
                log.info("rejoin attempt %d failed: %s", attempt, exc)
                continue
            self._engine = engine
            try:
                await self._republish(engine)
            except Exception as exc:
                log.warning("republishing after rejoin failed: %s", exc)
                if engine is self._engine:
                    self._engine = None
                    await engine.close(leave=False)
                continue
            if engine.failed:
                continue
            self.reconnect_count += 1
            self._set_state(ev.ConnectionState.CONNECTED)
            self.events.emit(ev.Reconnected(attempt))
            return

    async def _republish(self, engine: Engine) -> None:
        for publication in list(self.local_participant.track_publications.values()):
            await self._publish_on(engine, publication)

    # --- engine listener -------------------------------------------------------

    def on_joined(self, engine: Engine, join: rtc.JoinResponse) -> None:
        self._apply_join(join, initial=self.state == ev.ConnectionState.CONNECTING)

    async def on_signal(self, response: rtc.SignalResponse) -> None:
        kind = response.WhichOneof("message")
        if kind == "update":
            for info in response.update.participants:
                self._update_participant(info)
        elif kind == "speakers_changed":
            self._update_speakers(response.speakers_changed.speakers)
        elif kind == "connection_quality":
            self._update_quality(response.connection_quality.updates)
        elif kind == "room_update":
            if response.room_update.room.metadata != self.metadata:
                self.metadata = response.room_update.room.metadata
                self.events.emit(ev.RoomMetadataChanged(self.metadata))
        elif kind == "refresh_token":
            self._token = response.refresh_token
        elif kind == "track_unpublished":
            self._local_track_unpublished(response.track_unpublished.track_sid)
        elif kind == "mute":
            await self._server_mute(response.mute.sid, response.mute.muted)
        elif kind == "leave":
            await self._handle_leave(response.leave)
        elif kind == "room_moved":
            moved = response.room_moved
            if moved.token:
                self._token = moved.token
            if self._engine is not None:
                self.on_engine_failure(self._engine, "room moved")
        else:
            log.debug("ignoring signaling message %s", kind)

    async def _handle_leave(self, leave: rtc.LeaveRequest) -> None:
        if leave.action in (rtc.LeaveRequest.Action.RESUME, rtc.LeaveRequest.Action.RECONNECT):
            if self._engine is not None:
                self.on_engine_failure(self._engine, "server asked to reconnect")
            return
        error = leave_error(leave)
        await self._give_up(str(error), error)

    def on_remote_track(self, track_sid: str, track: MediaStreamTrack) -> None:
        found = self.publication_by_track_sid(track_sid)
        if found is None:
            # The track can arrive before the participant update that announces it.
            self._pending_tracks[track_sid] = _PendingTrack(track)
            return
        self._attach_track(found[0], found[1], track)

    def _attach_track(
        self,
        participant: RemoteParticipant,
        publication: RemoteTrackPublication,
        track: MediaStreamTrack,
    ) -> None:
        if publication.track is not None:
            old = publication.track
            publication.track = None
            self._spawn(old.stop())
            self.events.emit(ev.TrackUnsubscribed(participant, publication, old))
        remote = RemoteTrack(publication.sid, publication.kind, track)
        publication.track = remote
        self._spawn(self._watch_track_end(participant, publication, remote))
        self.events.emit(ev.TrackSubscribed(participant, publication, remote))

    async def _watch_track_end(
        self,
        participant: RemoteParticipant,
        publication: RemoteTrackPublication,
        remote: RemoteTrack,
    ) -> None:
        await remote.ended.wait()
        if publication.track is remote:
            publication.track = None
            self.events.emit(ev.TrackUnsubscribed(participant, publication, remote))

    def on_data_packet(self, packet: models.DataPacket) -> None:
        sender = packet.participant_identity
        participant = self.remote_participants.get(sender)
        kind = packet.WhichOneof("value")
        if kind == "user":
            user = packet.user
            self.events.emit(
                ev.DataReceived(
                    payload=bytes(user.payload),
                    topic=user.topic,
                    participant=participant,
                    reliable=packet.kind == models.DataPacket.RELIABLE,
                    sender_identity=sender,
                )
            )
        elif kind == "transcription":
            transcription = packet.transcription
            self.events.emit(
                ev.TranscriptionReceived(
                    participant_identity=transcription.transcribed_participant_identity,
                    track_sid=transcription.track_id,
                    segments=tuple(
                        ev.TranscriptionSegmentData(
                            id=s.id,
                            text=s.text,
                            final=s.final,
                            start_time=s.start_time,
                            end_time=s.end_time,
                            language=s.language,
                        )
                        for s in transcription.segments
                    ),
                    sender_identity=sender,
                )
            )
        elif kind == "chat_message":
            chat = packet.chat_message
            self.events.emit(
                ev.ChatPacketReceived(
                    id=chat.id,
                    timestamp_ms=chat.timestamp,
                    message=chat.message,
                    participant=participant,
                    sender_identity=sender,
                    deleted=chat.deleted,
                )
            )
        elif kind in ("stream_header", "stream_chunk", "stream_trailer"):
            progress = self._assembler.handle(packet)
            if progress is None:
                return
            stream = progress.stream
            self.events.emit(
                ev.TextStreamUpdated(
                    stream_id=stream.stream_id,
                    topic=stream.topic,
                    text=progress.text,
                    attributes=dict(stream.attributes),
                    sender_identity=stream.sender_identity,
                    participant=self.remote_participants.get(stream.sender_identity),
                    done=progress.done,
                    timestamp_ms=stream.timestamp_ms,
                    interrupted=progress.interrupted,
                )
            )
        else:
            log.debug("ignoring data packet of kind %s", kind)

    # --- participants ----------------------------------------------------------

    def _update_participant(self, info: models.ParticipantInfo) -> None:
        if info.identity == self.local_participant.identity:
            if info.sid == self.local_participant.sid or not self.local_participant.sid:
                changed = self.local_participant.apply_info(info)
                if changed:
                    self.events.emit(ev.ParticipantUpdated(self.local_participant, changed))
            return
        existing = self.remote_participants.get(info.identity)
        if info.state == models.ParticipantInfo.DISCONNECTED:
            if existing is not None and existing.sid == info.sid:
                self._remove_participant(info.identity)
            return
        if existing is not None and existing.sid != info.sid:
            # Same person, new session: the old one is gone.
            self._remove_participant(info.identity)
            existing = None
        if existing is None:
            participant = RemoteParticipant(sid=info.sid, identity=info.identity)
            participant.apply_info(info)
            self.remote_participants[info.identity] = participant
            self.events.emit(ev.ParticipantConnected(participant))
            self._sync_tracks(participant, info)
            return
        changed = existing.apply_info(info)
        if changed:
            self.events.emit(ev.ParticipantUpdated(existing, changed))
        self._sync_tracks(existing, info)

    def _sync_tracks(self, participant: RemoteParticipant, info: models.ParticipantInfo) -> None:
        current = {track.sid: track for track in info.tracks}
        for sid in list(participant.track_publications):
            if sid not in current:
                publication = participant.track_publications.pop(sid)
                self._unsubscribe(participant, publication)
                self.events.emit(ev.TrackUnpublished(participant, publication))
        for sid, track_info in current.items():
            existing = participant.track_publications.get(sid)
            if existing is None:
                publication = RemoteTrackPublication.from_info(track_info)
                participant.track_publications[sid] = publication
                self.events.emit(ev.TrackPublished(participant, publication))
                pending = self._pending_tracks.pop(sid, None)
                if pending is not None:
                    self._attach_track(participant, publication, pending.track)
                continue
            was_muted = existing.muted
            existing.update_from(track_info)
            if existing.muted != was_muted:
                event = ev.TrackMuted if existing.muted else ev.TrackUnmuted
                self.events.emit(event(participant, sid))
        self._expire_pending_tracks()

    def _expire_pending_tracks(self) -> None:
        cutoff = time.monotonic() - PENDING_TRACK_TIMEOUT_S
        for sid in [s for s, p in self._pending_tracks.items() if p.since < cutoff]:
            log.warning("track %s never matched a publication; dropped", sid)
            self._pending_tracks.pop(sid).track.stop()

    def _unsubscribe(
        self, participant: RemoteParticipant, publication: RemoteTrackPublication
    ) -> None:
        remote = publication.track
        if remote is None:
            return
        publication.track = None
        self._spawn(remote.stop())
        self.events.emit(ev.TrackUnsubscribed(participant, publication, remote))

    def _remove_participant(self, identity: str) -> None:
        participant = self.remote_participants.pop(identity, None)
        if participant is None:
            return
        for publication in list(participant.track_publications.values()):
            self._unsubscribe(participant, publication)
            self.events.emit(ev.TrackUnpublished(participant, publication))
        participant.track_publications.clear()
        if participant in self.active_speakers:
            self.active_speakers = tuple(p for p in self.active_speakers if p is not participant)
            self.events.emit(ev.ActiveSpeakersChanged(self.active_speakers))
        self.events.emit(ev.ParticipantDisconnected(participant))

    async def _drop_all_tracks(self) -> None:
        for participant in self.remote_participants.values():
            for publication in participant.track_publications.values():
                self._unsubscribe(participant, publication)
        for pending in self._pending_tracks.values():
            pending.track.stop()
        self._pending_tracks.clear()

    async def _drop_all_remote(self, *, emit: bool) -> None:
        await self._drop_all_tracks()
        for identity in list(self.remote_participants):
            if emit:
                self._remove_participant(identity)
            else:
                self.remote_participants.pop(identity)

    def _update_speakers(self, speakers: Sequence[models.SpeakerInfo]) -> None:
        by_sid: dict[str, Participant] = {}
        for member in (self.local_participant, *self.remote_participants.values()):
            by_sid[member.sid] = member
        for info in speakers:
            speaker = by_sid.get(info.sid)
            if speaker is not None:
                speaker.is_speaking = info.active
                speaker.audio_level = info.level
        active = tuple(
            sorted(
                (p for p in by_sid.values() if p.is_speaking),
                key=lambda p: p.audio_level,
                reverse=True,
            )
        )
        if active != self.active_speakers:
            self.active_speakers = active
            self.events.emit(ev.ActiveSpeakersChanged(active))

    def _update_quality(self, updates: Sequence[rtc.ConnectionQualityInfo]) -> None:
        for update in updates:
            participant = (
                self.local_participant
                if update.participant_sid == self.local_participant.sid
                else self.participant_by_sid(update.participant_sid)
            )
            if participant is None:
                continue
            quality = _QUALITY.get(update.quality, ev.ConnectionQuality.UNKNOWN)
            if quality != participant.connection_quality:
                participant.connection_quality = quality
                self.events.emit(ev.ConnectionQualityChanged(participant, quality))

    # --- publishing ------------------------------------------------------------

    def _require_engine(self) -> Engine:
        if self._engine is None or self.state != ev.ConnectionState.CONNECTED:
            raise errors.NotConnectedError("not connected to a room")
        return self._engine

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
        engine = self._require_engine()
        if track.kind != source.kind:
            raise ValueError(f"a {track.kind} track cannot be published as {source.value}")
        publication = LocalTrackPublication(
            track=track,
            source=source,
            name=name or source.value,
            width=width,
            height=height,
        )
        await self._publish_on(engine, publication)
        self.events.emit(ev.LocalTrackPublished(publication))
        return publication

    async def _publish_on(self, engine: Engine, publication: LocalTrackPublication) -> None:
        sending = publication.new_sending_track()
        request = rtc.AddTrackRequest(
            # LiveKit matches this client id against the msid track id in our SDP.
            cid=str(sending.id),
            name=publication.name,
            type=models.TrackType.VIDEO if publication.kind == "video" else models.TrackType.AUDIO,
            source=publication.source.to_proto(),  # type: ignore[arg-type]
            width=publication.width,
            height=publication.height,
            muted=publication.muted,
        )
        if publication.kind == "video":
            # One layer, described as the official SDKs describe a non-simulcast
            # track, so the server's forwarder knows which layer it will get.
            request.layers.append(
                models.VideoLayer(
                    quality=models.VideoQuality.HIGH,
                    width=publication.width,
                    height=publication.height,
                )
            )
            request.simulcast_codecs.append(
                rtc.SimulcastCodec(codec=self.options.video_codec.lower(), cid=request.cid)
            )
        old_sid = publication.sid
        info, transceiver = await engine.publish(sending, request)
        if old_sid:
            self.local_participant.track_publications.pop(old_sid, None)
        publication.sid = info.sid
        publication.transceiver = transceiver
        self.local_participant.track_publications[info.sid] = publication

    async def unpublish_track(self, publication: LocalTrackPublication) -> None:
        engine = self._require_engine()
        self.local_participant.track_publications.pop(publication.sid, None)
        publication.stop_sending()
        if publication.transceiver is not None:
            await engine.unpublish(publication.transceiver)
        self.events.emit(ev.LocalTrackUnpublished(publication))

    def _local_track_unpublished(self, sid: str) -> None:
        publication = self.local_participant.track_publications.pop(sid, None)
        if publication is not None:
            publication.stop_sending()
            self.events.emit(ev.LocalTrackUnpublished(publication))

    async def set_muted(self, publication: LocalTrackPublication, muted: bool) -> None:
        if publication.sending is not None:
            publication.sending.muted = muted
        if publication.muted == muted:
            return
        publication.muted = muted
        event = ev.TrackMuted if muted else ev.TrackUnmuted
        self.events.emit(event(self.local_participant, publication.sid))
        engine = self._engine
        if engine is not None and publication.sid:
            await engine.send_request(
                rtc.SignalRequest(mute=rtc.MuteTrackRequest(sid=publication.sid, muted=muted))
            )

    async def _server_mute(self, sid: str, muted: bool) -> None:
        publication = self.local_participant.track_publications.get(sid)
        if publication is not None:
            await self.set_muted(publication, muted)

    # --- data --------------------------------------------------------------------

    def listen_text_streams(
        self, topic: str, *, progress: bool = False, max_bytes: int = MAX_STREAM_BYTES
    ) -> Callable[[], None]:
        """Accept text streams on ``topic`` (others are dropped at their header).

        With ``progress``, a TextStreamUpdated is emitted for every chunk (keep
        ``max_bytes`` small then: each update carries the whole text so far);
        otherwise only when the stream ends.  Returns a function that stops it.
        """
        return self._assembler.listen(topic, TopicListener(progress=progress, max_bytes=max_bytes))

    async def publish_data(
        self,
        payload: bytes,
        *,
        topic: str = "",
        reliable: bool = True,
        destination_identities: tuple[str, ...] = (),
    ) -> None:
        engine = self._require_engine()
        packet = models.DataPacket(
            kind=models.DataPacket.RELIABLE if reliable else models.DataPacket.LOSSY,
            destination_identities=list(destination_identities),
            user=models.UserPacket(
                payload=payload,
                topic=topic,
                destination_identities=list(destination_identities),
            ),
        )
        await engine.send_data(packet, reliable=reliable)

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
        engine = self._require_engine()
        stream_id, packets = text_stream_packets(
            text,
            topic=topic,
            attributes=attributes,
            stream_id=stream_id,
            destination_identities=destination_identities,
        )
        for packet in packets:
            await engine.send_data(packet, reliable=True)
        return stream_id

    async def send_packet(self, packet: models.DataPacket, *, reliable: bool = True) -> None:
        """Send a prepared DataPacket (transcriptions, chat messages)."""
        await self._require_engine().send_data(packet, reliable=reliable)

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
        now = int(time.time() * 1000)
        await self.send_packet(
            models.DataPacket(
                kind=models.DataPacket.RELIABLE,
                transcription=models.Transcription(
                    transcribed_participant_identity=participant_identity,
                    track_id=track_sid,
                    segments=[
                        models.TranscriptionSegment(
                            id=segment_id,
                            text=text,
                            start_time=now,
                            end_time=now,
                            final=final,
                            language=language,
                        )
                    ],
                ),
            )
        )
        await self.send_text(
            text,
            topic="lk.transcription",
            attributes={
                "lk.segment_id": segment_id,
                "lk.transcribed_track_id": track_sid,
                "lk.transcription_final": "true" if final else "false",
            },
        )
