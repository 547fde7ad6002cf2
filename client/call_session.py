"""One call as the interface drives it: the room, its chat, captions and local media.

Qt-free: the UI runs this on the core thread and talks to it through the bridge.
Local media comes from a ``MediaSources``: the machine's devices
(``client.local_media``) or test sources (tests, the benchmarks).  With a
``LocalAudio`` the call is heard too: every remote audio track is mixed into the
speakers, and the microphone switch also reaches the capture chain (so that
talking while muted can be noticed).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiortc.mediastreams import MediaStreamTrack

from client.captions import Captions
from client.chat import Chat, ChatMessage
from client.livekit import events as ev
from client.livekit.participant import LocalTrackPublication, TrackSource
from client.livekit.room import Room, RoomOptions
from client.livekit.tasks import spawn
from client.local_media import DeviceProblem, LocalAudio
from client.media.camera import Camera, CameraError
from client.media.screen_capture import ScreenShare, ScreenShareEnded, ShareTarget
from client.media.tee import TeeTrack
from client.media.test_sources import TestPatternTrack, ToneTrack
from client.notifications import Notifications
from client.visio.api import RoomInfo, VisioApi
from client.visio.meeting import VisioMeeting

log = logging.getLogger(__name__)

HAND_ATTRIBUTE = "handRaisedAt"
CAMERA_SIZE = (640, 360)


class MediaSources(Protocol):
    def camera(self) -> MediaStreamTrack: ...

    def microphone(self) -> MediaStreamTrack: ...

    async def set_camera_running(self, on: bool) -> None:
        """Open the camera device (raises CameraError) or release it."""


class TestMediaSources:
    """Stand-ins until device capture exists: a moving pattern and silence."""

    __test__ = False

    def camera(self) -> MediaStreamTrack:
        return TestPatternTrack(*CAMERA_SIZE)

    def microphone(self) -> MediaStreamTrack:
        return ToneTrack(440.0, amplitude=0.0)

    async def set_camera_running(self, on: bool) -> None:
        """A test pattern has no device to open or release."""


class DeviceMediaSources:
    """This machine's microphone (processed: echo, noise, gain) and camera (the one
    ``camera_id()`` names when it is on; "" or one not plugged in = the first found)."""

    def __init__(
        self, audio: LocalAudio, camera: Camera, camera_id: Callable[[], str] = lambda: ""
    ) -> None:
        self.audio = audio
        self.camera_device = camera
        self.camera_id = camera_id

    def camera(self) -> MediaStreamTrack:
        return self.camera_device.track()

    def microphone(self) -> MediaStreamTrack:
        return self.audio.microphone

    async def set_camera_running(self, on: bool) -> None:
        if on:
            wanted = self.camera_id()
            chosen = wanted if self.camera_device.find(wanted) else ""
            await self.camera_device.start(chosen)
        else:
            await self.camera_device.stop()


@dataclass(frozen=True)
class ScreenShareChanged(ev.Event):
    """Our screen share started or ended (``reason``: stopped, window_closed, failed)."""

    sharing: bool
    name: str = ""
    reason: str = ""


@dataclass(frozen=True)
class LocalMediaChanged(ev.Event):
    """Our camera or microphone was turned on or off."""

    camera_on: bool
    microphone_on: bool


class CallSession:
    def __init__(
        self,
        options: RoomOptions | None = None,
        media: MediaSources | None = None,
        audio: LocalAudio | None = None,
    ) -> None:
        self.room = Room(options)
        self.audio = audio
        if audio is not None:
            self.room.events.on(ev.TrackSubscribed, self._hear)
            self.room.events.on(ev.TrackUnsubscribed, self._stop_hearing)
            self.room.events.on(ev.ParticipantDisconnected, self._forget)
        self.chat = Chat(self.room)
        self.captions = Captions(self.room)
        self.notifications = Notifications(self.room)
        self._media = media or TestMediaSources()
        #: The local camera, shown in the self view as it is sent.
        self.camera_feed = TeeTrack(self._media.camera())
        self.camera: LocalTrackPublication | None = None
        self.microphone: LocalTrackPublication | None = None
        self.screen: LocalTrackPublication | None = None
        self._share: ScreenShare | None = None
        #: The Visio side of the meeting, when it is a Visio room.
        self.visio: VisioMeeting | None = None
        self._microphone_lock = asyncio.Lock()

    def use_visio(self, api: VisioApi, info: RoomInfo) -> VisioMeeting:
        """This call is a Visio meeting: hands, captions and the lobby go through
        the server's API (call before ``join``)."""
        self.visio = VisioMeeting(api, info, self.room)
        return self.visio

    @property
    def events(self) -> ev.EventEmitter:
        return self.room.events

    @property
    def camera_on(self) -> bool:
        return self.camera is not None and not self.camera.muted

    @property
    def microphone_on(self) -> bool:
        return self.microphone is not None and not self.microphone.muted

    async def join(self, url: str, token: str, *, camera_on: bool, microphone_on: bool) -> None:
        await self.room.connect(url, token)
        # Both are published even when off (muted): turning them on is then instant.
        self.microphone = await self.room.publish_track(
            self._media.microphone(), TrackSource.MICROPHONE
        )
        if not microphone_on:
            await self.room.set_muted(self.microphone, True)
        if self.audio is not None:
            self.audio.set_muted(not microphone_on)
        if camera_on:
            camera_on = await self._run_camera(True)
        width, height = CAMERA_SIZE
        self.camera = await self.room.publish_track(
            self.camera_feed, TrackSource.CAMERA, width=width, height=height
        )
        if not camera_on:
            await self.room.set_muted(self.camera, True)
        self._media_changed()

    async def _run_camera(self, on: bool) -> bool:
        """Open or release the camera device; a camera that cannot be opened is
        reported (``DeviceProblem``) and the call goes on without it."""
        try:
            await self._media.set_camera_running(on)
        except CameraError as exc:
            log.warning("camera: %s", exc)
            self.events.emit(DeviceProblem("camera", exc.kind, exc.device))
            return False
        return on

    def _hear(self, event: ev.TrackSubscribed) -> None:
        if self.audio is not None and event.track.kind == "audio":
            self.audio.play(event.participant.identity, event.track)

    def _stop_hearing(self, event: ev.TrackUnsubscribed) -> None:
        if self.audio is not None:
            self.audio.stop_playing(event.track)

    def _forget(self, event: ev.ParticipantDisconnected) -> None:
        if self.audio is not None:
            self.audio.stop_playing_participant(event.participant.identity)

    def _media_changed(self) -> None:
        self.events.emit(LocalMediaChanged(self.camera_on, self.microphone_on))

    async def set_microphone_on(self, on: bool) -> None:
        # In the order asked: a quick off-and-on must end on, whatever the signalling
        # round trips in between.
        async with self._microphone_lock:
            await self._apply_microphone(on)

    async def _apply_microphone(self, on: bool) -> None:
        if self.audio is not None:
            self.audio.set_muted(not on)
        if self.microphone is not None:
            await self.room.set_muted(self.microphone, not on)
        self._media_changed()

    async def follow_microphone_mute(self, sid: str) -> None:
        """Our microphone's track was muted from outside (a host, the server): take it
        as turned off, capture chain included, once the commands asked before have
        run (so a quick off-and-on of our own leaves it on)."""
        async with self._microphone_lock:
            microphone = self.microphone
            if microphone is None or microphone.sid != sid:
                return
            await self._apply_microphone(not microphone.muted)

    async def set_camera_on(self, on: bool) -> None:
        if on:
            on = await self._run_camera(True)
            if on and self.camera is not None:
                await self.room.set_muted(self.camera, False)
        else:
            if self.camera is not None:
                await self.room.set_muted(self.camera, True)
            # Released: its light goes off, another program may take it.
            await self._run_camera(False)
        self._media_changed()

    # --- screen sharing --------------------------------------------------------------

    @property
    def sharing(self) -> bool:
        return self._share is not None

    async def start_screen_share(self, target: ShareTarget) -> None:
        """Share a screen or a window (raises ScreenShareError); one share at a time."""
        await self.stop_screen_share()
        share = ScreenShare(target)
        await share.start()
        self._share = share
        share.events.on(ScreenShareEnded, self._share_ended)
        try:
            width, height = share.size
            self.screen = await self.room.publish_track(
                share.track, TrackSource.SCREEN_SHARE, width=width, height=height
            )
        except BaseException:
            self._share = None
            await share.stop()
            raise
        self.events.emit(ScreenShareChanged(True, target.name))

    async def stop_screen_share(self) -> None:
        share, self._share = self._share, None
        if share is not None:
            await share.stop()
            await self._unpublish_share("stopped")

    def _share_ended(self, event: ScreenShareEnded) -> None:
        """The shared window closed (or capture failed): unpublish, say so."""
        if self._share is not None and self._share.target == event.target:
            self._share = None
            spawn(self._unpublish_share(event.reason), "unpublish-share")

    async def _unpublish_share(self, reason: str) -> None:
        screen, self.screen = self.screen, None
        if screen is not None:
            await self.room.unpublish_track(screen)
        self.events.emit(ScreenShareChanged(False, reason=reason))

    async def send_chat(self, text: str) -> ChatMessage:
        return await self.chat.send(text)

    async def set_hand_raised(self, raised: bool) -> None:
        if self.visio is not None:
            # Visio's tokens forbid setting our own attributes: its backend does it.
            await self.visio.set_hand_raised(raised)
            return
        when = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        await self.room.set_own_attributes({HAND_ATTRIBUTE: when if raised else ""})

    async def send_reaction(self, name: str) -> None:
        await self.notifications.send_reaction(name)

    async def start_captions(self) -> bool:
        """Ask the server for captions (a Visio meeting's agent), once; False when
        there is nothing to ask (not Visio, or already asked)."""
        if self.visio is None:
            return False
        return await self.visio.start_captions()

    async def admit(self, participant_id: str, *, allow: bool) -> None:
        if self.visio is not None:
            await self.visio.admit(participant_id, allow=allow)

    async def leave(self) -> None:
        share, self._share = self._share, None
        if share is not None:
            await share.stop()
        await self.room.disconnect()
        await self._run_camera(False)
        if self.audio is not None:
            # The devices stay open for the next call (and the pre-join meter).
            self.audio.stop_playing_all()
        self.chat.close()
        self.captions.close()
        self.notifications.close()
        if self.visio is not None:
            self.visio.close()
