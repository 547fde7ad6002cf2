"""A Visio sign-in (the session cookie for one server) kept in the OS keychain.

One ``keyring`` entry per server: the service is the application's name, the user name
the server's host (``netloc`` of its base URL, lowercased), the password a compact JSON
document with the cookie, the CSRF token and the name shown in the interface.

Only keychains that keep secrets encrypted and tied to the user's session are used: the
Secret Service (gnome-keyring, KeePassXC, KWallet's Secret Service interface) on Linux,
the Keychain on macOS and the Credential Locker on Windows.  Anything else keyring
may offer (its ``fail`` and ``null`` backends, a chainer with none of those behind it,
keyrings.alt's files, third-party backends) is refused: ``available()`` is False and
``save`` raises ``KeychainUnavailable``, so the caller keeps the sign-in in memory for
this run only, never in a plain file.  docs/keychain.md explains the choice.

Every call blocks (D-Bus on Linux, and an unlock prompt may appear): call them off the
interface thread.  They run, in order, on one worker thread of the store, and a call
the keychain does not answer within ``timeout_s`` gives up (a frozen daemon must not
hang the caller).  No value of a sign-in is ever logged.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import keyring
import keyring.backend
import keyring.errors
from keyring.backends.chainer import ChainerBackend

log = logging.getLogger(__name__)

T = TypeVar("T")
#: A keychain call waiting for the worker, and where its outcome goes.
_Call = tuple[concurrent.futures.Future[Any], Callable[[], Any]]

#: The backends (module.class) that keep secrets encrypted in the user's session.
#: Matched exactly: a subclass may store its secrets anywhere.
_SAFE_BACKENDS = frozenset(
    {
        "keyring.backends.SecretService.Keyring",
        # The same Secret Service reached through libsecret (PyGObject).
        "keyring.backends.libsecret.Keyring",
        "keyring.backends.macOS.Keyring",
        "keyring.backends.Windows.WinVaultKeyring",
    }
)

#: Version of the stored document; another one is not read (a newer release wrote it).
_FORMAT = 1
#: As long as D-Bus waits for a method reply by default (libdbus' 25 s).
DEFAULT_TIMEOUT_S = 25.0
#: How long the worker thread waits for more calls before it ends.
_WORKER_IDLE_S = 5.0
#: ``forget`` removes duplicates too (written by another keyring client); bounded.
_MAX_DELETES = 16


@dataclass(frozen=True)
class SavedSignIn:
    #: The server's ``netloc``: "visio.numerique.gouv.fr", "127.0.0.1:8443".
    host: str
    #: The session cookie's name as the server set it (sessionid, meet_sessionid, ...).
    cookie_name: str
    # The secrets stay out of repr(): a logged object must not leak them.
    cookie_value: str = field(repr=False)
    #: May be "" (the server sets it on the first unsafe request).
    csrf_token: str = field(repr=False)
    #: Shown in the interface ("Signed in as ...").
    user_name: str = ""


class KeychainUnavailable(Exception):
    """No safe keychain, or it failed (locked, unreachable, did not answer)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Refused(KeychainUnavailable):
    """The backend is refused by policy (nothing of ours can be in it)."""


