"""A second network namespace for the server side, linked to the sandbox by a veth pair.

    sandbox namespace (test process, our client)        server namespace visio-srv-<pid>-<n>
    vsrv<n>-c 10.78.<n>.1/24  <------- veth ------->   vsrv<n>-s 10.78.<n>.2/24
                                                       (livekit-server, SDK peers)

Everything the client sends to 10.78.<n>.2 crosses the veth, so filtering rules on
vsrv<n>-c (see `devtools.netfaults.faults`) act on real client <-> server traffic.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeVar

from devtools.sandbox.netns import (
    NetnsError,
    entering,
    in_test_netns,
    pid_alive,
    remove_namespace,
    run_ip,
)

if TYPE_CHECKING:
    from devtools.netfaults.faults import LinkFaults

__all__ = [
    "SERVER_NETNS_PREFIX",
    "ServerNamespace",
    "cleanup_stale_server_namespaces",
]

SERVER_NETNS_PREFIX = "visio-srv-"
NETNS_RUN_DIR = Path("/run/netns")
PREFIX_LEN = 24
#: Link numbers are 1..254 so that 10.78.<n>.0/24 stays a valid, distinct subnet.
_MAX_LINKS = 254
_NAME = re.compile(rf"^{re.escape(SERVER_NETNS_PREFIX)}(\d+)-(\d+)$")
# Two processes sharing one sandbox (pytest and a benchmark it starts, say) must not
# pick the same link number: their subnets would collide in that sandbox.
_ALLOC_LOCK = Path("/run/lock/visio-netfaults.lock")

_T = TypeVar("_T")


def cleanup_stale_server_namespaces() -> list[str]:
    """Delete `visio-srv-<pid>-<n>` namespaces whose creating process is gone."""
    removed: list[str] = []
    try:
        names = sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return removed
    for name in names:
        match = _NAME.match(name)
        if match is None or pid_alive(int(match.group(1))):
            continue
        try:
            remove_namespace(name)
        except NetnsError as exc:
            warnings.warn(f"could not remove stale namespace {name}: {exc}", stacklevel=2)
            continue
        removed.append(name)
    return removed


def _links_in_use() -> set[int]:
    try:
        names = os.listdir(NETNS_RUN_DIR)
    except FileNotFoundError:
        return set()
    return {int(m.group(2)) for m in map(_NAME.match, names) if m is not None}


class ServerNamespace:
    """A network namespace for the server side, joined to the sandbox by its own veth.

    Create it from a thread inside the sandbox namespace (`in_test_netns()`): the client
    end of the veth stays in the calling thread's namespace. `start()` / `close()` or a
    `with` block; also removed at exit, and a later run removes it if this process died.
    """

    def __init__(self) -> None:
        self._link: int | None = None
        self._owner_pid = os.getpid()
        self._faults: list[LinkFaults] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ addresses

    @property
    def link(self) -> int:
        """The link number n in 10.78.<n>.0/24 (valid once started)."""
        if self._link is None:
            raise NetnsError("ServerNamespace is not started")
        return self._link

    @property
    def name(self) -> str:
        """Namespace name, `visio-srv-<pid>-<n>` (usable with `ip netns exec`)."""
        return f"{SERVER_NETNS_PREFIX}{self._owner_pid}-{self.link}"

    @property
    def path(self) -> Path:
        return NETNS_RUN_DIR / self.name

    @property
    def client_ip(self) -> str:
        """Address of the veth end in the sandbox (the client's side of the link)."""
        return f"10.78.{self.link}.1"

    @property
    def server_ip(self) -> str:
        """Address of the veth end in the server namespace (bind servers here)."""
        return f"10.78.{self.link}.2"

    @property
    def subnet(self) -> str:
        return f"10.78.{self.link}.0/{PREFIX_LEN}"

    @property
    def client_interface(self) -> str:
        """The sandbox-side veth end: faults go on this interface."""
        return f"vsrv{self.link}-c"

    @property
    def server_interface(self) -> str:
        return f"vsrv{self.link}-s"

    @property
    def running(self) -> bool:
        return self._link is not None and self.path.exists()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        with self._lock:
            if self._link is not None:
                return self
            if not in_test_netns():
                raise NetnsError(
                    "ServerNamespace must be created from a thread inside the test network "
                    "namespace (devtools.sandbox.netns.enter_test_netns())"
                )
            cleanup_stale_server_namespaces()
            _ALLOC_LOCK.parent.mkdir(parents=True, exist_ok=True)
            with open(_ALLOC_LOCK, "a") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                used = _links_in_use()
                free = next((n for n in range(1, _MAX_LINKS + 1) if n not in used), None)
                if free is None:
                    raise NetnsError("no free 10.78.<n>.0/24 link left")
                self._link = free
                try:
                    self._create()
                except BaseException:
                    with contextlib.suppress(NetnsError):
                        remove_namespace(self.name)
                    self._link = None
                    raise
            atexit.register(self.close)
        return self

    def _create(self) -> None:
        name = self.name
        run_ip("netns", "add", name)
        # Run in the calling thread's namespace (the sandbox): the client end stays here,
        # the server end is created directly inside the new namespace.
        run_ip(
            "link", "add", self.client_interface,
            "type", "veth", "peer", "name", self.server_interface, "netns", name,
        )  # fmt: skip
        _disable_ipv6(self.client_interface)
        run_ip("addr", "add", f"{self.client_ip}/{PREFIX_LEN}", "dev", self.client_interface)
        run_ip("link", "set", self.client_interface, "up")
        self.call(_disable_ipv6, self.server_interface)
        run_ip("-n", name, "link", "set", "lo", "up")
        run_ip("-n", name, "addr", "add", f"{self.server_ip}/{PREFIX_LEN}", "dev",
            self.server_interface)  # fmt: skip
        run_ip("-n", name, "link", "set", self.server_interface, "up")

    def close(self) -> None:
        """Remove every fault rule made through `link_faults()`, kill what runs inside,
        delete the namespace (and so both veth ends)."""
        with self._lock:
            if self._link is None or os.getpid() != self._owner_pid:
                # A forked child inherits the atexit hook; only the creator cleans up.
                return
            for faults in self._faults:
                faults.close()
            self._faults.clear()
            with contextlib.suppress(NetnsError):
                remove_namespace(self.name)
            self._link = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._link is None:
            return "<ServerNamespace (not started)>"
        return f"<ServerNamespace {self.name} {self.client_ip} <-> {self.server_ip}>"

    # ------------------------------------------------------------------ faults

    def link_faults(self) -> LinkFaults:
        """Fault injection on this link, removed at the latest when the namespace closes."""
        from devtools.netfaults.faults import LinkFaults

        faults = LinkFaults(self.client_interface, self.server_ip)
        self._faults = [f for f in self._faults if not f.closed]
        self._faults.append(faults)
        return faults

    # ------------------------------------------------------------------ running inside

    def popen_args(self, cmd: Sequence[str]) -> list[str]:
        """Argument list running `cmd` inside the namespace (`ip netns exec` execs it,
        so the child's pid is the command's)."""
        return ["ip", "netns", "exec", self.name, *cmd]

    def preexec_fn(self) -> Callable[[], None]:
        """A `preexec_fn` for subprocess.Popen that moves the child into the namespace
        (keeps the caller's mount namespace, unlike `ip netns exec`)."""
        return entering(self.path)

    def thread(self, target: Callable[[], object], *, name: str | None = None) -> threading.Thread:
        """A started daemon thread that runs `target` inside the namespace (threads it
        starts and processes it forks are inside too)."""
        enter = self.preexec_fn()

        def run() -> None:
            enter()
            target()

        thread = threading.Thread(target=run, name=name or f"in-{self.name}", daemon=True)
        thread.start()
        return thread

    def call(self, fn: Callable[..., _T], *args: object, timeout_s: float = 30.0) -> _T:
        """Run `fn(*args)` in a thread inside the namespace and return its result."""
        future: Future[_T] = Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

        self.thread(run, name=f"call-in-{self.name}")
        return future.result(timeout_s)


def _disable_ipv6(interface: str) -> None:
    # fe80:: addresses on the veth would become extra ICE candidates for some stacks;
    # IPv4 alone keeps runs deterministic. /proc/sys/net is the calling thread's view.
    with contextlib.suppress(OSError):
        Path(f"/proc/sys/net/ipv6/conf/{interface}/disable_ipv6").write_text("1\n")
