"""Data packets from the wire turned into room events.

User packets, legacy transcriptions and chat messages become one event each;
text stream packets go through the stream assembler, which reports only streams
on topics somebody listens to.  The sender is the identity the server stamped on
the packet, looked up among the room's participants.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from google.protobuf.message import DecodeError
from livekit.protocol import models

from client.livekit import events as ev
from client.livekit.data_streams import TextStreamAssembler
from client.livekit.participant import RemoteParticipant

log = logging.getLogger(__name__)

ParticipantLookup = Callable[[str], RemoteParticipant | None]


def parse_data_packet(data: bytes) -> models.DataPacket | None:
    """One data-channel message, or None if it is not a DataPacket."""
    packet = models.DataPacket()
    try:
        packet.ParseFromString(data)
    except DecodeError:
        return None
    return packet


class DataPacketDecoder:
    def __init__(
        self,
        events: ev.EventEmitter,
        participant: ParticipantLookup,
        assembler: TextStreamAssembler,
    ) -> None:
        self._events = events
        self._participant = participant
        self.assembler = assembler

    def handle(self, packet: models.DataPacket) -> None:
        sender = packet.participant_identity
        kind = packet.WhichOneof("value")
        if kind == "user":
            self._user(packet, sender)
        elif kind == "transcription":
            self._transcription(packet.transcription, sender)
        elif kind == "chat_message":
            chat = packet.chat_message
            self._events.emit(
                ev.ChatPacketReceived(
                    id=chat.id,
                    timestamp_ms=chat.timestamp,
                    message=chat.message,
                    participant=self._participant(sender),
                    sender_identity=sender,
                    deleted=chat.deleted,
                )
            )
        elif kind in ("stream_header", "stream_chunk", "stream_trailer"):
            self._stream(packet)
        else:
            log.debug("ignoring data packet of kind %s", kind)

    def _user(self, packet: models.DataPacket, sender: str) -> None:
        user = packet.user
        self._events.emit(
            ev.DataReceived(
                payload=bytes(user.payload),
                topic=user.topic,
                participant=self._participant(sender),
                reliable=packet.kind == models.DataPacket.RELIABLE,
                sender_identity=sender,
            )
        )

    def _transcription(self, transcription: models.Transcription, sender: str) -> None:
        self._events.emit(
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

    def _stream(self, packet: models.DataPacket) -> None:
        progress = self.assembler.handle(packet)
        if progress is None:
            return
        stream = progress.stream
        self._events.emit(
            ev.TextStreamUpdated(
                stream_id=stream.stream_id,
                topic=stream.topic,
                text=progress.text,
                attributes=dict(stream.attributes),
                sender_identity=stream.sender_identity,
                participant=self._participant(stream.sender_identity),
                done=progress.done,
                timestamp_ms=stream.timestamp_ms,
                interrupted=progress.interrupted,
            )
        )
