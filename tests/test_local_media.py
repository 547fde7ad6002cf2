"""The app's microphone and speakers (``LocalAudio``) on a real PulseAudio daemon, and
a call that is heard through them (``CallSession`` with devices)."""

from __future__ import annotations

import asyncio

import pytest

from client.call_session import CallSession, DeviceMediaSources
from client.livekit import events as ev
from client.livekit.room import RoomOptions
from client.local_media import DeviceProblem, LocalAudio, LocalDevicesChanged
from client.media.audio_processing import AudioProcessingSettings
from client.media.camera import Camera
from client.media.virtual_camera import VirtualCameraBackend
from devtools.pulse import PulseDaemon
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.sdk_peer import SdkPeer

pytestmark = pytest.mark.audio


class Seen:
    def __init__(self, audio: LocalAudio) -> None:
        self.lists: list[LocalDevicesChanged] = []
        self.problems: list[DeviceProblem] = []
        audio.events.on(LocalDevicesChanged, self.lists.append)
        audio.events.on(DeviceProblem, self.problems.append)


async def test_devices_are_listed_by_name_and_a_failed_switch_keeps_the_one_in_use(
    pulse: PulseDaemon,
) -> None:
    audio = LocalAudio(AudioProcessingSettings())
    seen = Seen(audio)
    try:
        await audio.start()
        assert not audio.microphone_error and not audio.speaker_error
        await wait_for(lambda: bool(seen.lists), 5, "a device list")
        latest = seen.lists[-1]
        assert "Built-in speaker" in [d.name for d in latest.speakers]
        assert "Virtual microphone" in [d.name for d in latest.microphones]
        assert latest.speaker == "" and latest.microphone == ""  # following the system
        assert not await audio.select_speaker("no-such-sink")
        assert seen.problems[-1].kind == "speaker" and seen.problems[-1].problem == "failed"
        assert seen.lists[-1].speaker == ""  # the menus go back to what still plays
        assert audio.engine.output_device is None
    finally:
        await audio.close()


async def test_a_chosen_speaker_unplugged_falls_back_and_says_so(pulse: PulseDaemon) -> None:
    audio = LocalAudio(AudioProcessingSettings())
    seen = Seen(audio)
    module = pulse.add_sink("headset", "USB headset")
    try:
        await audio.start()
        await wait_for(
            lambda: any(d.name == "USB headset" for d in audio.devices.outputs), 5, "headset"
        )
        headset = next(d for d in audio.devices.outputs if d.name == "USB headset")
        assert await audio.select_speaker(headset.id)
        assert seen.lists[-1].speaker == headset.id
        pulse.unload_module(module)
        await wait_for(
            lambda: any(p.problem == "fell_back" for p in seen.problems), 10, "a fallback"
        )
        fallback = next(p for p in seen.problems if p.problem == "fell_back")
        assert fallback.kind == "speaker" and fallback.device == "USB headset"
        assert fallback.replacement == "Built-in speaker"
        await wait_for(lambda: audio.speaker_id == "", 5, "following the default again")
        assert all(d.name != "USB headset" for d in seen.lists[-1].speakers)
    finally:
        await audio.close()


async def test_a_call_with_devices_is_heard_and_the_switch_mutes_the_capture(
    pulse: PulseDaemon, livekit_server: object, token_factory: TokenFactory, room_name: str
) -> None:
    from devtools.sandbox.livekit_server import LiveKitServer

    assert isinstance(livekit_server, LiveKitServer)
    audio = LocalAudio(AudioProcessingSettings())
    camera = Camera(VirtualCameraBackend())  # none plugged in
    peer = SdkPeer(livekit_server.ws_url, token_factory("sdk", room_name, name="SDK"))
    session = CallSession(
        RoomOptions(ice_servers=[]), media=DeviceMediaSources(audio, camera), audio=audio
    )
    try:
        await audio.start()
        await session.join(
            livekit_server.ws_url,
            token_factory("ours", room_name, name="Nous"),
            camera_on=False,
            microphone_on=False,
        )
        assert audio.engine.capture.muted
        await peer.connect()
        await peer.publish_tone(660.0)
        await wait_for(
            lambda: any(s.identity == "sdk" for s in audio.engine.mixer.streams),
            10,
            "the peer's audio in the mixer",
        )
        await session.set_microphone_on(True)
        assert not audio.engine.capture.muted
        # The peer hears our (processed) microphone track once it is on.
        assert session.microphone is not None
        await wait_for(lambda: session.microphone.sid in peer.audio, 10, "our microphone")
        gone = asyncio.Event()
        session.events.on(ev.ParticipantDisconnected, lambda _e: gone.set())
        await peer.close()
        await asyncio.wait_for(gone.wait(), 10)
        assert not any(s.identity == "sdk" for s in audio.engine.mixer.streams)
    finally:
        await session.leave()
        await audio.close()
        await camera.close()
