"""Shared fixtures: the test network namespace, a real livekit-server, tokens.

Interop tests (anything using `livekit_server`) need root: the whole pytest process moves
into a private network namespace in `pytest_configure`, before any test starts threads,
so that the server, our client and the SDK peers only ever see sandbox addresses.
Unit tests run anywhere.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import pytest

from client.ui.sign_in_dialog import prepare_web_engine
from devtools.sandbox.livekit_server import LiveKitServer, ensure_server_binary
from devtools.sandbox.netns import NetnsError, enter_test_netns, in_test_netns
from devtools.sandbox.tokens import mint_token
from devtools.xvfb import XvfbError, xvfb
from tests.our_client import OurClient
from tests.sdk_peer import SdkPeer

pytest_plugins = [
    "tests.netfault_fixtures",
    "tests.pulse_fixtures",
    "tests.secret_service_fixtures",
]
_netns_error: str | None = None


class TokenFactory(Protocol):
    def __call__(self, identity: str, room: str, **grants: Any) -> str: ...


_xvfb: contextlib.ExitStack | None = None


def _start_display() -> None:
    """One private X server for every GUI test, started before any QApplication: the
    widgets are drawn by a real X server, never on the developer's desktop."""
    global _xvfb
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(xvfb(1920, 1080))
    except XvfbError as exc:
        warnings.warn(f"{exc}: GUI tests fall back to Qt's offscreen platform", stacklevel=1)
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return
    _xvfb = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    if _xvfb is not None:
        # Qt first: a QApplication (its web engine especially) that outlives its X
        # server ends the process with an I/O error, and the run with exit code 1.
        _shut_qt_down()
        _xvfb.close()


def _shut_qt_down() -> None:
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance()
    if app is not None:
        app.processEvents()
        app.shutdown()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    global _netns_error
    _start_display()
    # Before any QApplication (some test modules create one at import).
    prepare_web_engine()
    if in_test_netns():
        return
    if os.geteuid() != 0:
        _netns_error = "interop tests need root to create the test network namespace"
        return
    try:
        enter_test_netns()
    except NetnsError as exc:
        _netns_error = str(exc)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Whatever talks to the real server is an interop test, so `-m interop` / `-m "not
    # interop"` select them without every test having to remember the marker.
    for item in items:
        if "livekit_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def _livekit_server_session() -> Iterator[LiveKitServer]:
    if not in_test_netns():
        if os.geteuid() != 0:
            pytest.skip(_netns_error or "not inside the test network namespace")
        pytest.fail(f"test network namespace unavailable: {_netns_error}")
    ensure_server_binary()
    server = LiveKitServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def livekit_server(_livekit_server_session: LiveKitServer) -> LiveKitServer:
    """The session's livekit-server, restarted first if an earlier test killed it."""
    if not _livekit_server_session.running:
        _livekit_server_session.start()
    return _livekit_server_session


@pytest.fixture
def token_factory(livekit_server: LiveKitServer) -> TokenFactory:
    """Mint tokens for the test server: `token_factory("alice", room, agent=True)`."""

    def factory(identity: str, room: str, **grants: Any) -> str:
        return mint_token(
            livekit_server.api_key,
            livekit_server.api_secret,
            identity=identity,
            room=room,
            **grants,
        )

    return factory


@pytest.fixture
def room_name(request: pytest.FixtureRequest) -> str:
    """A room name unique to this test (readable in server logs)."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")[:48]
    return f"{base}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def ours_and_sdk(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> AsyncIterator[tuple[OurClient, SdkPeer]]:
    """Our client ("ours", named Nous) and an official-SDK peer ("sdk", named SDK),
    both in this test's room; closed at the end."""
    ours = OurClient(livekit_server.ws_url, token_factory("ours", room_name, name="Nous"))
    peer = SdkPeer(livekit_server.ws_url, token_factory("sdk", room_name, name="SDK"))
    await ours.connect()
    await peer.connect()
    try:
        yield ours, peer
    finally:
        await peer.close()
        await ours.close()