class SignInStore:
    def __init__(
        self,
        service: str = "visio-desktop",
        backend: keyring.backend.KeyringBackend | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """``backend`` None: the one keyring chose for this process (which honours
        the user's keyring configuration), once it passes the policy above."""
        self._service = service
        self._candidate = backend
        self._timeout_s = timeout_s
        self._backend: keyring.backend.KeyringBackend | None = None
        self._refusal: str | None = None
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()

    # --- public -------------------------------------------------------------------

    def available(self) -> bool:
        """Whether a keychain that keeps secrets safely is there."""
        try:
            self._call(self._resolved)
        except KeychainUnavailable as exc:
            log.info("No keychain for the sign-in: %s", exc.reason)
            return False
        return True

    def load(self, host: str) -> SavedSignIn | None:
        """The sign-in saved for ``host``; None if there is none or it cannot be read
        (no keychain, a locked or unreachable one, an entry that is not ours)."""
        key = _key(host)
        try:
            stored = self._call(lambda: self._resolved().get_password(self._service, key))
        except _Refused:
            return None
        except KeychainUnavailable as exc:
            log.warning("The sign-in for %s was not read from the keychain: %s", key, exc.reason)
            return None
        if stored is None:
            return None
        return _decode(key, stored)

    def save(self, sign_in: SavedSignIn) -> None:
        """Keep ``sign_in`` (replacing any for its host); raises ``KeychainUnavailable``
        with the reason when it cannot be kept."""
        key = _key(sign_in.host)
        if not sign_in.cookie_name or not sign_in.cookie_value:
            raise ValueError("a sign-in needs a session cookie")
        document = json.dumps(
            {
                "v": _FORMAT,
                "cookie_name": sign_in.cookie_name,
                "cookie_value": sign_in.cookie_value,
                "csrf_token": sign_in.csrf_token,
                "user_name": sign_in.user_name,
            },
            separators=(",", ":"),
        )
        self._call(
            lambda: self._resolved().set_password(self._service, key, document),
            secrets=(sign_in.cookie_value, sign_in.csrf_token),
        )

    def forget(self, host: str) -> None:
        """Remove the sign-in of ``host`` if there is one.  Without a safe keychain there
        is nothing of ours to remove; a keychain that fails raises ``KeychainUnavailable``
        (the entry may still be there)."""
        key = _key(host)
        try:
            self._call(lambda: self._delete(key))
        except _Refused:
            return

    # hosts() is deliberately absent: keyring cannot list entries, and an index of the
    # servers signed in to would have to live in a plain file.

    # --- keychain -----------------------------------------------------------------

    def _resolved(self) -> keyring.backend.KeyringBackend:
        """The backend to use, chosen once (on the worker thread: choosing may touch
        D-Bus); raises ``_Refused`` when there is no acceptable one."""
        if self._backend is not None:
            return self._backend
        if self._refusal is None:
            try:
                candidate = self._candidate
                if candidate is None:
                    candidate = keyring.get_keyring()
                self._backend = _acceptable(candidate)
            except _Refused as exc:
                self._refusal = exc.reason
            except Exception as exc:  # keyring's detection may raise anything
                self._refusal = f"the keychain cannot be opened ({type(exc).__name__})"
            if self._backend is not None:
                return self._backend
        assert self._refusal is not None
        raise _Refused(self._refusal)

    def _delete(self, key: str) -> None:
        backend = self._resolved()
        # Each call removes one matching entry; "none left" is PasswordDeleteError.
        for _ in range(_MAX_DELETES):
            try:
                backend.delete_password(self._service, key)
            except keyring.errors.PasswordDeleteError:
                return

    # --- worker -------------------------------------------------------------------

    def _call(self, operation: Callable[[], T], secrets: tuple[str, ...] = ()) -> T:
        """Run ``operation`` on the worker, after the calls before it; errors become
        ``KeychainUnavailable`` (never carrying one of ``secrets``)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._submit(future, operation)
        done, _ = concurrent.futures.wait([future], self._timeout_s)
        if not done:
            # Not started yet: dropped.  Started: it finishes when the keychain answers,
            # still before any later call.
            future.cancel()
            raise KeychainUnavailable(f"the keychain did not answer within {self._timeout_s:g} s")
        failure = future.exception()
        if failure is None:
            return future.result()
        if isinstance(failure, KeychainUnavailable):
            raise failure
        if not isinstance(failure, Exception):
            raise failure
        raise KeychainUnavailable(_reason(failure, secrets)) from None

    def _submit(self, future: concurrent.futures.Future[Any], operation: Callable[[], Any]) -> None:
        with self._worker_lock:
            self._calls.put((future, operation))
            if self._worker is None:
                # A daemon thread: a keychain that never answers must not keep the
                # application from quitting.
                self._worker = threading.Thread(
                    target=self._work, name="visio-keychain", daemon=True
                )
                self._worker.start()

    def _work(self) -> None:
        while True:
            try:
                future, operation = self._calls.get(timeout=_WORKER_IDLE_S)
            except queue.Empty:
                with self._worker_lock:
                    if self._calls.empty():
                        self._worker = None
                        return
                continue
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = operation()
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
            # The last call (a closure that may hold a secret) is not kept while idle.
            del future, operation


def _acceptable(backend: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
    """``backend`` itself, or for a chainer the first acceptable backend behind it."""
    if isinstance(backend, ChainerBackend):
        chained: list[keyring.backend.KeyringBackend] = list(backend.backends)
        for candidate in chained:
            if _qualified_name(candidate) in _SAFE_BACKENDS:
                return _viable(candidate)
        names = ", ".join(_qualified_name(candidate) for candidate in chained) or "none"
        raise _Refused(f"no safe keychain among the available ones ({names})")
    name = _qualified_name(backend)
    if name not in _SAFE_BACKENDS:
        raise _Refused(f"the keyring backend {name} does not keep secrets safely")
    return _viable(backend)


def _viable(backend: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
    try:
        # keyring's convention: a backend that cannot work here raises from priority.
        type(backend).priority  # noqa: B018
    except Exception as exc:
        raise _Refused(f"{_qualified_name(backend)} cannot be used here: {exc}") from None
    return backend


def _qualified_name(backend: keyring.backend.KeyringBackend) -> str:
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def _key(host: str) -> str:
    key = host.strip().lower()
    if not key:
        raise ValueError("a sign-in belongs to a server host")
    return key


def _reason(exc: BaseException, secrets: tuple[str, ...]) -> str:
    message = str(exc)
    if not message or any(secret and secret in message for secret in secrets):
        return type(exc).__name__
    if isinstance(exc, keyring.errors.KeyringLocked):
        return f"the keychain is locked ({message})"
    return f"{message} ({type(exc).__name__})"


def _decode(key: str, stored: str) -> SavedSignIn | None:
    """The stored document as a sign-in, or None (logged without its content)."""
    try:
        data = json.loads(stored)
    except ValueError:
        log.warning("The saved sign-in for %s is not readable (not JSON): ignored", key)
        return None
    if not isinstance(data, dict) or data.get("v") != _FORMAT:
        log.warning("The saved sign-in for %s is not in a known format: ignored", key)
        return None
    values = {
        name: data.get(name, "")
        for name in ("cookie_name", "cookie_value", "csrf_token", "user_name")
    }
    if not all(isinstance(value, str) for value in values.values()) or not (
        values["cookie_name"] and values["cookie_value"]
    ):
        log.warning("The saved sign-in for %s is incomplete: ignored", key)
        return None
    return SavedSignIn(host=key, **values)
