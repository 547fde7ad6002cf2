"""A private network namespace for tests, the benchmark and the local demo.

WebRTC stacks gather ICE candidates on every interface of the machine, so a server and
participants that merely listen on 127.0.0.1 would still exchange traffic over the real
network. Instead the whole run moves into a fresh network namespace that contains only
loopback and a veth pair (10.77.0.1/24 <-> 10.77.0.2/24): everything the server and the
participants can see is local to the run, and fault injection (`ip link set ... down`,
`tc qdisc ... netem`) cannot disturb anything else.

Both veth ends live inside the namespace, so nothing is ever added to the root
namespace. Linux needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2 for this.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import subprocess
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "HOST_INTERFACE",
    "HOST_IP",
    "NETNS_ENV",
    "PEER_INTERFACE",
    "PEER_IP",
    "NetnsError",
    "SandboxNetns",
    "cleanup_stale_namespaces",
    "current_test_netns",
    "enter_test_netns",
    "entering",
    "in_test_netns",
    "pid_alive",
    "remove_namespace",
    "run_ip",
    "sandbox_netns_name",
    "subprocess_netns_setup",
]

#: Address the server binds and advertises, and the one participants see as "the host".
HOST_IP = "10.77.0.2"
#: Address of the other veth end (a second local address, e.g. for a second node).
PEER_IP = "10.77.0.1"
PREFIX_LEN = 24
HOST_INTERFACE = "visio0"
PEER_INTERFACE = "visio1"
#: Set to the namespace name so subprocesses know they already run inside one.
NETNS_ENV = "VISIO_TEST_NETNS"
NETNS_PREFIX = "visio-"
NETNS_RUN_DIR = Path("/run/netns")

_CLONE_NEWNET = 0x40000000
_STALE_NAME = re.compile(rf"^{re.escape(NETNS_PREFIX)}(\d+)$")


class NetnsError(RuntimeError):
    """The test network namespace could not be created, entered or removed."""


@dataclass
class SandboxNetns:
    """Handle on the namespace this process created (and will delete at exit)."""

    name: str
    owner_pid: int
    host_ip: str = HOST_IP
    peer_ip: str = PEER_IP
    host_interface: str = HOST_INTERFACE
    peer_interface: str = PEER_INTERFACE
    deleted: bool = field(default=False, init=False)

    def delete(self) -> None:
        """Kill what still runs in the namespace (except us) and remove its name.

        The kernel keeps the namespace alive while this process is inside it; removing the
        name only guarantees nothing new can join and that `ip netns list` is clean.
        """
        if self.deleted or os.getpid() != self.owner_pid:
            # A forked child inherits the atexit hook; only the creator may clean up.
            return
        self.deleted = True
        remove_namespace(self.name)


_lock = threading.Lock()
_handle: SandboxNetns | None = None


def in_test_netns() -> bool:
    """True when the calling thread runs inside the namespace named by $VISIO_TEST_NETNS."""
    name = os.environ.get(NETNS_ENV)
    return bool(name) and _is_current_namespace(str(name))


def sandbox_netns_name() -> str | None:
    """The test namespace this process belongs to ($VISIO_TEST_NETNS, if it exists).

    Unlike `in_test_netns`, this does not depend on the calling thread: a thread started
    before `enter_test_netns` stays outside, yet the process still has a sandbox.
    """
    name = os.environ.get(NETNS_ENV)
    if name and (NETNS_RUN_DIR / name).exists():
        return name
    return None


def subprocess_netns_setup() -> Callable[[], None] | None:
    """A `preexec_fn` that puts a child into the test namespace, or None if not needed.

    A child inherits the namespace of the thread that forks it, so a subprocess started
    from a thread that predates `enter_test_netns` (e.g. an executor thread) would
    otherwise land in the root namespace and use the real network.
    """
    name = sandbox_netns_name()
    if name is None or _is_current_namespace(name):
        return None
    return entering(NETNS_RUN_DIR / name)


def entering(path: Path) -> Callable[[], None]:
    """A function moving the calling thread into the namespace at `path` (a
    `preexec_fn`, or the first thing a thread does); raises OSError if it cannot."""
    libc = _libc()

    def enter() -> None:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if libc.setns(fd, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns({path}) failed")
        finally:
            os.close(fd)

    return enter


def current_test_netns() -> SandboxNetns | None:
    """The handle of the namespace this process created, if any."""
    return _handle


def enter_test_netns() -> str:
    """Move this process into a private test network namespace; return the host IP.

    Idempotent: when a test namespace exists already (created by this process, or by a
    parent that exported $VISIO_TEST_NETNS), the calling thread joins it if needed and the
    host IP is returned. Otherwise it creates `visio-<pid>`, moves the calling thread into
    it and registers its removal at exit.

    Call it before any thread that does networking exists: setns(2) moves only the
    calling thread, and threads started afterwards inherit its namespace, as do
    subprocesses it starts afterwards.
    """
    global _handle
    with _lock:
        existing = sandbox_netns_name()
        if existing is not None:
            # Ours or a parent's: a thread that started before the namespace was entered
            # joins it; nothing is created.
            if not _is_current_namespace(existing):
                _setns(existing)
            return HOST_IP
        _check_prerequisites()
        cleanup_stale_namespaces()
        name = f"{NETNS_PREFIX}{os.getpid()}"
        if (NETNS_RUN_DIR / name).exists():
            # Left by an earlier process that had our pid; it is dead by definition.
            _kill_namespace_processes(name, exclude={os.getpid()})
            _delete_namespace(name)
        _create_namespace(name)
        handle = SandboxNetns(name=name, owner_pid=os.getpid())
        try:
            _warn_about_other_threads()
            _setns(name)
            _disable_ipv6_on_veth()
        except BaseException:
            handle.delete()
            raise
        os.environ[NETNS_ENV] = name
        _handle = handle
        atexit.register(handle.delete)
        return HOST_IP


def cleanup_stale_namespaces() -> list[str]:
    """Delete `visio-<pid>` namespaces whose creating process is gone; return their names.

    A test run killed with SIGKILL cannot clean up after itself; its server may even
    still run inside its namespace, so leftover processes are killed first.
    """
    removed: list[str] = []
    try:
        names = sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return removed
    for name in names:
        match = _STALE_NAME.match(name)
        if match is None or pid_alive(int(match.group(1))):
            continue
        try:
            remove_namespace(name)
        except NetnsError as exc:
            warnings.warn(f"could not remove stale namespace {name}: {exc}", stacklevel=2)
            continue
        removed.append(name)
    return removed


# --------------------------------------------------------------------------- helpers


def _check_prerequisites() -> None:
    if os.geteuid() != 0:
        raise NetnsError(
            "creating the test network namespace needs root (CAP_SYS_ADMIN and "
            "CAP_NET_ADMIN); run the interop tests, the benchmark and the demo as root"
        )
    if shutil.which("ip") is None:
        raise NetnsError("the `ip` command (iproute2) is missing; run `make deps`")


def run_ip(*args: str) -> None:
    """Run `ip ARGS`; a failure raises NetnsError with its message."""
    try:
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)
    except subprocess.CalledProcessError as exc:
        raise NetnsError(f"`ip {' '.join(args)}` failed: {exc.stderr.strip()}") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetnsError(f"`ip {' '.join(args)}` failed: {exc}") from exc


def _create_namespace(name: str) -> None:
    run_ip("netns", "add", name)
    try:
        # `ip -n` runs each command inside the namespace: both veth ends are created
        # there, so the root namespace never sees them.
        run_ip("-n", name, "link", "set", "lo", "up")
        run_ip(
            "-n", name, "link", "add", HOST_INTERFACE,
            "type", "veth", "peer", "name", PEER_INTERFACE,
        )  # fmt: skip
        run_ip("-n", name, "addr", "add", f"{HOST_IP}/{PREFIX_LEN}", "dev", HOST_INTERFACE)
        run_ip("-n", name, "addr", "add", f"{PEER_IP}/{PREFIX_LEN}", "dev", PEER_INTERFACE)
        run_ip("-n", name, "link", "set", HOST_INTERFACE, "up")
        run_ip("-n", name, "link", "set", PEER_INTERFACE, "up")
    except NetnsError:
        _delete_namespace(name)
        raise


def _delete_namespace(name: str) -> None:
    if (NETNS_RUN_DIR / name).exists():
        run_ip("netns", "delete", name)


def remove_namespace(name: str) -> None:
    """Kill what runs in namespace `name` (except this process) and delete it."""
    _kill_namespace_processes(name, exclude={os.getpid()})
    _delete_namespace(name)


def _namespace_pids(name: str) -> list[int]:
    try:
        out = subprocess.run(
            ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [int(tok) for tok in out.split() if tok.isdigit()]


def _kill_namespace_processes(name: str, *, exclude: set[int]) -> None:
    for pid in _namespace_pids(name):
        if pid in exclude:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_current_namespace(name: str) -> bool:
    try:
        ours = os.stat("/proc/thread-self/ns/net")
        theirs = os.stat(NETNS_RUN_DIR / name)
    except OSError:
        return False
    return (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino)


def _warn_about_other_threads() -> None:
    # Only Python threads are listed: native ones (Qt, codecs) do no networking of ours.
    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if others:
        warnings.warn(
            f"entering the test network namespace while other threads run ({', '.join(others)}): "
            "they stay outside it; call enter_test_netns() before starting them",
            RuntimeWarning,
            stacklevel=3,
        )


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(name: str) -> None:
    # Python 3.11 has no os.setns; call libc directly.
    libc = _libc()
    fd = os.open(NETNS_RUN_DIR / name, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise NetnsError(f"setns({name}) failed: {os.strerror(err)}")
    finally:
        os.close(fd)
    if not _is_current_namespace(name):
        raise NetnsError(f"setns({name}) returned success but the namespace did not change")


def _disable_ipv6_on_veth() -> None:
    # The veth ends would otherwise carry fe80:: addresses that some WebRTC stacks
    # (libwebrtc) gather as extra candidates; IPv4 alone keeps runs deterministic.
    # /proc/sys/net reflects the namespace of the thread that opens it, now ours.
    for ifname in (HOST_INTERFACE, PEER_INTERFACE):
        path = Path(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6")
        # A kernel without IPv6 has nothing to disable.
        with contextlib.suppress(OSError):
            path.write_text("1\n")
