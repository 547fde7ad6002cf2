"""A private PulseAudio daemon for the audio tests (one per test module): a speaker
sink and a virtual microphone, both the defaults, and this process's clients
pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from client.media.audio_devices import reinitialize_portaudio
from devtools.pulse import PulseDaemon


@pytest.fixture(scope="module")
def pulse() -> Iterator[PulseDaemon]:
    daemon = PulseDaemon()
    daemon.start()
    daemon.apply_env()
    daemon.add_sink("speaker", "Built-in speaker")
    daemon.add_virtual_microphone("mic", "Virtual microphone")
    daemon.set_default_sink("speaker")
    daemon.set_default_source("mic")
    # PortAudio listed ALSA's devices at import, before the daemon ran.
    reinitialize_portaudio()
    try:
        yield daemon
    finally:
        daemon.stop()
        daemon.restore_env()
        reinitialize_portaudio()
