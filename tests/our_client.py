"""Our own client under test, with probes on what it receives."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import av
import numpy as np

from client.captions import Captions
from client.chat import Chat
from client.livekit import events as ev
from client.livekit.participant import LocalTrackPublication, TrackSource
from client.livekit.remote_track import RemoteTrack
from client.livekit.room import Room, RoomOptions
from client.media.audio_analysis import dominant_frequency, samples_of
from client.media.frame_stamp import FrameStamp
from client.media.test_sources import TestPatternTrack, ToneTrack
from client.media.video_analysis import read_stamp


@dataclass
class TrackProbe:
    track: RemoteTrack
    stamps: list[tuple[float, FrameStamp]] = field(default_factory=list)
    audio: list[np.ndarray] = field(default_factory=list)
    frames: int = 0

    def __call__(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        self.frames += 1
        if isinstance(frame, av.VideoFrame):
            stamp = read_stamp(frame)
            if stamp is not None:
                self.stamps.append((time.time(), stamp))
        else:
            self.audio.append(samples_of(frame))
            if len(self.audio) > 300:
                del self.audio[:100]

    def frequency(self, seconds: float = 1.0) -> float:
        if not self.audio:
            return 0.0
        samples = np.concatenate(self.audio)[-int(48000 * seconds) :]
        return dominant_frequency(samples, 48000)


async def until_data_flows(ours: OurClient, peer_data: list[tuple[str, bytes]]) -> None:
    """The server forwards data only to peers whose data path is up: wait for it."""
    start = time.monotonic()
    while not any(topic == "warmup" for topic, _ in peer_data):
        if time.monotonic() - start > 10:
            raise AssertionError("no data reached the peer within 10 s")
        await ours.room.publish_data(b"warmup", topic="warmup")
        await asyncio.sleep(0.1)


class OurClient:
    def __init__(self, url: str, token: str, options: RoomOptions | None = None) -> None:
        self.url = url
        self.token = token
        self.room = Room(options or RoomOptions(ice_servers=[]))
        self.chat = Chat(self.room)
        self.captions = Captions(self.room)
        self.events: list[ev.Event] = []
        self.probes: dict[str, TrackProbe] = {}
        self.room.events.on_any(self.events.append)
        self.room.events.on(ev.TrackSubscribed, self._subscribed)

    def _subscribed(self, event: ev.TrackSubscribed) -> None:
        probe = TrackProbe(event.track)
        event.track.add_sink(probe)
        self.probes[event.publication.sid] = probe

    async def connect(self) -> None:
        await self.room.connect(self.url, self.token)

    async def publish_pattern(self) -> LocalTrackPublication:
        return await self.room.publish_track(
            TestPatternTrack(), TrackSource.CAMERA, width=640, height=360
        )

    async def publish_tone(self, frequency: float = 440.0) -> LocalTrackPublication:
        return await self.room.publish_track(ToneTrack(frequency), TrackSource.MICROPHONE)

    def probe_of(self, identity: str, kind: str) -> TrackProbe | None:
        participant = self.room.remote_participants.get(identity)
        if participant is None:
            return None
        for publication in participant.track_publications.values():
            if publication.kind == kind and publication.sid in self.probes:
                probe = self.probes[publication.sid]
                if publication.track is probe.track:
                    return probe
        return None

    def events_of(self, kind: type[ev.Event]) -> list[ev.Event]:
        return [e for e in self.events if isinstance(e, kind)]

    async def close(self) -> None:
        self.chat.close()
        self.captions.close()
        await self.room.disconnect()
