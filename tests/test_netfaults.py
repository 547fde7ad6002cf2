"""The network-fault harness, proven with real traffic between two namespaces.

A UDP echo server and a TCP echo server run in the server namespace; the test process
(in the sandbox namespace) talks to them across the veth while faults are applied on
its end. Counters come from the rules themselves and are checked against what the
servers actually saw.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import ssl
import statistics
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from devtools.netfaults import LinkFaults, ServerNamespace, cleanup_stale_server_namespaces
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.sandbox.tokens import mint_token
from devtools.sdk_peers import start_peers, stop_peers
from tests.netfault_fixtures import FAULTY_TURN_TLS_PORT, FAULTY_TURN_UDP_PORT

pytestmark = pytest.mark.interop

UDP_PORT = 9101
TCP_PORT = 9102


@dataclass
class EchoServers:
    """UDP and TCP echo servers whose sockets live in the server namespace."""

    ip: str
    udp: socket.socket
    tcp: socket.socket
    udp_received: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def serve(self) -> None:
        self.threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._serve_tcp, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _serve_udp(self) -> None:
        self.udp.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                data, addr = self.udp.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            self.udp_received += 1
            with contextlib.suppress(OSError):
                self.udp.sendto(data, addr)

    def _serve_tcp(self) -> None:
        self.tcp.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._echo_tcp, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo_tcp(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            with contextlib.suppress(OSError):
                while data := conn.recv(2048):
                    conn.sendall(data)

    def close(self) -> None:
        # A call blocked in recvfrom/accept keeps the port bound until it returns.
        self.stopping.set()
        for thread in self.threads:
            thread.join(2)
        self.udp.close()
        self.tcp.close()


def _bind_servers(ip: str) -> tuple[socket.socket, socket.socket]:
    # Called in a thread inside the server namespace: the sockets belong to it for good.
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    udp.bind((ip, UDP_PORT))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((ip, TCP_PORT))
    tcp.listen(16)
    return udp, tcp


@pytest.fixture
def echo(server_netns: ServerNamespace) -> Iterator[EchoServers]:
    udp, tcp = server_netns.call(_bind_servers, server_netns.server_ip)
    servers = EchoServers(server_netns.server_ip, udp, tcp)
    servers.serve()
    try:
        yield servers
    finally:
        servers.close()


def udp_round_trip(ip: str, timeout_s: float = 0.5) -> float | None:
    """One UDP echo; the round-trip time in seconds, or None when nothing came back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        start = time.monotonic()
        # A fault must be silent to the sender: this must not raise (no EPERM).
        sock.sendto(b"ping", (ip, UDP_PORT))
        try:
            sock.recvfrom(64)
        except TimeoutError:
            return None
        return time.monotonic() - start


def tcp_round_trip(ip: str, timeout_s: float = 1.0) -> float | None:
    """Connect and echo once over TCP; the echo's round-trip time, or None on timeout."""
    try:
        with socket.create_connection((ip, TCP_PORT), timeout=timeout_s) as sock:
            start = time.monotonic()
            sock.sendall(b"hello")
            if sock.recv(64) != b"hello":
                return None
            return time.monotonic() - start
    except OSError:
        return None


def nft_ruleset() -> str:
    return subprocess.run(
        ["nft", "list", "ruleset"], capture_output=True, text=True, check=True
    ).stdout


def iptables_rules() -> str:
    return subprocess.run(
        ["iptables", "-w", "5", "-S"], capture_output=True, text=True, check=True
    ).stdout


def assert_no_rules_for(faults: LinkFaults) -> None:
    listing = subprocess.run(
        ["nft", "-j", "list", "table", "netdev", faults.nft_table], capture_output=True, text=True
    )
    if listing.returncode == 0:  # the table may stay, empty, until `close()`
        items = json.loads(listing.stdout)["nftables"]
        assert not [item for item in items if "chain" in item or "rule" in item], items
    assert faults.rule_tag not in iptables_rules()
    assert not faults.active_faults()


# --------------------------------------------------------------------------- topology


