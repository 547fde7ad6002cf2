"""A real browser in the call: headless Chromium running a livekit-client page.

The page (``devtools/browser_peer/page``) joins with Visio's web options (VP9 with
a VP8 backup, simulcast, dynacast, adaptive stream), publishes Chromium's fake
camera and microphone and counts what it receives.  Python has no playwright-core,
so a small Node script (``devtools/browser_peer/driver.mjs``) runs Chromium and
relays our calls to the page: one JSON object a line on its stdin and stdout.

Chromium is the system's (Debian's ``chromium`` package); nothing downloads a
browser.  The page is built from pinned npm packages (``package-lock.json``):
:func:`ensure_bundle` runs ``npm ci`` and the esbuild build when they are missing
or out of date.  ``npm ci`` needs the package registry, which the test network
namespace cannot reach: ``make browser-peer`` (``python -m devtools.browser_peer``)
does it beforehand; inside the sandbox only the offline build step runs.

Chromium inherits the network namespace of the process that starts it, so a peer
started from the tests lives in the test namespace beside the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from devtools.sandbox.netns import sandbox_netns_name, subprocess_netns_setup

__all__ = [
    "CHROMIUM_PATH",
    "PEER_DIR",
    "BrowserPeer",
    "BrowserPeerError",
    "InboundStats",
    "ensure_bundle",
]

PEER_DIR = Path(__file__).resolve().with_name("browser_peer")
CHROMIUM_PATH = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
_NODE_MODULES = PEER_DIR / "node_modules"
_DIST = PEER_DIR / "dist"
_INSTALL_STAMP = _NODE_MODULES / ".visio-installed"
_BUILD_STAMP = _DIST / ".visio-built"
#: What the bundle is built from: a change to any of them rebuilds it.
_BUILD_INPUTS = ("package-lock.json", "build.mjs", "page")
_PR_SET_PDEATHSIG = 1
#: Chromium's first start on a loaded 2-core machine takes seconds.
_START_TIMEOUT_S = 60.0
_CALL_TIMEOUT_S = 60.0


class BrowserPeerError(RuntimeError):
    """The browser peer cannot be built, started, or did not answer."""


def _digest(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(PEER_DIR)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _stamp_matches(stamp: Path, value: str) -> bool:
    try:
        return stamp.read_text() == value
    except OSError:
        return False


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    # Two test processes (or a test and `make browser-peer`) must not run npm at once.
    with open(PEER_DIR / ".build-lock", "w") as handle:  # gitignored
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str], what: str) -> None:
    print(f"browser peer: {what}...", file=sys.stderr, flush=True)
    result = subprocess.run(
        command, cwd=PEER_DIR, stdout=sys.stderr, stderr=sys.stderr, check=False
    )
    if result.returncode != 0:
        raise BrowserPeerError(f"`{' '.join(command)}` failed (exit {result.returncode})")


def ensure_bundle() -> Path:
    """Install the pinned npm packages and build the page when missing or outdated;
    return the page's HTML file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise BrowserPeerError("node and npm are needed for the browser peer")
    with _build_lock():
        lock_digest = _digest([PEER_DIR / "package-lock.json"])
        if not _stamp_matches(_INSTALL_STAMP, lock_digest):
            if sandbox_netns_name() is not None:
                raise BrowserPeerError(
                    "the browser peer's npm packages are not installed, and the test "
                    "network namespace cannot reach the registry: run `make browser-peer` "
                    "(or `python -m devtools.browser_peer`) first"
                )
            # Install scripts are not needed (esbuild's binary is an optional
            # dependency) and might fetch things: none runs.
            _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], "npm ci")
            _INSTALL_STAMP.write_text(lock_digest)
        build_digest = _digest([PEER_DIR / name for name in _BUILD_INPUTS])
        if not _stamp_matches(_BUILD_STAMP, build_digest):
            _run([node, "build.mjs"], "building the page")
            _BUILD_STAMP.write_text(build_digest)
    return _DIST / "index.html"


