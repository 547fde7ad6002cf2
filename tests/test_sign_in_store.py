"""A Visio sign-in lives in the OS keychain: here a real gnome-keyring on a private
D-Bus bus (tests/secret_service_fixtures.py).  It is there and nowhere else, survives a
restart of the keychain, is forgotten on request; keychains that would not keep it
safely are refused; a keychain that dies, locks or freezes never crashes or hangs us."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
import secretstorage
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, fail, null
from keyring.backends.chainer import ChainerBackend
from keyring.errors import PasswordDeleteError

from client.visio.sign_in_store import KeychainUnavailable, SavedSignIn, SignInStore
from devtools.secret_service import SecretServiceSession, redetect_keyring

HOST = "visio.example.test"
SERVICE = "visio-desktop"
# Far above what a working call takes (milliseconds), far below a hang.
FEW_SECONDS = 5.0


def make_sign_in(host: str = HOST, user_name: str = "Anne Martin") -> SavedSignIn:
    # Fresh random values: searching files and logs for them finds only real leaks.
    return SavedSignIn(
        host=host,
        cookie_name="sessionid",
        cookie_value=secrets.token_urlsafe(32),
        csrf_token=secrets.token_urlsafe(24),
        user_name=user_name,
    )


def items_in_secret_service(session: SecretServiceSession, host: str) -> list[dict[str, Any]]:
    """The entries for ``host`` as the Secret Service itself holds them (no keyring)."""
    with session.connection() as connection:
        collection = secretstorage.get_default_collection(connection)
        return [
            {"attributes": item.get_attributes(), "secret": item.get_secret().decode()}
            for item in collection.search_items({"service": SERVICE, "username": host})
        ]


def files_containing(root: Path, *needles: str) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(needle.encode() in data for needle in needles):
                found.append(path)
    return found


# --- through the real Secret Service ------------------------------------------------


def test_a_sign_in_is_in_the_secret_service_and_in_no_plain_file(
    secret_service: SecretServiceSession,
) -> None:
    store = SignInStore()
    assert store.available()
    login_keyring = secret_service.keyrings_dir / "login.keyring"
    on_disk_before = login_keyring.read_bytes()
    sign_in = make_sign_in()

    store.save(sign_in)

    assert store.load(HOST) == sign_in
    [item] = items_in_secret_service(secret_service, HOST)
    assert json.loads(item["secret"]) == {
        "v": 1,
        "cookie_name": "sessionid",
        "cookie_value": sign_in.cookie_value,
        "csrf_token": sign_in.csrf_token,
        "user_name": "Anne Martin",
    }
    assert item["attributes"]["service"] == SERVICE
    # gnome-keyring wrote it to its keyring file, encrypted: neither value is readable
    # in any file of the home (this process's too) or of the daemons' folders.
    assert login_keyring.read_bytes() != on_disk_before
    assert Path.home() == secret_service.home
    assert files_containing(secret_service.root, sign_in.cookie_value, sign_in.csrf_token) == []


def test_a_relaunch_finds_the_sign_in(secret_service: SecretServiceSession) -> None:
    sign_in = make_sign_in()
    SignInStore().save(sign_in)
    # The keychain restarts too (as after a reboot): the entry comes from its file.
    secret_service.restart_keyring()
    redetect_keyring()

    assert SignInStore().load(HOST) == sign_in


def test_saving_again_replaces_the_entry(secret_service: SecretServiceSession) -> None:
    store = SignInStore()
    store.save(make_sign_in())
    newer = make_sign_in(user_name="Anne M.")
    store.save(newer)

    assert store.load(HOST) == newer
    [item] = items_in_secret_service(secret_service, HOST)
    assert json.loads(item["secret"])["cookie_value"] == newer.cookie_value


def test_each_server_has_its_own_entry_keyed_by_lowercase_host(
    secret_service: SecretServiceSession,
) -> None:
    store = SignInStore()
    first = make_sign_in("Visio.Example.TEST")
    local = make_sign_in("127.0.0.1:8443", user_name="Dev")
    store.save(first)
    store.save(local)

    loaded = store.load("visio.example.test")
    assert loaded is not None
    assert loaded.host == HOST
    assert loaded.cookie_value == first.cookie_value
    assert store.load("127.0.0.1:8443") == local
    assert store.load("127.0.0.1:8444") is None
    assert len(items_in_secret_service(secret_service, HOST)) == 1


def test_forget_removes_it_from_the_secret_service(secret_service: SecretServiceSession) -> None:
    store = SignInStore()
    store.save(make_sign_in())
    other = make_sign_in("other.example.test")
    store.save(other)

    store.forget(HOST)

    assert items_in_secret_service(secret_service, HOST) == []
    assert store.load(HOST) is None
    assert SignInStore().load(HOST) is None
    assert store.load("other.example.test") == other
    store.forget(HOST)  # idempotent
    store.forget("never.example.test")


def test_forget_removes_duplicates_left_by_another_client(
    secret_service: SecretServiceSession,
) -> None:
    store = SignInStore()
    store.save(make_sign_in())
    # Another Secret Service client with other attributes: a second matching item.
    with secret_service.connection() as connection:
        collection = secretstorage.get_default_collection(connection)
        collection.create_item(
            "stray", {"service": SERVICE, "username": HOST, "application": "other"}, b"{}"
        )
    assert len(items_in_secret_service(secret_service, HOST)) == 2

    store.forget(HOST)

    assert items_in_secret_service(secret_service, HOST) == []


@pytest.mark.parametrize(
    "stored",
    [
        "cookie=SECRETVALUE not json",
        '["SECRETVALUE"]',
        '{"v":2,"cookie_name":"sessionid","cookie_value":"SECRETVALUE","csrf_token":""}',
        '{"v":1,"cookie_name":"sessionid","csrf_token":"SECRETVALUE"}',
        '{"v":1,"cookie_name":"sessionid","cookie_value":"SECRETVALUE","csrf_token":7}',
    ],
    ids=["not-json", "not-an-object", "newer-format", "no-cookie", "wrong-type"],
)
def test_an_entry_that_is_not_ours_reads_as_none_and_is_not_logged(
    secret_service: SecretServiceSession, caplog: pytest.LogCaptureFixture, stored: str
) -> None:
    keyring.get_keyring().set_password(SERVICE, HOST, stored)
    caplog.set_level(logging.DEBUG)

    assert SignInStore().load(HOST) is None

    assert "SECRETVALUE" not in caplog.text
    assert any(HOST in record.getMessage() for record in caplog.records)


def test_no_value_reaches_a_log_or_a_repr(
    secret_service: SecretServiceSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = SignInStore()
    sign_in = make_sign_in()
    store.save(sign_in)
    store.load(HOST)
    secret_service.lock()
    with pytest.raises(KeychainUnavailable) as failure:
        store.save(sign_in)
    store.load(HOST)
    with pytest.raises(KeychainUnavailable):
        store.forget(HOST)

    for text in (caplog.text, repr(sign_in), str(failure.value)):
        assert sign_in.cookie_value not in text
        assert sign_in.csrf_token not in text
    assert "sessionid" in repr(sign_in)


# --- refused keychains ---------------------------------------------------------------


class PlaintextKeyring(KeyringBackend):
    """Works, but as keyrings.alt's file backends do, a secret anyone can read."""

    __module__ = "keyrings.alt.file"
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class SecretServiceLookalike(SecretService.Keyring):
    """A subclass of an accepted backend: it could store anywhere."""


