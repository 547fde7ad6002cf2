"""TLS trust and HTTP proxies for the signaling connection, against real parts.

A test certificate authority and server certificates are made here with
``cryptography``; ``devtools.tls_front`` puts them in front of the sandbox
livekit-server (wss:// on 10.77.0.1), and ``devtools.connect_proxy`` is the corporate
proxy.  Our client joins through them with ``SignalClient`` (the options that carry
the extra CA file and the proxy) and with ``Room`` (which takes both from the
environment, as the app does).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from livekit.protocol import rtc

from client import settings as settings_module
from client.livekit import errors
from client.livekit.network_access import (
    NetworkAccess,
    bypasses_proxy,
    describe_proxy,
    proxy_for,
    ssl_context,
)
from client.livekit.signal_client import SignalClient, SignalOptions
from devtools.connect_proxy import ConnectProxy
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.sandbox.netns import PEER_IP
from devtools.sandbox.tokens import mint_token
from devtools.tls_front import TlsFront
from tests.conftest import TokenFactory
from tests.our_client import OurClient

_PROXY_VARIABLES = (
    "https_proxy",
    "http_proxy",
    "all_proxy",
    "no_proxy",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or trust-store setting of the developer's shell leaks into a test."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# --- a test PKI ---------------------------------------------------------------------------


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@dataclass
class Leaf:
    cert_file: Path
    key_file: Path


class Authority:
    """A CA of the test's own, and server certificates it signs."""

    def __init__(self, folder: Path, name: str = "Visio Test CA") -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.name = subject
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(days=1))
            .not_valid_after(_now() + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = folder / f"{name.replace(' ', '_')}.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(
        self, *, ip: str | None = None, dns: str | None = None, expired: bool = False
    ) -> Leaf:
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        if ip is not None:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        if dns is not None:
            names.append(x509.DNSName(dns))
        start = _now() - datetime.timedelta(days=10 if expired else 1)
        end = _now() - datetime.timedelta(days=1) if expired else _now() + datetime.timedelta(7)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip or dns or "")]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        stem = f"leaf-{cert.serial_number:x}"
        cert_file = self.folder / f"{stem}.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return Leaf(cert_file, _write_key(key, self.folder / f"{stem}.key"))


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path)


async def _front(leaf: Leaf, server: LiveKitServer) -> TlsFront:
    front = TlsFront(leaf.cert_file, leaf.key_file, (server.host_ip, server.port), host=PEER_IP)
    await front.start()
    return front


@pytest.fixture
async def front(authority: Authority, livekit_server: LiveKitServer) -> AsyncIterator[TlsFront]:
    """wss://10.77.0.1:<port> with a certificate for 10.77.0.1 signed by ``authority``."""
    served = await _front(authority.issue(ip=PEER_IP), livekit_server)
    try:
        yield served
    finally:
        await served.close()


