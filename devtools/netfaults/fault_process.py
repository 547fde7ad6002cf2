"""`LinkFaults` run by a process of its own, driven over a pipe.

The delay of `LinkFaults.delay` is made by a Python thread (`DelayShaper`) that
releases every packet of the link.  In the process of a client under test, that
thread competes for the interpreter lock with the client's own work (decoding,
encoding, its event loop), so packets are held longer than asked for, by however
long the client keeps the lock: the fault would grow with the load of what it
measures.  `FaultProcess` keeps the rules and the shaper in a child process, which
inherits the caller's network namespace and works exactly like `LinkFaults`.

Protocol (internal): one JSON object per line on the child's stdin, one answer per
line on its stdout; the child removes everything when its stdin closes, so it cannot
outlive its parent's pipe.  Usage (internal): ``python -m devtools.netfaults.fault_process
INTERFACE PEER_IP``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from types import TracebackType
from typing import Any, Self

from devtools.netfaults.faults import Direction, Fault, LinkFaults, LinkFaultsError

__all__ = ["FaultProcess", "RemoteFault"]


class RemoteFault:
    """A fault held by a `FaultProcess`; the same reading interface as `Fault`."""

    def __init__(self, owner: FaultProcess, fault_id: int, kind: str) -> None:
        self._owner = owner
        self.fault_id = fault_id
        self.kind = kind
        self._final: dict[str, int] | None = None

    def packets_by_direction(self) -> dict[str, int]:
        if self._final is not None:
            return dict(self._final)
        counts: dict[str, int] = self._owner._call("packets", id=self.fault_id)
        return counts

    @property
    def packets(self) -> int:
        return sum(self.packets_by_direction().values())

    def remove(self) -> int:
        if self._final is None:
            self._final = self._owner._call("remove", id=self.fault_id)
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


class FaultProcess:
    """Faults on `interface` for traffic with `peer_ip`, made by a child process.

    Start it from a thread in the client's (sandbox) namespace, like `LinkFaults`.
    """

    def __init__(self, interface: str, peer_ip: str) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "devtools.netfaults.fault_process", interface, peer_ip],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()
        self._call("ping")

    def _call(self, op: str, **args: Any) -> Any:
        assert self._process.stdin is not None and self._process.stdout is not None
        with self._lock:
            try:
                self._process.stdin.write(json.dumps({"op": op, **args}) + "\n")
                self._process.stdin.flush()
                line = self._process.stdout.readline()
            except (BrokenPipeError, ValueError) as exc:
                raise LinkFaultsError(f"the fault process is gone: {exc}") from exc
        if not line:
            raise LinkFaultsError("the fault process is gone")
        answer = json.loads(line)
        if "error" in answer:
            raise LinkFaultsError(answer["error"])
        return answer["result"]

    def loss(self, percent: float, *, direction: Direction = "both") -> RemoteFault:
        return RemoteFault(self, self._call("loss", percent=percent, direction=direction), "loss")

    def delay(
        self, mean_ms: float, jitter_ms: float = 0.0, *, direction: Direction = "to_server"
    ) -> RemoteFault:
        fault_id = self._call("delay", mean_ms=mean_ms, jitter_ms=jitter_ms, direction=direction)
        return RemoteFault(self, fault_id, "delay")

    def cut(self, *, direction: Direction = "both") -> RemoteFault:
        return RemoteFault(self, self._call("cut", direction=direction), "cut")

    def block_udp(self, *, direction: Direction = "both") -> RemoteFault:
        return RemoteFault(self, self._call("block_udp", direction=direction), "block_udp")

    def counters(self) -> dict[str, int]:
        counts: dict[str, int] = self._call("counters")
        return counts

    def close(self) -> None:
        """Remove every rule (the child does it when its stdin closes) and wait for it."""
        if self._process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert self._process.stdin is not None
                self._process.stdin.close()
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _serve(interface: str, peer_ip: str) -> None:
    faults: dict[int, Fault] = {}
    with LinkFaults(interface, peer_ip) as link:
        for line in sys.stdin:
            request = json.loads(line)
            op = request.pop("op")
            try:
                result: Any
                if op == "ping":
                    result = True
                elif op == "counters":
                    result = link.counters()
                elif op in ("packets", "remove"):
                    fault = faults[request["id"]]
                    result = fault.packets_by_direction()
                    if op == "remove":
                        fault.remove()
                        result = fault.packets_by_direction()
                elif op in ("loss", "delay", "cut", "block_udp"):
                    made = getattr(link, op)(**request)
                    faults[made.fault_id] = made
                    result = made.fault_id
                else:
                    raise LinkFaultsError(f"unknown operation {op!r}")
                answer = {"result": result}
            except Exception as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])
