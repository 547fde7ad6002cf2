"""What the local participant can do in a room: publish, mute, send data.

Publications outlive sessions: each one the user asked for is kept in order and
published again on every new session after a rejoin.  A publish call whose
session ends under it is not an error for the caller: the rejoin publishes it
again, and the call returns once that is done (or fails if the room is left).
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from aiortc.mediastreams import MediaStreamTrack
from livekit.protocol import models, rtc

from client.livekit import errors
from client.livekit import events as ev
from client.livekit.data_streams import text_stream_packets
from client.livekit.engine import Engine
from client.livekit.participant import LocalParticipant, LocalTrackPublication, TrackSource

log = logging.getLogger(__name__)


class Session(Protocol):
    """The room's view of its current session, as commands need it."""

    def require_engine(self) -> Engine:
        """The connected session's engine, or NotConnectedError."""

    async def wait_connected(self) -> Engine:
        """Wait for the room to be connected again (after a rejoin), or raise
        NotConnectedError if it is left meanwhile."""


class LocalParticipantCommands:
    def __init__(
        self,
        events: ev.EventEmitter,
        local: LocalParticipant,
        session: Session,
        video_codec: str,
    ) -> None:
        self._events = events
        self._local = local
        self._session = session
        self._video_codec = video_codec
        #: Every publication the user asked for, in order, whatever the session.
        self.wanted: list[LocalTrackPublication] = []

    # --- tracks ---------------------------------------------------------------------

    async def publish_track(
        self,
        track: MediaStreamTrack,
        source: TrackSource,
        *,
        name: str = "",
        width: int = 0,
        height: int = 0,
    ) -> LocalTrackPublication:
        engine = self._session.require_engine()
        if track.kind != source.kind:
            raise ValueError(f"a {track.kind} track cannot be published as {source.value}")
        publication = LocalTrackPublication(
            track=track,
            source=source,
            name=name or source.value,
            width=width,
            height=height,
        )
        self.wanted.append(publication)
        try:
            await self.publish_on(engine, publication)
        except errors.SessionClosedError:
            # The rejoin publishes everything wanted before it reports connected.
            await self._session.wait_connected()
            if not publication.sid:
                self._forget(publication)
                raise errors.PublishError("the track could not be published again") from None
        except BaseException:
            self._forget(publication)
            raise
        self._events.emit(ev.LocalTrackPublished(publication))
        return publication

    def _forget(self, publication: LocalTrackPublication) -> None:
        if publication in self.wanted:
            self.wanted.remove(publication)
        if publication.sid:
            self._local.track_publications.pop(publication.sid, None)
        publication.stop_sending()

    async def republish(self, engine: Engine) -> None:
        """Publish every wanted track on a new session."""
        for publication in list(self.wanted):
            await self.publish_on(engine, publication)

    async def publish_missing(self, engine: Engine) -> None:
        """After a resumed session: publish what the outage interrupted (the tracks
        the server had accepted are still published)."""
        for publication in list(self.wanted):
            if not publication.sid:
                await self.publish_on(engine, publication)

    async def publish_on(self, engine: Engine, publication: LocalTrackPublication) -> None:
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
                rtc.SimulcastCodec(codec=self._video_codec.lower(), cid=request.cid)
            )
        old_sid = publication.sid
        info, transceiver = await engine.publish(sending, request)
        if old_sid:
            self._local.track_publications.pop(old_sid, None)
        publication.sid = info.sid
        publication.transceiver = transceiver
        self._local.track_publications[info.sid] = publication

    async def unpublish_track(self, publication: LocalTrackPublication) -> None:
        engine = self._session.require_engine()
        self._forget(publication)
        if publication.transceiver is not None:
            await engine.unpublish(publication.transceiver)
        self._events.emit(ev.LocalTrackUnpublished(publication))

    def unpublished_by_server(self, sid: str) -> None:
        publication = self._local.track_publications.get(sid)
        if publication is not None:
            self._forget(publication)
            self._events.emit(ev.LocalTrackUnpublished(publication))

    def stop_all(self) -> None:
        """The room was left: end every publication and drop what ties it to the
        closed session (its transceiver holds the PeerConnection alive)."""
        for publication in self.wanted:
            publication.stop_sending()
            publication.transceiver = None
            publication.sending = None
        self.wanted.clear()
        self._local.track_publications.clear()

    async def set_muted(
        self, publication: LocalTrackPublication, muted: bool, engine: Engine | None
    ) -> None:
        if publication.sending is not None:
            publication.sending.muted = muted
        if publication.muted == muted:
            return
        publication.muted = muted
        event = ev.TrackMuted if muted else ev.TrackUnmuted
        self._events.emit(event(self._local, publication.sid))
        if engine is not None and publication.sid:
            await engine.send_request(
                rtc.SignalRequest(mute=rtc.MuteTrackRequest(sid=publication.sid, muted=muted))
            )

    # --- subscriptions and own attributes ---------------------------------------------

    def subscribed_qualities(self, update: rtc.SubscribedQualityUpdate) -> None:
        """Dynacast: pause a published video nobody receives, resume it when someone
        does (we send one layer, so any enabled quality needs it)."""
        for publication in self._local.track_publications.values():
            if publication.sid != update.track_sid or publication.sending is None:
                continue
            qualities = list(update.subscribed_qualities) + [
                quality for codec in update.subscribed_codecs for quality in codec.qualities
            ]
            wanted = any(quality.enabled for quality in qualities)
            if publication.sending.unwanted == (not wanted):
                return
            log.info(
                "%s %s: %s",
                "resuming" if wanted else "pausing",
                publication.sid,
                "someone receives it" if wanted else "nobody receives it",
            )
            publication.sending.unwanted = not wanted
            return

    async def set_track_settings(
        self, track_sid: str, *, enabled: bool, width: int = 0, height: int = 0, fps: int = 0
    ) -> None:
        """Tell the server how a remote video track is shown: off (a hidden tile costs
        nothing) or the size it is drawn at (the server picks the layer)."""
        engine = self._session.require_engine()
        await engine.send_request(
            rtc.SignalRequest(
                track_setting=rtc.UpdateTrackSettings(
                    track_sids=[track_sid],
                    disabled=not enabled,
                    width=width,
                    height=height,
                    fps=fps,
                )
            )
        )

    async def set_own_attributes(self, attributes: dict[str, str]) -> None:
        """Ask the server to set our attributes ("" removes one); needs the
        canUpdateOwnMetadata grant, which the server checks."""
        engine = self._session.require_engine()
        await engine.send_request(
            rtc.SignalRequest(update_metadata=rtc.UpdateParticipantMetadata(attributes=attributes))
        )

    # --- data -------------------------------------------------------------------------

    async def publish_data(
        self,
        payload: bytes,
        *,
        topic: str = "",
        reliable: bool = True,
        destination_identities: tuple[str, ...] = (),
    ) -> None:
        engine = self._session.require_engine()
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
        engine = self._session.require_engine()
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
        await self._session.require_engine().send_data(packet, reliable=reliable)

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
