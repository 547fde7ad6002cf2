"""Network faults on one veth link, applied in the client's (sandbox) namespace.

Each fault is a set of rules on the interface towards the server, with a packet counter
read from the rule itself:

- `cut`, `block_udp` and `loss` are nftables rules in `netdev` chains on that interface's
  *ingress* hook (server -> client) and *egress* hook (client -> server). The egress hook
  sits below the IP stack, so a dropped datagram still looks sent to the sending socket,
  as on a radio link that went silent. (iptables DROP in OUTPUT would instead fail every
  `sendto()` with EPERM, which no real network does.) Only IPv4 to and from the peer
  address matches: ARP keeps working, so the link comes back as soon as the rule goes.
- `delay` is an iptables `NFQUEUE` rule (in OUTPUT and/or INPUT) feeding a
  `DelayShaper` thread: this kernel has neither sch_netem nor nft's native `queue`
  expression, but it has the xtables NFQUEUE target. `--queue-bypass` lets packets
  through undelayed if the shaper is gone, so a crash never blackholes the link.

Every fault can be bounded (`duration_s=`), used as a context manager, or removed with
`Fault.remove()` / `LinkFaults.clear()`; `LinkFaults.close()` runs at exit too, and all
rules live in the sandbox namespace, so they vanish with it whatever happens.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import itertools
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Self, TypeVar

from devtools.netfaults.delay_shaper import DelayProfile, DelayShaper, Distribution
from devtools.netfaults.nfqueue import NfQueue, NfQueueError

__all__ = [
    "FAULT_KINDS",
    "Direction",
    "Fault",
    "LinkFaults",
    "LinkFaultsError",
]

#: `to_server`: packets the client sends; `to_client`: packets it receives.
Direction = Literal["both", "to_server", "to_client"]
FAULT_KINDS = ("cut", "block_udp", "loss", "delay")

_CLONE_NEWNET = 0x40000000
_QUEUE_NUMBERS = range(4100, 4400)
_instances = itertools.count(1)
_LIBC = ctypes.util.find_library("c") or "libc.so.6"
_PPM = 1_000_000
_T = TypeVar("_T")


class LinkFaultsError(RuntimeError):
    """A rule could not be added or removed."""


def _directions(direction: Direction) -> tuple[str, ...]:
    if direction == "both":
        return ("to_server", "to_client")
    if direction in ("to_server", "to_client"):
        return (direction,)
    raise ValueError(f"direction must be both, to_server or to_client, not {direction!r}")


class Fault:
    """One applied fault. A context manager: leaving the block removes it."""

    def __init__(
        self, owner: LinkFaults, kind: str, fault_id: int, directions: tuple[str, ...]
    ) -> None:
        self._owner = owner
        self.kind = kind
        self.fault_id = fault_id
        self.directions = directions
        self._final: dict[str, int] | None = None
        self._timer: threading.Timer | None = None
        self._shaper: DelayShaper | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._final is None

    def packets_by_direction(self) -> dict[str, int]:
        """Packets matched so far, per direction (frozen once removed)."""
        if self._final is not None:
            return dict(self._final)
        return self._owner._read_counters(self)

    @property
    def packets(self) -> int:
        """Packets matched (dropped, or delayed) so far in all directions."""
        return sum(self.packets_by_direction().values())

    def remove(self) -> int:
        """Remove the rules (idempotent, thread-safe); return the packets they matched."""
        with self._lock:
            if self._final is None:
                if self._timer is not None:
                    self._timer.cancel()
                self._final = self._owner._remove(self)
            return sum(self._final.values())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        state = "active" if self.active else "removed"
        return f"<Fault {self.kind}#{self.fault_id} {'+'.join(self.directions)} {state}>"


class LinkFaults:
    """Faults on `interface` (the client-side end of a veth) for traffic with `peer_ip`.

    Create it from a thread in the client's namespace: that namespace is remembered, and
    every later rule change (from a timer, atexit or another thread) is made there.
    """

    def __init__(self, interface: str, peer_ip: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", interface):
            raise ValueError(f"bad interface name {interface!r}")
        self.interface = interface
        self.peer_ip = peer_ip
        self._ns_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        # Loaded here: a forked child must not dlopen (another thread may hold the lock).
        self._libc = ctypes.CDLL(_LIBC, use_errno=True)
        # Unique per instance, so that two LinkFaults on one interface never share rules.
        self._token = f"{re.sub(r'[^A-Za-z0-9_]', '_', interface)}_{os.getpid()}_{next(_instances)}"
        self._table = f"visio_faults_{self._token}"
        self._table_ready = False
        self._ids = itertools.count(1)
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._closed = False
        self._owner_pid = os.getpid()
        atexit.register(self.close)

    # ------------------------------------------------------------------ faults

    def cut(self, *, duration_s: float | None = None, direction: Direction = "both") -> Fault:
        """Silently drop every IPv4 packet with the peer (no RST, no ICMP, link stays up)."""
        return self._add_drop("cut", "", direction, duration_s)

    def block_udp(self, *, duration_s: float | None = None, direction: Direction = "both") -> Fault:
        """Drop all UDP with the peer; TCP (signalling, ICE/TCP, TURN/TLS) still passes."""
        return self._add_drop("block_udp", "meta l4proto udp", direction, duration_s)

    def loss(
        self, percent: float, *, duration_s: float | None = None, direction: Direction = "both"
    ) -> Fault:
        """Drop each packet with probability `percent`/100, independently, per direction
        (so `loss(10)` on both directions loses about 19 % of round trips)."""
        if not 0 <= percent <= 100:
            raise ValueError("percent must be within 0..100")
        # nft's `numgen random` is the equivalent of iptables' statistic --mode random.
        threshold = round(percent / 100 * _PPM)
        return self._add_drop(
            "loss", f"numgen random mod {_PPM} < {threshold}", direction, duration_s
        )

    def delay(
        self,
        mean_ms: float,
        jitter_ms: float = 0.0,
        *,
        distribution: Distribution = "uniform",
        direction: Direction = "to_server",
        keep_order: bool = True,
        duration_s: float | None = None,
        seed: int | None = None,
    ) -> Fault:
        """Hold each packet of `direction` for mean_ms ± jitter_ms (see `DelayProfile`).

        Like `netem delay` on the client's egress, the default delays only what the
        client sends, so round-trip times grow by `mean_ms`; `direction="both"` delays
        each way by `mean_ms` (RTT + 2 × mean_ms).
        """
        profile = DelayProfile(mean_ms, jitter_ms, distribution, keep_order)
        directions = _directions(direction)
        with self._lock:
            self._check_open()
            fault = Fault(self, "delay", next(self._ids), directions)
            queue = self._in_namespace(self._bind_queue)
            try:
                fault._shaper = DelayShaper(queue, profile, seed=seed)
            except BaseException:
                queue.close()
                raise
            try:
                for way in directions:
                    self._iptables("-I", *self._queue_rule(fault, way))
            except BaseException:
                self._remove_queue_rules(fault)
                fault._shaper.stop()
                raise
            return self._track(fault, duration_s)

    def clear(self) -> None:
        """Remove every active fault."""
        with self._lock:
            faults = [f for f in self._faults if f.active]
        for fault in faults:
            fault.remove()

    def counters(self) -> dict[str, int]:
        """Packets matched per fault kind, summed over every fault this object made."""
        totals = dict.fromkeys(FAULT_KINDS, 0)
        with self._lock:
            faults = list(self._faults)
        for fault in faults:
            totals[fault.kind] += fault.packets
        return totals

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def nft_table(self) -> str:
        """The `netdev` nftables table holding the drop rules (`nft list table netdev …`)."""
        return self._table

    @property
    def rule_tag(self) -> str:
        """Text in the comment of every iptables rule this object adds."""
        return f"visio-{self._token}"

    def active_faults(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.active]

    def close(self) -> None:
        """Remove every rule and the nftables table; safe to call more than once."""
        if self._closed or os.getpid() != self._owner_pid:
            return
        self.clear()
        with self._lock:
            self._closed = True
            if self._table_ready:
                with contextlib.suppress(LinkFaultsError):
                    self._nft("delete", "table", "netdev", self._table)
                self._table_ready = False
        with contextlib.suppress(OSError):
            os.close(self._ns_fd)
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LinkFaults {self.interface} peer={self.peer_ip} active={self.active_faults()}>"

    # ------------------------------------------------------------------ internals

    def _check_open(self) -> None:
        if self._closed:
            raise LinkFaultsError("LinkFaults is closed")

    def _track(self, fault: Fault, duration_s: float | None) -> Fault:
        self._faults.append(fault)
        if duration_s is not None:
            timer = threading.Timer(duration_s, fault.remove)
            timer.daemon = True
            fault._timer = timer
            timer.start()
        return fault

    @staticmethod
    def _chain(fault: Fault, way: str) -> str:
        return f"{fault.kind}{fault.fault_id}_{way}"

    def _add_drop(
        self, kind: str, match: str, direction: Direction, duration_s: float | None
    ) -> Fault:
        directions = _directions(direction)
        with self._lock:
            self._check_open()
            self._ensure_table()
            fault = Fault(self, kind, next(self._ids), directions)
            lines = []
            for way in directions:
                hook, addr = ("egress", "daddr") if way == "to_server" else ("ingress", "saddr")
                chain = self._chain(fault, way)
                lines.append(
                    f"add chain netdev {self._table} {chain} {{ type filter hook {hook} "
                    f'device "{self.interface}" priority 0; policy accept; }}'
                )
                lines.append(
                    f"add rule netdev {self._table} {chain} "
                    f"ip {addr} {self.peer_ip} {match} counter drop"
                )
            # One nft transaction: both directions start (or fail) together.
            self._nft("-f", "-", stdin="\n".join(lines) + "\n")
            return self._track(fault, duration_s)

    def _ensure_table(self) -> None:
        if not self._table_ready:
            self._nft("add", "table", "netdev", self._table)
            self._table_ready = True

    def _queue_rule(self, fault: Fault, way: str) -> list[str]:
        assert fault._shaper is not None
        if way == "to_server":
            where = ["OUTPUT", "-o", self.interface, "-d", self.peer_ip]
        else:
            where = ["INPUT", "-i", self.interface, "-s", self.peer_ip]
        tag = f"{self.rule_tag}-{fault.kind}{fault.fault_id}"
        return [
            *where,
            "-m", "comment", "--comment", tag,
            "-j", "NFQUEUE", "--queue-num", str(fault._shaper.queue_num), "--queue-bypass",
        ]  # fmt: skip

    def _bind_queue(self) -> NfQueue:
        last: NfQueueError | None = None
        for number in _QUEUE_NUMBERS:
            try:
                return NfQueue(number)
            except NfQueueError as exc:
                last = exc  # taken by another process in this namespace: try the next
        raise LinkFaultsError(f"no free netfilter queue: {last}")

    def _remove_queue_rules(self, fault: Fault) -> None:
        for way in fault.directions:
            with contextlib.suppress(LinkFaultsError):
                self._iptables("-D", *self._queue_rule(fault, way))

    def _remove(self, fault: Fault) -> dict[str, int]:
        with self._lock:
            try:
                final = self._read_counters(fault)
            except LinkFaultsError:
                final = dict.fromkeys(fault.directions, 0)
            if fault.kind == "delay":
                self._remove_queue_rules(fault)
                if fault._shaper is not None:
                    fault._shaper.stop()
            elif self._table_ready:
                script = "".join(
                    f"delete chain netdev {self._table} {self._chain(fault, way)}\n"
                    for way in fault.directions
                )
                # The interface may be gone (server namespace deleted): its chains went
                # with it, which is just as removed.
                with contextlib.suppress(LinkFaultsError):
                    self._nft("-f", "-", stdin=script)
            return final

    def _read_counters(self, fault: Fault) -> dict[str, int]:
        if fault.kind == "delay":
            return self._iptables_counters(fault)
        listing = json.loads(self._nft("-j", "list", "table", "netdev", self._table))
        wanted = {self._chain(fault, way): way for way in fault.directions}
        counts = dict.fromkeys(fault.directions, 0)
        for item in listing.get("nftables", []):
            rule = item.get("rule")
            if rule is None or rule.get("chain") not in wanted:
                continue
            for expr in rule.get("expr", []):
                if "counter" in expr:
                    counts[wanted[rule["chain"]]] += int(expr["counter"]["packets"])
        return counts

    def _iptables_counters(self, fault: Fault) -> dict[str, int]:
        counts = dict.fromkeys(fault.directions, 0)
        tag = f"/* {self.rule_tag}-{fault.kind}{fault.fault_id} */"
        for way in fault.directions:
            chain = "OUTPUT" if way == "to_server" else "INPUT"
            listing = self._iptables("-L", chain, "-v", "-x", "-n")
            for line in listing.splitlines():
                if tag in line:
                    counts[way] += int(line.split()[0])
        return counts

    # ------------------------------------------------------------------ commands

    def _enter_namespace(self) -> None:
        if self._libc.setns(self._ns_fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns to the client namespace failed")

    def _same_namespace(self) -> bool:
        ours = os.stat("/proc/thread-self/ns/net")
        theirs = os.fstat(self._ns_fd)
        return (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino)

    def _in_namespace(self, fn: Callable[[], _T]) -> _T:
        """Run `fn` in the client namespace (directly if this thread is already there)."""
        if self._same_namespace():
            return fn()
        result: list[_T] = []
        error: list[BaseException] = []

        def run() -> None:
            try:
                self._enter_namespace()
                result.append(fn())
            except BaseException as exc:
                error.append(exc)

        thread = threading.Thread(target=run, name="link-faults-setns")
        thread.start()
        thread.join()
        if error:
            raise error[0]
        return result[0]

    def _command(self, args: list[str], stdin: str | None = None) -> str:
        preexec: Callable[[], None] | None = None
        if not self._same_namespace():
            preexec = self._enter_namespace
        try:
            proc = subprocess.run(
                args,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=15,
                preexec_fn=preexec,
                pass_fds=(self._ns_fd,),
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LinkFaultsError(f"`{' '.join(args)}` failed: {exc}") from exc
        if proc.returncode != 0:
            raise LinkFaultsError(f"`{' '.join(args)}` failed: {proc.stderr.strip()}")
        return proc.stdout

    def _nft(self, *args: str, stdin: str | None = None) -> str:
        return self._command(["nft", *args], stdin)

    def _iptables(self, *args: str) -> str:
        # -w: wait for the xtables lock, which other processes may hold briefly.
        return self._command(["iptables", "-w", "5", *args])