@pytest.fixture
async def proxy() -> AsyncIterator[ConnectProxy]:
    async with ConnectProxy() as running:
        yield running


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens (a proxy that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    yield port


async def _ignore(_: rtc.SignalResponse) -> None:
    return None


async def signal_join(url: str, token: str, options: SignalOptions) -> rtc.JoinResponse:
    client = SignalClient(_ignore, lambda _reason: None)
    try:
        return await client.join(url, token, options)
    finally:
        await client.close()


async def refused(url: str, token: str, options: SignalOptions) -> errors.ConnectError:
    with pytest.raises(errors.ConnectError) as caught:
        await signal_join(url, token, options)
    error = caught.value
    assert token not in str(error) and token not in repr(error.args)
    return error


# --- proxy selection from the environment -------------------------------------------------


def test_https_proxy_applies_to_wss_and_never_to_plain_ws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    assert proxy_for("wss://visio.example.fr") == "http://proxy.corp:3128"
    assert proxy_for("https://visio.example.fr/rtc/validate") == "http://proxy.corp:3128"
    monkeypatch.setenv("HTTP_PROXY", "http://plain.corp:3128")
    # The token is in the URL: plain ws:// never goes to a proxy.
    assert proxy_for("ws://10.0.0.5:7880") is None
    monkeypatch.delenv("HTTPS_PROXY")
    # http_proxy is for http:// addresses only, as in curl and urllib.
    assert proxy_for("wss://visio.example.fr") is None
    monkeypatch.setenv("ALL_PROXY", "http://all.corp:8080")
    assert proxy_for("wss://visio.example.fr") == "http://all.corp:8080"


def test_lower_case_variables_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://upper.corp:3128")
    monkeypatch.setenv("https_proxy", "http://lower.corp:3128")
    assert proxy_for("wss://visio.example.fr") == "http://lower.corp:3128"
    monkeypatch.setenv("NO_PROXY", "example.fr")
    assert proxy_for("wss://visio.example.fr") is None
    monkeypatch.setenv("no_proxy", "other.fr")
    assert proxy_for("wss://visio.example.fr") == "http://lower.corp:3128"


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "bypassed"),
    [
        ("visio.example.fr", 443, "example.fr", True),
        ("visio.example.fr", 443, ".example.fr", True),
        ("visio.example.fr", 443, "*.example.fr", True),
        ("example.fr", 443, ".example.fr", True),
        ("visio.badexample.fr", 443, "example.fr", False),
        ("visio.example.fr", 443, "intranet, VISIO.example.fr", True),
        ("visio.example.fr", 443, "visio.example.fr:443", True),
        ("visio.example.fr", 8443, "visio.example.fr:443", False),
        ("10.20.30.40", 443, "10.0.0.0/8", True),
        ("10.20.30.40", 443, "192.168.0.0/16 172.16.0.0/12", False),
        ("10.20.30.40", 443, "10.20.30.40", True),
        ("[fd00::1]", 443, "fd00::/8", True),
        ("fd00::1", 443, "[fd00::1]:443", True),
        ("anything.example", 443, "*", True),
        ("anything.example", 443, "", False),
        # This machine is always reached directly.
        ("localhost", 443, "", True),
        ("127.0.0.1", 443, "", True),
    ],
)
def test_no_proxy_forms(host: str, port: int, no_proxy: str, bypassed: bool) -> None:
    assert bypasses_proxy(host, port, no_proxy) is bypassed


def test_proxy_credentials_go_in_a_header_never_in_messages() -> None:
    access = NetworkAccess.for_url(
        "wss://visio.example.fr", proxy="http://anne:s%40cret@proxy.corp:3128"
    )
    assert access.proxy == "http://proxy.corp:3128"
    expected = base64.b64encode(b"anne:s@cret").decode()
    assert access.proxy_headers == {"Proxy-Authorization": f"Basic {expected}"}
    assert describe_proxy("http://anne:s%40cret@proxy.corp:3128") == "http://proxy.corp:3128"
    # Without a scheme, as often written in HTTPS_PROXY: an http:// proxy (curl's rule).
    bare = NetworkAccess.for_url("wss://visio.example.fr", proxy="proxy.corp:3128")
    assert bare.proxy == "http://proxy.corp:3128" and bare.proxy_headers is None


def test_an_unsupported_proxy_is_a_clear_error() -> None:
    with pytest.raises(errors.ProxyError, match=re.escape("socks5://proxy.corp:1080")):
        NetworkAccess.for_url("wss://visio.example.fr", proxy="socks5://anne:pw@proxy.corp:1080")
    with pytest.raises(errors.ProxyError) as caught:
        NetworkAccess.for_url("wss://visio.example.fr", proxy="socks5://anne:pw@proxy.corp:1080")
    assert "pw" not in str(caught.value)


# --- the SSL context ----------------------------------------------------------------------


