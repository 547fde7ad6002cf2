"""Build and run a real livekit-server for tests, the benchmark and the local demo.

The server is the upstream Go binary at a pinned version, built once with `go install`
into the user's cache. Each `LiveKitServer` gets a generated config file and a log file
in a private temporary directory, and is meant to run inside the test network namespace
(see `devtools.sandbox.netns`) so that ICE only ever sees sandbox addresses.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import http.client
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from devtools.sandbox.netns import (
    HOST_IP,
    enter_test_netns,
    in_test_netns,
    sandbox_netns_name,
)
from devtools.sandbox.netns import PREFIX_LEN as NETNS_PREFIX_LEN

__all__ = [
    "DEFAULT_HTTP_PORT",
    "DEFAULT_RTC_TCP_PORT",
    "DEFAULT_RTC_UDP_PORT",
    "LIVEKIT_SERVER_VERSION",
    "TEST_API_KEY",
    "TEST_API_SECRET",
    "LiveKitServer",
    "LiveKitServerError",
    "ensure_server_binary",
    "server_binary_path",
]

#: v1.13.3+ carries a data-channel interop fix; v1.13.5 can be `go install`ed (no replace).
LIVEKIT_SERVER_VERSION = "v1.13.5"
SERVER_MODULE = "github.com/livekit/livekit-server/cmd/server"

TEST_API_KEY = "visio-test-key"
#: Fixed so logs and tokens are reproducible; 40 characters because the server warns about
#: secrets shorter than 32. Only ever used inside the sandbox.
TEST_API_SECRET = "visio-test-secret-db11a8e40da66793fd47d9"

DEFAULT_HTTP_PORT = 7880
DEFAULT_RTC_TCP_PORT = 7881
DEFAULT_RTC_UDP_PORT = 7882

_START_TIMEOUT_S = 20.0
_LOG_TAIL_LINES = 40
_PR_SET_PDEATHSIG = 1
_CLONE_NEWNET = 0x40000000
# Environment variables the server reads as configuration: a stray one in the developer's
# shell must not change what the tests run against.
_SERVER_ENV_VARS = (
    "LIVEKIT_CONFIG",
    "LIVEKIT_KEYS",
    "LIVEKIT_REGION",
    "LIVEKIT_TURN_CERT",
    "LIVEKIT_TURN_KEY",
    "NODE_IP",
    "UDP_PORT",
    "REDIS_HOST",
    "REDIS_PASSWORD",
)


class LiveKitServerError(RuntimeError):
    """The livekit-server binary could not be built, started or stopped."""


def server_binary_path(version: str = LIVEKIT_SERVER_VERSION) -> Path:
    """Where `ensure_server_binary` puts the binary: $XDG_CACHE_HOME/visio-desktop/..."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "visio-desktop" / f"livekit-server-{version}" / "server"


def ensure_server_binary(version: str = LIVEKIT_SERVER_VERSION) -> Path:
    """Return the server binary, building it with `go install` first if it is missing."""
    binary = server_binary_path(version)
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    go = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)),
        None,
    )
    if go is None:
        raise LiveKitServerError(
            f"livekit-server {version} is not built yet and the Go toolchain is missing: "
            f"install Go (1.26 or newer for livekit-server 1.13) or put a livekit-server "
            f"binary at {binary}"
        )
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOBIN=str(binary.parent))
    print(
        f"Building livekit-server {version} with `go install` into {binary.parent} "
        "(first run only, takes a few minutes)...",
        file=sys.stderr,
        flush=True,
    )
    # Output goes straight to our stderr so that a slow build visibly makes progress.
    result = subprocess.run(
        [go, "install", "-v", f"{SERVER_MODULE}@{version}"],
        env=env,
        stdout=sys.stderr,
        stderr=sys.stderr,
        check=False,
    )
    if result.returncode != 0 or not binary.is_file():
        raise LiveKitServerError(
            f"`go install {SERVER_MODULE}@{version}` failed (exit {result.returncode})"
        )
    print(f"livekit-server {version} ready: {binary}", file=sys.stderr, flush=True)
    return binary