@dataclass(frozen=True)
class InboundStats:
    """What the page received on one remote track (WebRTC inbound-rtp, summed)."""

    participant: str
    sid: str
    kind: str
    mime_type: str
    bytes_received: int
    packets_received: int
    frames_decoded: int
    frames_per_second: float
    frame_width: int
    frame_height: int
    total_samples_received: int
    concealed_samples: int
    #: 0..1, of the last samples played (WebRTC's `audioLevel`).
    audio_level: float

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> InboundStats:
        inbound = entry.get("inbound") or {}
        return cls(
            participant=str(entry["participant"]),
            sid=str(entry["sid"]),
            kind=str(entry["kind"]),
            mime_type=str(inbound.get("mimeType") or ""),
            bytes_received=int(inbound.get("bytesReceived", 0)),
            packets_received=int(inbound.get("packetsReceived", 0)),
            frames_decoded=int(inbound.get("framesDecoded", 0)),
            frames_per_second=float(inbound.get("framesPerSecond", 0)),
            frame_width=int(inbound.get("frameWidth", 0)),
            frame_height=int(inbound.get("frameHeight", 0)),
            total_samples_received=int(inbound.get("totalSamplesReceived", 0)),
            concealed_samples=int(inbound.get("concealedSamples", 0)),
            audio_level=float(inbound.get("audioLevel", 0)),
        )


