"""A private Secret Service for the tests: gnome-keyring on a D-Bus session bus of its own.

``with secret_service() as session:`` starts ``dbus-daemon`` on a socket in a temporary
folder, then ``gnome-keyring-daemon`` (secrets component only) on that bus, with a
temporary home in which it creates the "login" keyring, encrypted with a random
password given on stdin, and unlocks it; so anything can store secrets at once, without
a prompt. Everything is removed when the context ends; the daemons also die with this
process (PR_SET_PDEATHSIG), so a SIGKILLed test run leaves none behind.

``session.env`` points a client process at this bus (and at the temporary home);
``session.use_in_this_process()`` does the same for this process and makes ``keyring``
detect its backend again, since keyring picks it once per process.

The bus reads no service files: nothing is ever started on demand, so a test that kills
gnome-keyring sees a Secret Service that is gone (not one restarted behind its back),
and an unlock prompt, which needs gcr's prompter, fails at once instead of waiting for
someone at a screen. This works as root and without any X or Wayland display.

Debian packages: ``dbus-daemon`` and ``gnome-keyring``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

import keyring.backend
import keyring.core
import secretstorage
import secretstorage.util
from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped]

_PR_SET_PDEATHSIG = 1

# A session bus that any local client may use; no <servicedir>, hence no activation.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SecretServiceError(RuntimeError):
    pass


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that kills the daemon when this process dies.

    The signal fires when the forking *thread* exits, so it is only set when forking
    from the main thread, whose end is the end of the process.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    # Loaded before forking: the child of a threaded process must not dlopen.
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def set_pdeathsig() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return set_pdeathsig


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    # A paused daemon would only handle SIGTERM once continued.
    process.send_signal(signal.SIGCONT)
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class SecretServiceSession:
    """A running private bus and gnome-keyring; see the module's docstring."""

    def __init__(self, root: Path | None = None) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="visio-secrets-")) if root is None else root
        #: The home of the keyring daemon (and of this process in ``use_in_this_process``):
        #: its keyrings are in ``home/.local/share/keyrings``.
        self.home = self.root / "home"
        self.runtime_dir = self.root / "runtime"
        self.socket = self.root / "bus"
        self.address = ""
        self._password = secrets.token_urlsafe(24)
        self._bus: subprocess.Popen[bytes] | None = None
        self._daemon: subprocess.Popen[bytes] | None = None
        self._logs: list[IO[bytes]] = []

    # --- lifecycle ----------------------------------------------------------------

    @property
    def keyrings_dir(self) -> Path:
        return self.home / ".local" / "share" / "keyrings"

    @property
    def env(self) -> dict[str, str]:
        """What points a Secret Service client at this bus, and its home and XDG folders
        at the temporary home (so no user's configuration or files are involved)."""
        return {
            "DBUS_SESSION_BUS_ADDRESS": self.address,
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
        }

    def start(self, timeout_s: float = 10.0) -> None:
        for program in ("dbus-daemon", "gnome-keyring-daemon"):
            if shutil.which(program) is None:
                raise SecretServiceError(
                    f"{program} is not installed (scripts/install-debian-deps.sh)"
                )
        self.home.mkdir(parents=True, exist_ok=True)
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = self.root / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket=escape(str(self.socket))))
        deadline = time.monotonic() + timeout_s
        try:
            self._start_bus(config, deadline)
            self._start_keyring(deadline)
        except BaseException:
            self.stop()
            raise

    def _log(self, name: str) -> IO[bytes]:
        log = (self.root / name).open("ab")
        self._logs.append(log)
        return log

    def _start_bus(self, config: Path, deadline: float) -> None:
        self._bus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            env=self._daemon_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log("dbus-daemon.log"),
            preexec_fn=_die_with_parent(),
        )
        assert self._bus.stdout is not None
        # The address is printed once the bus listens.
        ready, _, _ = select.select(
            [self._bus.stdout], [], [], max(0.0, deadline - time.monotonic())
        )
        line = self._bus.stdout.readline().decode().strip() if ready else ""
        self._bus.stdout.close()
        if not line:
            raise SecretServiceError(f"dbus-daemon did not start: {self.log_tail('dbus-daemon')}")
        self.address = line

    def _start_keyring(self, deadline: float) -> None:
        # --unlock reads the password on stdin and creates the login keyring with it
        # when there is none yet (the way PAM starts it at a desktop login).
        self._daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--components=secrets", "--unlock"],
            env=self._daemon_env(),
            stdin=subprocess.PIPE,
            stdout=self._log("gnome-keyring.log"),
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent(),
        )
        assert self._daemon.stdin is not None
        self._daemon.stdin.write(self._password.encode())
        self._daemon.stdin.close()
        while not self._collection_ready():
            if self._daemon.poll() is not None:
                raise SecretServiceError(
                    f"gnome-keyring-daemon exited: {self.log_tail('gnome-keyring')}"
                )
            if time.monotonic() > deadline:
                raise SecretServiceError(
                    f"gnome-keyring has no unlocked login keyring: {self.log_tail('gnome-keyring')}"
                )
            time.sleep(0.02)

    def _collection_ready(self) -> bool:
        try:
            with self.connection() as connection:
                if not secretstorage.check_service_availability(connection):
                    return False
                return not secretstorage.get_default_collection(connection).is_locked()
        except (secretstorage.SecretStorageException, OSError):
            return False

    def _daemon_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        # No display: nothing may try to show a prompt.
        for key in ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "GNOME_KEYRING_CONTROL"):
            env.pop(key, None)
        if not self.address:
            env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        return env

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.root / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        _stop(self._daemon)
        _stop(self._bus)
        self._daemon = self._bus = None
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    # --- clients ------------------------------------------------------------------

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A D-Bus connection to this bus, ready for ``secretstorage`` calls (whatever
        this process's environment says)."""
        connection = open_dbus_connection(self.address)
        try:
            secretstorage.util.add_match_rules(connection)
            yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def use_in_this_process(self) -> Iterator[None]:
        """This process's environment pointed at the session (``env``), and ``keyring``'s
        backend detected again in it; both put back afterwards.

        keyring lists the viable backends once per process and keeps the one it chose:
        both are forgotten on entry and on exit, so it decides as a fresh process would.
        """
        saved = {key: os.environ.get(key) for key in (*self.env, "PYTHON_KEYRING_BACKEND")}
        os.environ.update(self.env)
        os.environ.pop("PYTHON_KEYRING_BACKEND", None)
        redetect_keyring()
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            redetect_keyring()

    # --- faults -------------------------------------------------------------------

    @property
    def keyring_pid(self) -> int:
        if self._daemon is None:
            raise SecretServiceError("gnome-keyring-daemon is not running")
        return self._daemon.pid

    def lock(self) -> None:
        """Lock the default collection, as a screen lock or an idle timeout would."""
        with self.connection() as connection:
            secretstorage.get_default_collection(connection).lock()

    def kill_keyring(self) -> None:
        """SIGKILL gnome-keyring; the bus stays, with no Secret Service on it."""
        if self._daemon is not None:
            self._daemon.kill()
            self._daemon.wait(5)

    def kill_bus(self) -> None:
        """SIGKILL the bus (gnome-keyring then leaves by itself)."""
        if self._bus is not None:
            self._bus.kill()
            self._bus.wait(5)

    def pause_keyring(self) -> None:
        """SIGSTOP gnome-keyring: it stays on the bus and never answers."""
        os.kill(self.keyring_pid, signal.SIGSTOP)

    def resume_keyring(self) -> None:
        os.kill(self.keyring_pid, signal.SIGCONT)

    def restart_keyring(self, timeout_s: float = 10.0) -> None:
        """Stop gnome-keyring and start it again on the same home, as after a reboot:
        it finds the login keyring on disk and unlocks it with the same password."""
        _stop(self._daemon)
        self._start_keyring(time.monotonic() + timeout_s)

    def __enter__(self) -> SecretServiceSession:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def redetect_keyring() -> None:
    """Make keyring choose its backend again, as a process started now would.

    keyring lists the viable backends once per process (``get_all_keyring``, whose
    ``jaraco.functools.once`` keeps the result in ``saved_result``) and they depend on
    the environment (the session bus, the home folder's keyringrc.cfg)."""
    vars(keyring.backend.get_all_keyring).pop("saved_result", None)
    keyring.core.init_backend()


@contextlib.contextmanager
def secret_service() -> Iterator[SecretServiceSession]:
    """A running private Secret Service, removed when the context ends."""
    with SecretServiceSession() as session:
        yield session
