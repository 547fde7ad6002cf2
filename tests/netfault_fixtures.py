"""Fixtures for network-fault tests: a server namespace, a server in it, faults on the link.

    server_netns   session  ServerNamespace: sandbox 10.78.<n>.1 <-> server 10.78.<n>.2
    faulty_server  function LiveKitServer inside server_netns (HTTP 7980, ICE/TCP 7981,
                            ICE/UDP 7982, TURN/UDP 3578, TURN/TLS 443), started once per
                            session, restarted if a test killed it
    turn_tls_files session  (cert, key) PEM paths of the self-signed TURN/TLS certificate
    link_faults    function LinkFaults on the link; every rule is removed after the test

Registered in tests/conftest.py through `pytest_plugins`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.netfaults import LinkFaults, ServerNamespace
from devtools.netfaults.certificates import write_self_signed_cert
from devtools.sandbox.livekit_server import LiveKitServer, ensure_server_binary
from devtools.sandbox.netns import in_test_netns

#: Ports of `faulty_server`, all different from the session server's 7880/7881/7882/3478
#: so that a client pointed at the wrong server fails instead of silently working.
FAULTY_HTTP_PORT = 7980
FAULTY_RTC_TCP_PORT = 7981
FAULTY_RTC_UDP_PORT = 7982
FAULTY_TURN_UDP_PORT = 3578
#: livekit-server advertises TURN/TLS as `turns:<domain>:443` whatever its tls_port.
FAULTY_TURN_TLS_PORT = 443


def _require_sandbox() -> None:
    if not in_test_netns():
        if os.geteuid() != 0:
            pytest.skip("network-fault tests need root for their network namespaces")
        pytest.fail("not inside the test network namespace (see tests/conftest.py)")


@pytest.fixture(scope="session")
def server_netns() -> Iterator[ServerNamespace]:
    """The server side of a faulty link, shared by the session."""
    _require_sandbox()
    namespace = ServerNamespace().start()
    try:
        yield namespace
    finally:
        namespace.close()


@pytest.fixture(scope="session")
def turn_tls_files(
    server_netns: ServerNamespace, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    return write_self_signed_cert(tmp_path_factory.mktemp("turn-tls"), server_netns.server_ip)


@pytest.fixture(scope="session")
def _faulty_server_session(
    server_netns: ServerNamespace, turn_tls_files: tuple[Path, Path]
) -> Iterator[LiveKitServer]:
    ensure_server_binary()
    cert, key = turn_tls_files
    server = LiveKitServer(
        host_ip=server_netns.server_ip,
        netns=server_netns.name,
        port=FAULTY_HTTP_PORT,
        rtc_tcp_port=FAULTY_RTC_TCP_PORT,
        rtc_udp_port=FAULTY_RTC_UDP_PORT,
        turn_udp_port=FAULTY_TURN_UDP_PORT,
        turn_tls_port=FAULTY_TURN_TLS_PORT,
        turn_cert_file=cert,
        turn_key_file=key,
    )
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def faulty_server(_faulty_server_session: LiveKitServer, link_faults: LinkFaults) -> LiveKitServer:
    """The server behind the faulty link; depends on `link_faults`, so no fault left by
    an earlier test can be in place when this one starts."""
    if not _faulty_server_session.running:
        _faulty_server_session.start()
    return _faulty_server_session


@pytest.fixture
def link_faults(server_netns: ServerNamespace) -> Iterator[LinkFaults]:
    """Faults between the sandbox and `server_netns`; all removed after the test."""
    faults = server_netns.link_faults()
    try:
        yield faults
    finally:
        faults.close()