class FixedChain(ChainerBackend):
    """keyring's chainer over given backends (the real one lists the installed ones)."""

    def __init__(self, backends: list[KeyringBackend]) -> None:
        super().__init__()
        self._chained = backends

    @property  # type: ignore[override]
    def backends(self) -> list[KeyringBackend]:
        return self._chained


# Defining a backend registers it with keyring: out of its detection for other tests.
for _kind in (PlaintextKeyring, SecretServiceLookalike, FixedChain):
    KeyringBackend._classes.discard(_kind)  # type: ignore[attr-defined]


def assert_refused(store: SignInStore) -> None:
    assert not store.available()
    with pytest.raises(KeychainUnavailable) as refusal:
        store.save(make_sign_in())
    assert refusal.value.reason
    assert store.load(HOST) is None
    store.forget(HOST)  # nothing of ours can be there: not an error


@pytest.mark.parametrize(
    "make_backend",
    [fail.Keyring, null.Keyring, lambda: FixedChain([])],
    ids=["fail", "null", "empty-chainer"],
)
def test_keyrings_fail_and_null_backends_are_refused(make_backend: Any) -> None:
    assert_refused(SignInStore(backend=make_backend()))


def test_a_plain_file_backend_is_refused_and_never_written() -> None:
    plaintext = PlaintextKeyring()
    assert_refused(SignInStore(backend=plaintext))
    assert_refused(SignInStore(backend=FixedChain([plaintext])))
    assert plaintext.entries == {}


