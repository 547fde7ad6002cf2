"""Participants and their track publications, as the room model holds them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from livekit.protocol import models

from client.livekit.events import ConnectionQuality
from client.livekit.proto_enums import enum_name

if TYPE_CHECKING:
    from aiortc import RTCRtpTransceiver
    from aiortc.mediastreams import MediaStreamTrack

    from client.livekit.published_track import PublishedTrack
    from client.livekit.remote_track import RemoteTrack


class TrackSource(enum.Enum):
    UNKNOWN = "unknown"
    CAMERA = "camera"
    MICROPHONE = "microphone"
    SCREEN_SHARE = "screen_share"
    SCREEN_SHARE_AUDIO = "screen_share_audio"

    @classmethod
    def from_proto(cls, value: int) -> TrackSource:
        table: dict[int, TrackSource] = {
            models.TrackSource.CAMERA: cls.CAMERA,
            models.TrackSource.MICROPHONE: cls.MICROPHONE,
            models.TrackSource.SCREEN_SHARE: cls.SCREEN_SHARE,
            models.TrackSource.SCREEN_SHARE_AUDIO: cls.SCREEN_SHARE_AUDIO,
        }
        return table.get(value, cls.UNKNOWN)

    def to_proto(self) -> int:
        return {
            TrackSource.CAMERA: models.TrackSource.CAMERA,
            TrackSource.MICROPHONE: models.TrackSource.MICROPHONE,
            TrackSource.SCREEN_SHARE: models.TrackSource.SCREEN_SHARE,
            TrackSource.SCREEN_SHARE_AUDIO: models.TrackSource.SCREEN_SHARE_AUDIO,
        }.get(self, models.TrackSource.UNKNOWN)

    @property
    def kind(self) -> str:
        if self in (TrackSource.MICROPHONE, TrackSource.SCREEN_SHARE_AUDIO):
            return "audio"
        return "video"


def kind_of(track_type: int) -> str:
    return "video" if track_type == models.TrackType.VIDEO else "audio"


@dataclass
class RemoteTrackPublication:
    sid: str
    name: str
    kind: str
    source: TrackSource
    muted: bool = False
    width: int = 0
    height: int = 0
    mime_type: str = ""
    track: RemoteTrack | None = None

    @property
    def subscribed(self) -> bool:
        return self.track is not None

    def update_from(self, info: models.TrackInfo) -> None:
        self.name = info.name
        self.kind = kind_of(info.type)
        self.source = TrackSource.from_proto(info.source)
        self.muted = info.muted
        self.width = info.width
        self.height = info.height
        self.mime_type = info.mime_type

    @classmethod
    def from_info(cls, info: models.TrackInfo) -> RemoteTrackPublication:
        publication = cls(info.sid, info.name, kind_of(info.type), TrackSource.UNKNOWN)
        publication.update_from(info)
        return publication


@dataclass
class LocalTrackPublication:
    """A track we publish.  ``sid`` is empty until the server has accepted it.

    ``track`` is the caller's source; each session sends it through its own
    ``PublishedTrack`` proxy (``sending``), because aiortc stops the track of a
    sender it closes, and a rejoin must not end the source.
    """

    track: MediaStreamTrack
    source: TrackSource
    name: str
    width: int = 0
    height: int = 0
    muted: bool = False
    sid: str = ""
    transceiver: RTCRtpTransceiver | None = None
    sending: PublishedTrack | None = None

    def new_sending_track(self) -> PublishedTrack:
        from client.livekit.published_track import PublishedTrack

        if self.sending is not None:
            self.sending.detach()
        self.sending = PublishedTrack(self.track)
        self.sending.muted = self.muted
        return self.sending

    def stop_sending(self) -> None:
        if self.sending is not None:
            self.sending.detach()

    @property
    def kind(self) -> str:
        return str(self.track.kind)


@dataclass
class Participant:
    sid: str
    identity: str
    name: str = ""
    metadata: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    kind: str = "standard"
    is_speaking: bool = False
    audio_level: float = 0.0
    connection_quality: ConnectionQuality = ConnectionQuality.UNKNOWN

    @property
    def display_name(self) -> str:
        return self.name or self.identity

    def apply_info(self, info: models.ParticipantInfo) -> frozenset[str]:
        """Update from the server's view; returns the names of fields that changed."""
        changed: set[str] = set()
        if info.sid and info.sid != self.sid:
            self.sid = info.sid
        if info.name != self.name:
            self.name = info.name
            changed.add("name")
        if info.metadata != self.metadata:
            self.metadata = info.metadata
            changed.add("metadata")
        attributes = dict(info.attributes)
        if attributes != self.attributes:
            self.attributes = attributes
            changed.add("attributes")
        self.kind = enum_name(models.ParticipantInfo.Kind, info.kind).lower()
        return frozenset(changed)


@dataclass
class RemoteParticipant(Participant):
    track_publications: dict[str, RemoteTrackPublication] = field(default_factory=dict)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


@dataclass
class LocalParticipant(Participant):
    track_publications: dict[str, LocalTrackPublication] = field(default_factory=dict)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other