def test_server_namespace_topology(server_netns: ServerNamespace, echo: EchoServers) -> None:
    ns = server_netns
    assert ns.name == f"visio-srv-{os.getpid()}-{ns.link}"
    assert ns.client_ip == f"10.78.{ns.link}.1" and ns.server_ip == f"10.78.{ns.link}.2"
    assert ns.path.exists()
    # The client end is here, the server end over there, each with its address only.
    here = subprocess.run(
        ["ip", "-o", "addr", "show", "dev", ns.client_interface],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    there = subprocess.run(
        ns.popen_args(["ip", "-o", "addr", "show", "dev", ns.server_interface]),
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"{ns.client_ip}/24" in here and "inet6" not in here
    assert f"{ns.server_ip}/24" in there and "inet6" not in there
    # `call` really runs inside the other namespace.
    inode_there = ns.call(lambda: os.stat("/proc/thread-self/ns/net").st_ino)
    assert inode_there == os.stat(ns.path).st_ino
    assert inode_there != os.stat("/proc/thread-self/ns/net").st_ino
    # Traffic flows both ways over the veth.
    assert udp_round_trip(echo.ip) is not None
    assert tcp_round_trip(echo.ip) is not None


def test_namespace_close_removes_link_and_rules() -> None:
    with ServerNamespace() as ns:
        name, interface = ns.name, ns.client_interface
        faults = ns.link_faults()
        faults.cut()
        faults.delay(10)
        assert faults.rule_tag in iptables_rules()
        assert faults.nft_table in nft_ruleset()
    assert not os.path.exists(f"/run/netns/{name}")
    assert faults.nft_table not in nft_ruleset()
    assert faults.rule_tag not in iptables_rules()
    assert faults.closed and not faults.active_faults()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert interface not in links


def test_stale_server_namespace_is_removed() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    name = f"visio-srv-{dead.pid}-253"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        assert name in cleanup_stale_server_namespaces()
        assert not os.path.exists(f"/run/netns/{name}")
    finally:
        if os.path.exists(f"/run/netns/{name}"):
            subprocess.run(["ip", "netns", "delete", name], check=False)


# --------------------------------------------------------------------------- faults


def test_cut_drops_udp_and_tcp_both_ways(link_faults: LinkFaults, echo: EchoServers) -> None:
    assert udp_round_trip(echo.ip) is not None
    with link_faults.cut() as fault:
        assert udp_round_trip(echo.ip) is None
        assert tcp_round_trip(echo.ip) is None
        to_server = fault.packets_by_direction()["to_server"]
        assert to_server >= 2  # the datagram and at least one SYN
    # Leaving the block removed the rules and froze the count.
    assert not fault.active
    assert link_faults.counters()["cut"] == fault.packets >= to_server
    assert udp_round_trip(echo.ip) is not None
    assert tcp_round_trip(echo.ip) is not None
    assert_no_rules_for(link_faults)


def test_cut_drops_replies_towards_the_client(link_faults: LinkFaults, echo: EchoServers) -> None:
    with link_faults.cut(direction="to_client") as fault:
        before = echo.udp_received
        assert udp_round_trip(echo.ip) is None
        assert echo.udp_received == before + 1  # the request got through, the reply not
        assert fault.packets_by_direction() == {"to_client": 1}


def test_block_udp_lets_tcp_through(link_faults: LinkFaults, echo: EchoServers) -> None:
    with link_faults.block_udp() as fault:
        assert udp_round_trip(echo.ip) is None
        assert tcp_round_trip(echo.ip) is not None
        assert fault.packets_by_direction()["to_server"] == 1
    assert link_faults.counters()["block_udp"] == 1
    assert udp_round_trip(echo.ip) is not None


def test_loss_drops_about_the_configured_share(link_faults: LinkFaults, echo: EchoServers) -> None:
    sent = 2000
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.settimeout(1.0)
        start_count = echo.udp_received
        replies = 0
        with link_faults.loss(10) as fault:
            for i in range(sent):
                sock.sendto(struct.pack("!I", i), (echo.ip, UDP_PORT))
                if i % 50 == 49:
                    time.sleep(0.005)  # keep socket buffers far from overflowing
            with contextlib.suppress(TimeoutError):
                while True:
                    sock.recvfrom(64)
                    replies += 1
            counts = fault.packets_by_direction()
    reached = echo.udp_received - start_count
    # Every packet that did not arrive was dropped by the rule, and only those.
    assert counts["to_server"] == sent - reached
    assert counts["to_client"] == reached - replies
    for dropped, offered in ((counts["to_server"], sent), (counts["to_client"], reached)):
        assert 0.03 * offered <= dropped <= 0.20 * offered, counts
    assert link_faults.counters()["loss"] == counts["to_server"] + counts["to_client"]


def test_delay_adds_configured_latency(link_faults: LinkFaults, echo: EchoServers) -> None:
    baseline = [udp_round_trip(echo.ip) for _ in range(5)]
    assert all(rtt is not None and rtt < 0.05 for rtt in baseline), baseline
    with link_faults.delay(100, 30) as fault:
        rtts = [udp_round_trip(echo.ip, timeout_s=2.0) for _ in range(30)]
        tcp_rtt = tcp_round_trip(echo.ip, timeout_s=3.0)
        assert fault.packets >= 30
    measured = [r for r in rtts if r is not None]
    assert len(measured) == len(rtts)
    # Uniform 70..130 ms on the way out. No packet may come back sooner; the upper
    # margins are wide because a loaded 2-core machine schedules the shaper late.
    assert min(measured) >= 0.065, measured
    assert 0.075 <= statistics.median(measured) <= 0.250, measured
    assert max(measured) <= 1.0, measured
    assert tcp_rtt is not None and tcp_rtt >= 0.065
    assert link_faults.counters()["delay"] == fault.packets
    assert_no_rules_for(link_faults)
    assert udp_round_trip(echo.ip) is not None


def test_delay_both_ways_doubles_the_added_latency(
    link_faults: LinkFaults, echo: EchoServers
) -> None:
    with link_faults.delay(50, direction="both") as fault:
        rtts = [udp_round_trip(echo.ip, timeout_s=2.0) for _ in range(10)]
        assert fault.packets_by_direction() == {"to_server": 10, "to_client": 10}
    measured = [r for r in rtts if r is not None]
    assert len(measured) == 10
    assert min(measured) >= 0.095, measured
    assert statistics.median(measured) <= 0.300, measured


def test_clear_restores_everything(link_faults: LinkFaults, echo: EchoServers) -> None:
    link_faults.cut()
    link_faults.block_udp()
    link_faults.loss(50)
    link_faults.delay(20)
    assert len(link_faults.active_faults()) == 4
    assert udp_round_trip(echo.ip) is None
    link_faults.clear()
    assert_no_rules_for(link_faults)
    assert udp_round_trip(echo.ip) is not None
    assert tcp_round_trip(echo.ip) is not None
    # Counters survive the rules they were read from (whichever drop chain ran first).
    counters = link_faults.counters()
    assert counters["cut"] + counters["block_udp"] + counters["loss"] >= 1, counters


def test_fault_with_duration_ends_by_itself(link_faults: LinkFaults, echo: EchoServers) -> None:
    fault = link_faults.cut(duration_s=1.0)
    assert udp_round_trip(echo.ip, timeout_s=0.3) is None
    deadline = time.monotonic() + 5
    while fault.active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not fault.active
    assert udp_round_trip(echo.ip) is not None
    assert_no_rules_for(link_faults)


def test_rules_removed_when_the_block_raises(link_faults: LinkFaults, echo: EchoServers) -> None:
    with pytest.raises(RuntimeError, match="boom"), link_faults.cut(), link_faults.delay(10):
        raise RuntimeError("boom")
    assert_no_rules_for(link_faults)
    assert udp_round_trip(echo.ip) is not None


# --------------------------------------------------------------------------- livekit-server


def stun_binding_request() -> tuple[bytes, bytes]:
    transaction = os.urandom(12)
    return struct.pack("!HHI", 0x0001, 0, 0x2112A442) + transaction, transaction


def assert_stun_success(response: bytes, transaction: bytes) -> None:
    msg_type, _length, cookie = struct.unpack_from("!HHI", response)
    assert msg_type == 0x0101 and cookie == 0x2112A442  # Binding success response
    assert response[8:20] == transaction


def test_livekit_server_in_server_namespace(
    faulty_server: LiveKitServer, server_netns: ServerNamespace, link_faults: LinkFaults
) -> None:
    assert faulty_server.netns == server_netns.name
    assert faulty_server.pid in [
        int(pid)
        for pid in subprocess.run(
            ["ip", "netns", "pids", server_netns.name], capture_output=True, text=True
        ).stdout.split()
    ]
    conn = http.client.HTTPConnection(faulty_server.host_ip, faulty_server.port, timeout=2)
    conn.request("GET", "/")
    assert conn.getresponse().status == 200
    conn.close()

    # The embedded TURN server answers STUN over UDP and over TLS on 443, from this side.
    request, transaction = stun_binding_request()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(request, (faulty_server.host_ip, FAULTY_TURN_UDP_PORT))
        assert_stun_success(sock.recv(2048), transaction)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request, transaction = stun_binding_request()
    with (
        socket.create_connection((faulty_server.host_ip, FAULTY_TURN_TLS_PORT), timeout=3) as raw,
        context.wrap_socket(raw) as tls,
    ):
        tls.sendall(request)
        assert_stun_success(tls.recv(2048), transaction)

    # A cut really separates the client from this server.
    with link_faults.cut():
        conn = http.client.HTTPConnection(faulty_server.host_ip, faulty_server.port, timeout=1)
        with pytest.raises(OSError):
            conn.request("GET", "/")
            conn.getresponse()
        conn.close()
    assert link_faults.counters()["cut"] >= 1


def test_sdk_peers_run_on_the_server_side(
    faulty_server: LiveKitServer, server_netns: ServerNamespace
) -> None:
    token = mint_token(
        faulty_server.api_key, faulty_server.api_secret, identity="far-peer", room="netfaults"
    )
    process = start_peers(faulty_server.ws_url, [token], fps=5, netns=server_netns.name)
    try:
        pids = subprocess.run(
            ["ip", "netns", "pids", server_netns.name], capture_output=True, text=True
        ).stdout.split()
        assert str(process.pid) in pids
    finally:
        stop_peers(process)