def test_a_subclass_of_an_accepted_backend_is_refused(secret_service: SecretServiceSession) -> None:
    assert_refused(SignInStore(backend=SecretServiceLookalike()))
    assert items_in_secret_service(secret_service, HOST) == []


def test_a_chainer_uses_its_secret_service_not_its_plain_file(
    secret_service: SecretServiceSession,
) -> None:
    plaintext = PlaintextKeyring()
    store = SignInStore(backend=FixedChain([plaintext, SecretService.Keyring()]))
    sign_in = make_sign_in()

    store.save(sign_in)

    assert store.load(HOST) == sign_in
    assert len(items_in_secret_service(secret_service, HOST)) == 1
    assert plaintext.entries == {}


@pytest.fixture
def no_keychain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A session with no Secret Service at all (an autologin kiosk, a bare container),
    keyring's own detection run in it."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    for variable, folder in (
        ("HOME", ""),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        monkeypatch.setenv(variable, str(tmp_path / folder))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    redetect_keyring()
    try:
        yield tmp_path
    finally:
        monkeypatch.undo()
        redetect_keyring()


def test_without_a_secret_service_the_sign_in_is_not_kept(no_keychain: Path) -> None:
    store = SignInStore()
    sign_in = make_sign_in()
    started = time.monotonic()

    assert not store.available()
    with pytest.raises(KeychainUnavailable):
        store.save(sign_in)
    assert store.load(HOST) is None

    assert time.monotonic() - started < FEW_SECONDS
    assert files_containing(no_keychain, sign_in.cookie_value) == []


# --- a keychain that fails while we run --------------------------------------------


@pytest.mark.parametrize("fault", ["kill_keyring", "kill_bus"])
def test_a_keychain_killed_mid_run_gives_errors_not_crashes(
    secret_service: SecretServiceSession, fault: str
) -> None:
    store = SignInStore()
    store.save(make_sign_in())
    getattr(secret_service, fault)()
    started = time.monotonic()

    assert store.load(HOST) is None
    with pytest.raises(KeychainUnavailable) as failure:
        store.save(make_sign_in())
    with pytest.raises(KeychainUnavailable):
        store.forget(HOST)
    # A store created after the keychain went away finds none.
    late = SignInStore()
    assert not late.available()
    assert late.load(HOST) is None
    with pytest.raises(KeychainUnavailable):
        late.save(make_sign_in())

    assert time.monotonic() - started < FEW_SECONDS
    assert failure.value.reason


def test_a_locked_keychain_gives_errors_without_waiting_for_a_prompt(
    secret_service: SecretServiceSession,
) -> None:
    store = SignInStore()
    store.save(make_sign_in())
    secret_service.lock()
    started = time.monotonic()

    assert store.load(HOST) is None
    with pytest.raises(KeychainUnavailable) as failure:
        store.save(make_sign_in())

    assert time.monotonic() - started < FEW_SECONDS
    assert "locked" in failure.value.reason


def test_a_frozen_keychain_times_out_and_later_calls_keep_their_order(
    secret_service: SecretServiceSession,
) -> None:
    kept = make_sign_in()
    SignInStore().save(kept)
    store = SignInStore(timeout_s=1.0)
    secret_service.pause_keyring()
    try:
        started = time.monotonic()
        assert store.load(HOST) is None
        with pytest.raises(KeychainUnavailable) as failure:
            store.save(make_sign_in())
        assert time.monotonic() - started < FEW_SECONDS
        assert "did not answer" in failure.value.reason
    finally:
        secret_service.resume_keyring()
    # The save that timed out before it started was dropped, not run late.
    assert store.load(HOST) == kept