def test_the_context_is_cached_until_the_ca_file_changes(authority: Authority) -> None:
    first = ssl_context(authority.ca_file)
    assert ssl_context(authority.ca_file) is first
    assert ssl_context(None) is ssl_context(None)
    assert ssl_context(None) is not first
    other = Authority(authority.folder, "Other CA")
    authority.ca_file.write_bytes(other.ca_file.read_bytes())
    stat = authority.ca_file.stat()
    os.utime(authority.ca_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert ssl_context(authority.ca_file) is not first


def test_an_unusable_ca_file_is_a_certificate_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(errors.CertificateError, match=r"missing\.pem") as caught:
        ssl_context(missing)
    assert caught.value.reason == errors.CertificateError.CA_FILE
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(errors.CertificateError, match=r"garbage\.pem") as caught:
        ssl_context(garbage)
    assert caught.value.reason == errors.CertificateError.CA_FILE
    assert caught.value.permanent


def test_the_extra_ca_file_setting_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    kept = settings_module.Settings(extra_ca_file="~/ministere-ca.pem")
    settings_module.save(kept, path)
    loaded = settings_module.load(path)
    assert loaded.extra_ca_file == "~/ministere-ca.pem"
    assert loaded.extra_ca_path == Path.home() / "ministere-ca.pem"
    assert settings_module.Settings().extra_ca_path is None
    path.write_text('{"extra_ca_file": 42}', encoding="utf-8")
    assert settings_module.load(path).extra_ca_file == ""


def test_each_failure_has_its_own_message_for_the_user() -> None:
    from client.ui.messages import connect_error_message

    reasons = [
        errors.CertificateError.UNTRUSTED,
        errors.CertificateError.WRONG_HOST,
        errors.CertificateError.EXPIRED,
        errors.CertificateError.REVOKED,
        errors.CertificateError.CA_FILE,
        errors.CertificateError.OTHER,
    ]
    texts = [
        connect_error_message(errors.CertificateError("x", host="h", reason=r)) for r in reasons
    ]
    proxy_text = connect_error_message(errors.ProxyError("x", proxy="http://p:1"))
    unreachable = connect_error_message(errors.ServerUnreachableError("x"))
    assert len({*texts, proxy_text, unreachable}) == len(reasons) + 2
    assert "proxy" in proxy_text
    assert "certificate authority" in texts[0]


# --- TLS against the real server ----------------------------------------------------------


async def test_join_over_wss_with_the_extra_ca_file(
    authority: Authority, front: TlsFront, token_factory: TokenFactory, room_name: str
) -> None:
    join = await signal_join(
        front.url,
        token_factory("anne", room_name),
        SignalOptions(extra_ca_file=authority.ca_file),
    )
    assert join.room.name == room_name
    assert join.participant.identity == "anne"
    assert front.connections == 1


async def test_a_room_joins_over_wss_trusting_the_system_store(
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    front: TlsFront,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    # On Linux the system store is OpenSSL's bundle, which SSL_CERT_FILE relocates:
    # the app trusts what the machine trusts, with no option given.
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    ours = OurClient(front.url, token_factory("ours", room_name))
    await ours.connect()
    try:
        assert ours.room.name == room_name
    finally:
        await ours.close()


async def test_an_unknown_authority_is_refused_clearly(
    front: TlsFront, token_factory: TokenFactory, room_name: str
) -> None:
    error = await refused(front.url, token_factory("anne", room_name), SignalOptions())
    assert isinstance(error, errors.CertificateError)
    assert error.reason == errors.CertificateError.UNTRUSTED
    assert error.host == PEER_IP
    assert PEER_IP in str(error) and "issuer" in str(error)
    assert error.permanent
    assert front.connections == 0


async def test_a_certificate_for_another_name_is_refused(
    authority: Authority,
    livekit_server: LiveKitServer,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    other_name = await _front(authority.issue(dns="visio.example.test"), livekit_server)
    try:
        error = await refused(
            other_name.url,
            token_factory("anne", room_name),
            SignalOptions(extra_ca_file=authority.ca_file),
        )
    finally:
        await other_name.close()
    assert isinstance(error, errors.CertificateError)
    assert error.reason == errors.CertificateError.WRONG_HOST
    assert PEER_IP in str(error) and "mismatch" in str(error)


async def test_an_expired_certificate_is_refused(
    authority: Authority,
    livekit_server: LiveKitServer,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    expired = await _front(authority.issue(ip=PEER_IP, expired=True), livekit_server)
    try:
        error = await refused(
            expired.url,
            token_factory("anne", room_name),
            SignalOptions(extra_ca_file=authority.ca_file),
        )
    finally:
        await expired.close()
    assert isinstance(error, errors.CertificateError)
    assert error.reason == errors.CertificateError.EXPIRED
    assert "expired" in str(error)


# --- proxies against the real server ------------------------------------------------------


async def test_a_room_joins_through_the_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    front: TlsFront,
    proxy: ConnectProxy,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    ours = OurClient(front.url, token_factory("ours", room_name))
    await ours.connect()
    try:
        assert ours.room.name == room_name
    finally:
        await ours.close()
    assert proxy.tunnels >= 1
    assert set(proxy.targets) == {f"{PEER_IP}:{front.port}"}
    assert front.connections == proxy.tunnels


async def test_no_proxy_bypasses_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    front: TlsFront,
    proxy: ConnectProxy,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "intranet.example,10.77.0.0/24")
    join = await signal_join(
        front.url, token_factory("anne", room_name), SignalOptions(extra_ca_file=authority.ca_file)
    )
    assert join.room.name == room_name
    assert proxy.tunnels == 0 and proxy.refused == 0
    assert front.connections == 1


async def test_the_refusal_check_also_goes_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    front: TlsFront,
    proxy: ConnectProxy,
    livekit_server: LiveKitServer,
    room_name: str,
) -> None:
    # Only /rtc/validate tells an expired token from a bad one: it must reach the
    # server through the same proxy and TLS as the socket.
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    expired = mint_token(
        livekit_server.api_key,
        livekit_server.api_secret,
        identity="anne",
        room=room_name,
        ttl_s=-60,
    )
    error = await refused(front.url, expired, SignalOptions(extra_ca_file=authority.ca_file))
    # Only the validate answer says "expired": the handshake refusal is a bare 401.
    assert isinstance(error, errors.TokenExpiredError), error
    # aiohttp may reuse the refused socket's tunnel for the request, but nothing
    # reached the server except through the proxy.
    assert proxy.tunnels >= 1
    assert front.connections == proxy.tunnels


async def test_a_proxy_that_is_down_fails_fast_and_clearly(
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    front: TlsFront,
    closed_port: int,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://anne:secret@127.0.0.1:{closed_port}")
    started = time.monotonic()
    error = await refused(
        front.url, token_factory("anne", room_name), SignalOptions(extra_ca_file=authority.ca_file)
    )
    elapsed = time.monotonic() - started
    # A ProxyError, not the join timeout: the refusal is reported as it happens.
    assert isinstance(error, errors.ProxyError), (type(error), error)
    assert error.proxy == f"http://127.0.0.1:{closed_port}"
    assert f"127.0.0.1:{closed_port}" in str(error) and "secret" not in str(error)
    assert not error.permanent
    assert front.connections == 0
    print(f"proxy down reported after {elapsed * 1000:.0f} ms")


async def test_a_proxy_that_refuses_the_tunnel(
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    front: TlsFront,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    async with ConnectProxy(refuse_status=403) as blocking:
        monkeypatch.setenv("HTTPS_PROXY", blocking.url)
        error = await refused(
            front.url,
            token_factory("anne", room_name),
            SignalOptions(extra_ca_file=authority.ca_file),
        )
        assert blocking.refused == 1
    assert isinstance(error, errors.ProxyError)
    assert "HTTP 403" in str(error) and PEER_IP in str(error)


async def test_proxy_credentials_from_the_proxy_address(
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    front: TlsFront,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    options = SignalOptions(extra_ca_file=authority.ca_file)
    async with ConnectProxy(credentials=("anne", "s@cret")) as guarded:
        monkeypatch.setenv("HTTPS_PROXY", guarded.url)
        error = await refused(front.url, token_factory("anne", room_name), options)
        assert isinstance(error, errors.ProxyError)
        assert "HTTP 407" in str(error) and "credentials" in str(error)
        monkeypatch.setenv("HTTPS_PROXY", f"http://anne:s%40cret@127.0.0.1:{guarded.port}")
        join = await signal_join(front.url, token_factory("anne", room_name), options)
        assert join.room.name == room_name
        assert guarded.tunnels == 1


async def test_the_explicit_proxy_option_overrides_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    authority: Authority,
    front: TlsFront,
    proxy: ConnectProxy,
    closed_port: int,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port}")
    explicit = SignalOptions(extra_ca_file=authority.ca_file, proxy=proxy.url)
    await signal_join(front.url, token_factory("anne", room_name), explicit)
    assert proxy.tunnels == 1
    direct = SignalOptions(extra_ca_file=authority.ca_file, proxy="")
    await signal_join(front.url, token_factory("bob", room_name), direct)
    assert proxy.tunnels == 1
    assert front.connections == 2


async def test_plain_ws_never_goes_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
    livekit_server: LiveKitServer,
    closed_port: int,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed_port}")
    join = await signal_join(
        livekit_server.ws_url, token_factory("anne", room_name), SignalOptions()
    )
    assert join.room.name == room_name


async def test_wss_to_a_plain_server_is_a_tls_failure(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    # The sandbox server answers plain HTTP: the handshake fails before any certificate.
    url = f"wss://{livekit_server.host_ip}:{livekit_server.port}"
    error = await refused(url, token_factory("anne", room_name), SignalOptions())
    assert isinstance(error, errors.CertificateError), (type(error), error)
    assert error.reason == errors.CertificateError.OTHER
    assert str(error).startswith(f"the secure connection to {livekit_server.host_ip} failed")