class PeerStats:
    """One snapshot of the page's state (``stats()`` in page/peer.js)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def inbound(self, participant: str, kind: str) -> InboundStats | None:
        for entry in self.raw.get("remote", []):
            matches = entry["participant"] == participant and entry["kind"] == kind
            if matches and entry.get("inbound") is not None:
                return InboundStats.from_json(entry)
        return None

    def local(self, kind: str) -> dict[str, Any] | None:
        for entry in self.raw.get("local", []):
            if entry["kind"] == kind:
                return cast(dict[str, Any], entry)
        return None

    @property
    def messages(self) -> list[dict[str, str]]:
        """Chat messages as the web app shows them (each id once)."""
        return cast(list[dict[str, str]], self.raw.get("messages", []))

    @property
    def chat_streams(self) -> list[dict[str, str]]:
        return cast(list[dict[str, str]], self.raw.get("chatStreams", []))

    @property
    def legacy_chat(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self.raw.get("legacyChat", []))

    @property
    def notifications(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self.raw.get("notifications", []))

    def attributes_of(self, identity: str) -> dict[str, str]:
        participant = self.raw.get("participants", {}).get(identity) or {}
        return cast(dict[str, str], participant.get("attributes", {}))


def _child_setup() -> Callable[[], None] | None:
    """Join the test namespace if the forking thread is outside it; die with us when
    forked from the main thread (PR_SET_PDEATHSIG fires when the forking thread ends)."""
    enter = subprocess_netns_setup()
    pdeathsig = threading.current_thread() is threading.main_thread()
    if enter is None and not pdeathsig:
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def setup() -> None:
        if enter is not None:
            enter()
        if pdeathsig:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return setup


class BrowserPeer:
    """Headless Chromium in the room, driven from asyncio.

    ``async with BrowserPeer() as peer: await peer.connect(url, token)``.  The
    page's console and Chromium's own output go to ``log_path``.
    """

    def __init__(self, *, chromium: Path = CHROMIUM_PATH, extra_args: Sequence[str] = ()) -> None:
        self._chromium = chromium
        self._extra_args = list(extra_args)
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._ready: asyncio.Future[str] | None = None
        self._log_dir = tempfile.TemporaryDirectory(prefix="visio-browser-peer-")
        self.log_path = Path(self._log_dir.name) / "browser.log"
        self.browser_version = ""

    async def start(self) -> None:
        """Build the page if needed, start Chromium and wait for the page to load."""
        if self._process is not None:
            raise BrowserPeerError("already started")
        if not os.access(self._chromium, os.X_OK):
            raise BrowserPeerError(
                f"{self._chromium} not found: install Debian's `chromium` package "
                "(scripts/install-debian-deps.sh)"
            )
        await asyncio.to_thread(ensure_bundle)
        node = shutil.which("node")
        assert node is not None  # ensure_bundle checked
        env = dict(
            os.environ,
            CHROMIUM=str(self._chromium),
            BROWSER_PEER_ARGS=json.dumps(self._extra_args),
        )
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child
        try:
            self._process = await asyncio.create_subprocess_exec(
                node,
                str(PEER_DIR / "driver.mjs"),
                cwd=PEER_DIR,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                preexec_fn=_child_setup(),
                # Chromium's JSON answers carry whole stats reports.
                limit=16 * 1024 * 1024,
            )
        finally:
            log.close()
        self._ready = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())
        try:
            self.browser_version = await asyncio.wait_for(
                asyncio.shield(self._ready), _START_TIMEOUT_S
            )
        except (TimeoutError, BrowserPeerError) as exc:
            await self.close()
            raise BrowserPeerError(f"the browser did not start: {exc}\n{self.log_tail()}") from exc

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        try:
            while line := await stdout.readline():
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if message.get("event") == "ready":
                    if self._ready is not None and not self._ready.done():
                        self._ready.set_result(str(message.get("version", "")))
                    continue
                future = self._pending.pop(message.get("id", -1), None)
                if future is None or future.done():
                    continue
                if "error" in message:
                    future.set_exception(BrowserPeerError(str(message["error"])))
                else:
                    future.set_result(message.get("result"))
        finally:
            # The driver is gone: nothing more will be answered.
            error = BrowserPeerError(f"the browser driver exited\n{self.log_tail()}")
            for future in [*self._pending.values(), self._ready]:
                if future is not None and not future.done():
                    future.set_exception(error)
            self._pending.clear()

    async def _call(self, method: str, *params: Any, timeout: float = _CALL_TIMEOUT_S) -> Any:
        process = self._process
        if process is None or process.stdin is None or process.returncode is not None:
            raise BrowserPeerError("the browser is not running")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        line = json.dumps({"id": request_id, "method": method, "params": list(params)})
        process.stdin.write(line.encode() + b"\n")
        await process.stdin.drain()
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)

    # --- the page's functions -------------------------------------------------------

    async def connect(self, url: str, token: str, *, resolution: str = "") -> dict[str, str]:
        """Join the room and publish the fake camera and microphone.

        ``resolution`` is a livekit-client ``VideoPresets`` name (``h360``,
        ``h720``...), as Visio's resolution setting; by default livekit-client's.
        """
        if self._process is None:
            await self.start()
        options = {"resolution": resolution} if resolution else {}
        return cast(dict[str, str], await self._call("connect", url, token, options))

    async def stats(self) -> PeerStats:
        return PeerStats(cast(dict[str, Any], await self._call("stats")))

    async def chat(self, text: str) -> str:
        """Send a chat message as the web app does; returns its id."""
        return cast(str, await self._call("chat", text))

    async def react(self, emoji: str) -> None:
        """Send a reaction (a name such as ``thumbs-up``) as the web app does."""
        await self._call("react", emoji)

    async def raise_hand(self, raised: bool = True) -> str:
        """Set the ``handRaisedAt`` attribute; returns its value."""
        return cast(str, await self._call("raiseHand", raised))

    async def leave(self) -> None:
        await self._call("close")

    async def close(self) -> None:
        """Leave the room and stop the browser (idempotent)."""
        process = self._process
        if process is not None:
            if process.returncode is None:
                with contextlib.suppress(Exception):
                    await self._call("close", timeout=10)
                # End of input ends the driver, which closes Chromium.
                if process.stdin is not None:
                    with contextlib.suppress(Exception):
                        process.stdin.close()
                try:
                    await asyncio.wait_for(process.wait(), 15)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            self._process = None
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)
            self._reader = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
        self._log_dir.cleanup()


if __name__ == "__main__":
    # `make browser-peer`: install and build outside the test namespace.
    print(ensure_bundle())