class LiveKitServer:
    """A livekit-server subprocess with a generated config.

    Runs with a single UDP port for ICE (`rtc_udp_port`), ICE/TCP on `rtc_tcp_port` and
    HTTP + WebSocket signalling on `port`. Change all three to run a second server.

    `ice_servers` in JoinResponse: livekit-server 1.13 always advertises something. With
    no TURN and no `stun_servers` it lists public Twilio/Google STUN servers, which the
    sandbox cannot reach. By default the server's own TURN server is therefore enabled on
    `turn_udp_port` (inside the sandbox): JoinResponse then carries only that local
    `turn:` URL with credentials, which answers STUN and TURN at once. With
    `turn_udp_port=None` the server advertises `stun_servers` if given, else the public
    defaults (useful to test a client against unreachable ICE servers; note that a
    routable but silent STUN server costs aiortc a 5 s gathering timeout).

    `netns`: the name of another network namespace (under /run/netns, e.g. a
    `devtools.netfaults.ServerNamespace`) to fork the server into; `host_ip` must then be
    an address of that namespace. The caller's thread keeps its namespace, so the
    readiness probe reaches the server the way clients do, across the link.

    TURN transports of the embedded TURN server (pion/turn inside livekit-server 1.13,
    see pkg/service/turn.go and RoomManager.iceServersForParticipant upstream):

    - UDP on `turn_udp_port`, advertised as `turn:<node_ip>:<port>?transport=udp`.
    - TLS on `turn_tls_port` with `turn_cert_file` / `turn_key_file` (PEM; the server
      refuses to start without them). The server advertises it as
      `turns:<turn_domain>:443?transport=tcp` whatever `turn_tls_port` is, so clients only
      find it when it listens on 443 (fine in a namespace of its own). `turn_domain`
      defaults to `host_ip` (the server accepts an IPv4 literal there); the certificate
      must name it (an IP subjectAltName for an address).
    - Plain TCP: not available. `turn.external_tls: true` turns the TLS listener into a
      plain TCP one (for a TLS-terminating load balancer in front), but the advertised URL
      stays `turns:`, so a client would speak TLS to it and fail; and `rtc.turn_servers`
      entries (the only way to advertise `turn:...?transport=tcp`) carry static or
      HMAC-SHA1 credentials that the embedded server's own auth handler does not accept.
    """

    def __init__(
        self,
        *,
        host_ip: str | None = None,
        port: int = DEFAULT_HTTP_PORT,
        rtc_tcp_port: int = DEFAULT_RTC_TCP_PORT,
        rtc_udp_port: int = DEFAULT_RTC_UDP_PORT,
        turn_udp_port: int | None = 3478,
        turn_tls_port: int | None = None,
        turn_cert_file: str | os.PathLike[str] | None = None,
        turn_key_file: str | os.PathLike[str] | None = None,
        turn_domain: str | None = None,
        netns: str | None = None,
        stun_servers: Sequence[str] = (),
        api_key: str = TEST_API_KEY,
        api_secret: str = TEST_API_SECRET,
        empty_timeout_s: int = 10,
        departure_timeout_s: int = 5,
        log_level: str = "info",
        work_dir: str | os.PathLike[str] | None = None,
        binary: str | os.PathLike[str] | None = None,
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        if netns is not None and host_ip is None:
            raise LiveKitServerError("a server in another namespace needs its host_ip")
        if turn_tls_port is not None and (turn_cert_file is None or turn_key_file is None):
            raise LiveKitServerError("TURN/TLS needs turn_cert_file and turn_key_file")
        if host_ip is None:
            if sandbox_netns_name() is None:
                # Outside the sandbox the server would gather candidates (and listen
                # for ICE/TCP) on the machine's real interfaces: refuse to guess.
                raise LiveKitServerError(
                    "call devtools.sandbox.netns.enter_test_netns() before creating a "
                    "LiveKitServer, or pass host_ip explicitly"
                )
            host_ip = HOST_IP
        self._host_ip = host_ip
        self._port = port
        self._rtc_tcp_port = rtc_tcp_port
        self._rtc_udp_port = rtc_udp_port
        self._turn_udp_port = turn_udp_port
        self._turn_tls_port = turn_tls_port
        self._turn_cert_file = None if turn_cert_file is None else str(turn_cert_file)
        self._turn_key_file = None if turn_key_file is None else str(turn_key_file)
        self._turn_domain = turn_domain
        self._netns = netns
        self._stun_servers = list(stun_servers)
        self._api_key = api_key
        self._api_secret = api_secret
        self._empty_timeout_s = empty_timeout_s
        self._departure_timeout_s = departure_timeout_s
        self._log_level = log_level
        self._binary = Path(binary) if binary is not None else None
        self._extra_config = extra_config or {}
        self._owns_work_dir = work_dir is None
        self._work_dir = Path(
            tempfile.mkdtemp(prefix="visio-livekit-") if work_dir is None else work_dir
        )
        self._work_dir.mkdir(parents=True, exist_ok=True)
        self._config_path = self._work_dir / "livekit.yaml"
        self._log_path = self._work_dir / "livekit-server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    # ------------------------------------------------------------------ properties

    @property
    def host_ip(self) -> str:
        return self._host_ip

    @property
    def port(self) -> int:
        return self._port

    @property
    def netns(self) -> str | None:
        """The namespace the server runs in, when not the caller's."""
        return self._netns

    @property
    def ws_url(self) -> str:
        return f"ws://{self._host_ip}:{self._port}"

    @property
    def http_url(self) -> str:
        return f"http://{self._host_ip}:{self._port}"

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def api_secret(self) -> str:
        return self._api_secret

    @property
    def log_path(self) -> Path:
        return self._log_path

    @property
    def config_path(self) -> Path:
        return self._config_path

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # ------------------------------------------------------------------ config

    def config(self) -> dict[str, Any]:
        """The server configuration, as written to `config_path`."""
        rtc: dict[str, Any] = {
            "tcp_port": self._rtc_tcp_port,
            "udp_port": self._rtc_udp_port,
            # node_ip set explicitly: the server rewrites its host candidates to it and
            # never queries STUN servers itself to discover an external address.
            "use_external_ip": False,
            "node_ip": self._host_ip,
        }
        if ipaddress.ip_address(self._host_ip).is_loopback:
            # Loopback only (outside the sandbox): aiortc ignores 127.0.0.1 candidates, so
            # this mode only suits SDKs that gather loopback ones.
            rtc["enable_loopback_candidate"] = True
            rtc["ips"] = {"includes": [f"{self._host_ip}/32"]}
        if self._stun_servers:
            rtc["stun_servers"] = list(self._stun_servers)
        config: dict[str, Any] = {
            "port": self._port,
            "bind_addresses": sorted({self._host_ip, "127.0.0.1"}),
            "keys": {self._api_key: self._api_secret},
            "rtc": rtc,
            "room": {
                "auto_create": True,
                "empty_timeout": self._empty_timeout_s,
                "departure_timeout": self._departure_timeout_s,
            },
            "logging": {"level": self._log_level, "json": False},
        }
        if self._turn_udp_port is not None or self._turn_tls_port is not None:
            turn: dict[str, Any] = {
                "enabled": True,
                "bind_addresses": [self._host_ip],
                # The TURN server refuses to relay towards private addresses unless told
                # otherwise, and the sandbox has nothing but private addresses.
                "allow_restricted_peer_cidrs": [_sandbox_network(self._host_ip)],
            }
            if self._turn_udp_port is not None:
                turn["udp_port"] = self._turn_udp_port
            if self._turn_tls_port is not None:
                turn["tls_port"] = self._turn_tls_port
                turn["cert_file"] = self._turn_cert_file
                turn["key_file"] = self._turn_key_file
                turn["domain"] = self._turn_domain or self._host_ip
            config["turn"] = turn
        _deep_update(config, self._extra_config)
        return config

    def _write_config(self) -> None:
        # JSON is a subset of YAML, and json.dumps quotes every value safely.
        self._config_path.write_text(json.dumps(self.config(), indent=2) + "\n")

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout_s: float = _START_TIMEOUT_S) -> None:
        """Start the server and wait until its HTTP port answers."""
        if self.running:
            return
        if sandbox_netns_name() is not None and not in_test_netns():
            # This thread predates the sandbox (e.g. an asyncio.to_thread worker): move it
            # in, or the server it forks and the readiness probe it opens would both use
            # the root namespace.
            enter_test_netns()
        binary = self._binary if self._binary is not None else ensure_server_binary()
        self._write_config()
        env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_VARS}
        self._close_log()
        log_file = open(self._log_path, "ab")  # noqa: SIM115 - kept open while running
        self._log_file = log_file
        log_file.write(f"=== {time.strftime('%H:%M:%S')} starting {binary}\n".encode())
        log_file.flush()
        self._process = subprocess.Popen(
            [str(binary), "--config", str(self._config_path)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self._work_dir,
            preexec_fn=_child_setup(self._netns),
        )
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.kill()
            raise

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server: graceful SIGTERM, then forced, then SIGKILL."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            # The first SIGTERM starts a graceful drain that waits for every participant
            # to leave; the second makes it stop regardless.
            for sig_timeout in (1.0, timeout_s):
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                try:
                    process.wait(sig_timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if process.poll() is None:
            self.kill()
        self._process = None
        self._close_log()

    def kill(self) -> None:
        """SIGKILL the server (simulates a crash); the config and log stay in place."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
        self._process = None
        self._close_log()

    def restart(self, timeout_s: float = _START_TIMEOUT_S) -> None:
        """Stop (if running) and start again on the same ports with the same config."""
        self.stop()
        self.start(timeout_s)

    def close(self) -> None:
        """Stop the server and remove the temporary directory if we created it."""
        self.stop()
        if self._owns_work_dir and not os.environ.get("VISIO_KEEP_SERVER_LOGS"):
            shutil.rmtree(self._work_dir, ignore_errors=True)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self._log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LiveKitServer {self.ws_url} {state} log={self._log_path}>"

    # ------------------------------------------------------------------ internals

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise LiveKitServerError(
                    f"livekit-server exited during startup (exit {code}); "
                    f"log {self._log_path}:\n{self.log_tail()}"
                )
            if self._http_ok():
                return
            if time.monotonic() > deadline:
                raise LiveKitServerError(
                    f"livekit-server did not answer on {self.http_url} within {timeout_s:.0f} s; "
                    f"log {self._log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def _http_ok(self) -> bool:
        # http.client rather than urllib: urllib honours $http_proxy, which must never be
        # used for sandbox addresses.
        conn = http.client.HTTPConnection(self._host_ip, self._port, timeout=1.0)
        try:
            conn.request("GET", "/")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def _sandbox_network(host_ip: str) -> str:
    address = ipaddress.ip_address(host_ip)
    if address.is_loopback:
        return "127.0.0.0/8" if address.version == 4 else "::1/128"
    prefix = NETNS_PREFIX_LEN if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{host_ip}/{prefix}", strict=False))


def _deep_update(target: dict[str, Any], updates: dict[str, Any]) -> None:
    for key, value in updates.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _deep_update(current, value)
        else:
            target[key] = value


def _child_setup(netns: str | None = None) -> Callable[[], None] | None:
    """The server's `preexec_fn`: enter `netns` if given; make it die with us when safe.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, so it is only
    set when forking from the main thread, whose end is the end of the process. It keeps
    a SIGKILLed test run from leaving a server behind; otherwise the next run's stale
    namespace cleanup kills it.
    """
    pdeathsig = threading.current_thread() is threading.main_thread()
    if netns is None and not pdeathsig:
        return None
    # Loaded before forking: the child of a threaded process must not dlopen.
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    netns_path = None if netns is None else f"/run/netns/{netns}"

    def setup() -> None:
        if netns_path is not None:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns({netns_path}) failed")
            finally:
                os.close(fd)
        if pdeathsig:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return setup


def enter_sandbox_with_server() -> str:
    """Build the pinned server if it is missing, then enter the test namespace.

    The build needs the Go module proxy, which the namespace cannot reach: a tool that
    entered it first would fail on a machine where the server was never built.
    Returns the host IP inside the namespace.
    """
    from devtools.sandbox.netns import enter_test_netns

    ensure_server_binary()
    return enter_test_netns()
