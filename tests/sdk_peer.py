"""A test peer built on the official LiveKit SDK (Rust core), which no one here wrote.

It publishes stamped VP8 video and a tone, and records what it receives from us:
decoded frame stamps per track, audio samples, chat and text streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc

from client.media import frame_stamp
from client.media.audio_analysis import dominant_frequency
from devtools.sdk_peers import camera_options, feed_stamped_video, feed_tone

WIDTH, HEIGHT, FPS = 640, 360, 30
SAMPLE_RATE = 48000


#: A subscribed video stream silent this long is reopened (see ``_read_video``).
STREAM_SILENCE_S = 3.0


@dataclass
class ReceivedVideo:
    stamps: list[tuple[float, frame_stamp.FrameStamp]] = field(default_factory=list)
    frames: int = 0
    #: How often the SDK's stream had to be reopened.
    stream_restarts: int = 0


class SdkPeer:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.room = rtc.Room()
        self.video: dict[str, ReceivedVideo] = {}
        self.audio: dict[str, list[np.ndarray]] = {}
        self._text_pending: dict[str, list[tuple[str, asyncio.Task[str]]]] = {}
        self.data: list[tuple[str, bytes]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._publishers: dict[str, asyncio.Task[None]] = {}
        self.room.on("track_subscribed", self._on_track)
        self.room.on("data_received", self._on_data)

    async def connect(self, *, subscribe: bool = True) -> None:
        await self.room.connect(self.url, self.token, rtc.RoomOptions(auto_subscribe=subscribe))

    @property
    def identity(self) -> str:
        return str(self.room.local_participant.identity)

    def texts(self, topic: str) -> list[tuple[str, str]]:
        """(sender identity, text) of the streams received so far, in sending order,
        up to the first one still being read."""
        done: list[tuple[str, str]] = []
        for identity, task in self._text_pending.get(topic, []):
            if not task.done():
                break
            done.append((identity, task.result()))
        return done

    def watch_text(self, topic: str) -> None:

        # Streams are read concurrently and may finish out of order: keep the
        # order in which their headers arrived, which is the order they were sent.
        pending: list[tuple[str, asyncio.Task[str]]] = []
        self._text_pending[topic] = pending

        def handler(reader: rtc.TextStreamReader, identity: str) -> None:
            pending.append((identity, asyncio.ensure_future(reader.read_all())))

        self.room.register_text_stream_handler(topic, handler)

    def _on_data(self, packet: rtc.DataPacket) -> None:
        self.data.append((packet.topic or "", bytes(packet.data)))

    def _on_track(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind == rtc.TrackKind.KIND_VIDEO:
            self._tasks.append(asyncio.ensure_future(self._read_video(track, publication.sid)))
        elif track.kind == rtc.TrackKind.KIND_AUDIO:
            self._tasks.append(asyncio.ensure_future(self._read_audio(track, publication.sid)))

    async def _read_video(self, track: rtc.Track, sid: str) -> None:
        record = self.video.setdefault(sid, ReceivedVideo())
        while True:
            # The SDK's stream has been seen to deliver nothing while libwebrtc decoded
            # hundreds of frames (its native queue overflowing under load): after a
            # silent while, open a new stream on the same track.
            stream = rtc.VideoStream(track, format=rtc.VideoBufferType.I420)
            try:
                while True:
                    try:
                        event = await asyncio.wait_for(anext(stream), STREAM_SILENCE_S)
                    except TimeoutError:
                        break
                    except StopAsyncIteration:
                        return
                    record.frames += 1
                    frame = event.frame
                    luma = frame_stamp.luma_of_i420(frame.data, frame.width, frame.height)
                    stamp = frame_stamp.read(luma)
                    if stamp is not None:
                        record.stamps.append((time.time(), stamp))
            finally:
                await stream.aclose()
            record.stream_restarts += 1

    async def _read_audio(self, track: rtc.Track, sid: str) -> None:
        chunks = self.audio.setdefault(sid, [])
        stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
        async for event in stream:
            chunks.append(np.frombuffer(event.frame.data, dtype=np.int16).copy())
            if len(chunks) > 500:
                del chunks[: len(chunks) - 500]

    async def receive_report(self, sid: str) -> str:
        """What the SDK's WebRTC stack says about one subscribed track (diagnostics)."""
        for participant in self.room.remote_participants.values():
            publication = participant.track_publications.get(sid)
            if publication is None:
                continue
            if publication.track is None:
                return f"subscribed={publication.subscribed}, no track"
            parts = []
            for stats in await publication.track.get_stats():
                if stats.HasField("inbound_rtp"):
                    inbound = stats.inbound_rtp
                    parts.append(
                        f"received {inbound.received.packets_received} packets "
                        f"({inbound.received.packets_lost} lost), "
                        f"{inbound.inbound.frames_received} frames, "
                        f"{inbound.inbound.frames_decoded} decoded, "
                        f"{inbound.inbound.key_frames_decoded} keyframes, "
                        f"{inbound.inbound.pli_count} PLI, {inbound.inbound.nack_count} NACK"
                    )
            return "; ".join(parts) or "no inbound-rtp stats"
        return "publication unknown to the SDK"

    def audio_frequency(self, sid: str, seconds: float = 1.0) -> float:
        chunks = self.audio.get(sid, [])
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        samples = samples[-int(SAMPLE_RATE * seconds) :]
        if len(samples) < SAMPLE_RATE // 4:
            return 0.0
        return dominant_frequency(samples, SAMPLE_RATE)

    # --- publishing -------------------------------------------------------------

    async def publish_video(self, name: str = "camera") -> rtc.LocalTrackPublication:
        source = rtc.VideoSource(WIDTH, HEIGHT)
        track = rtc.LocalVideoTrack.create_video_track(name, source)
        publication = await self.room.local_participant.publish_track(track, camera_options())
        self._publishers[publication.sid] = asyncio.ensure_future(feed_stamped_video(source))
        return publication

    async def publish_tone(self, frequency: float) -> rtc.LocalTrackPublication:
        source = rtc.AudioSource(SAMPLE_RATE, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        publication = await self.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        self._publishers[publication.sid] = asyncio.ensure_future(
            feed_tone(source, frequency, amplitude=0.3)
        )
        return publication

    async def publish_solid_video(
        self, rgb: tuple[int, int, int], name: str = "camera"
    ) -> rtc.LocalTrackPublication:
        """A camera showing one colour, for checks on rendered pixels."""
        source = rtc.VideoSource(WIDTH, HEIGHT)
        track = rtc.LocalVideoTrack.create_video_track(name, source)
        publication = await self.room.local_participant.publish_track(track, camera_options())
        frame = np.empty((HEIGHT, WIDTH, 4), np.uint8)
        frame[:, :] = (*rgb, 255)
        data = frame.tobytes()

        async def feed() -> None:
            while True:
                source.capture_frame(rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, data))
                await asyncio.sleep(1 / FPS)

        self._publishers[publication.sid] = asyncio.ensure_future(feed())
        return publication

    async def caption(self, track_sid: str, sentence: str, *, interim_steps: int = 3) -> None:
        """Caption our own speech as a transcription agent does: interim updates then the
        final, each in both forms, the legacy packet and the stream under different ids."""
        words = sentence.split()
        packet_id, stream_id = f"SG_pkt_{uuid.uuid4().hex[:8]}", f"SG_str_{uuid.uuid4().hex[:8]}"
        identity = self.identity
        cuts = sorted({max(1, len(words) * (i + 1) // interim_steps) for i in range(interim_steps)})
        for count in [*cuts[:-1], len(words)]:
            final = count == len(words)
            text = " ".join(words[:count])
            await self.room.local_participant.publish_transcription(
                rtc.Transcription(
                    participant_identity=identity,
                    track_sid=track_sid,
                    segments=[
                        rtc.TranscriptionSegment(
                            id=packet_id,
                            text=text,
                            start_time=0,
                            end_time=0,
                            language="fr",
                            final=final,
                        )
                    ],
                )
            )
            await self.room.local_participant.send_text(
                text,
                topic="lk.transcription",
                attributes={
                    "lk.segment_id": stream_id,
                    "lk.transcribed_track_id": track_sid,
                    "lk.transcription_final": "true" if final else "false",
                },
            )
            await asyncio.sleep(0.15)

    async def unpublish(self, sid: str) -> None:
        task = self._publishers.pop(sid, None)
        if task is not None:
            task.cancel()
        await self.room.local_participant.unpublish_track(sid)

    async def close(self) -> None:
        for task in [*self._tasks, *self._publishers.values()]:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.room.disconnect(), 5)


def video_fps(record: ReceivedVideo, seconds: float) -> tuple[float, bool]:
    """Distinct stamped frames per second over the last ``seconds``, and whether
    their counters only ever increased."""
    if not record.stamps:
        return 0.0, False
    end = record.stamps[-1][0]
    recent = [s for t, s in record.stamps if t >= end - seconds]
    counters = [s.counter for s in recent]
    increasing = all(b > a for a, b in itertools.pairwise(counters))
    return len(set(counters)) / seconds, increasing
