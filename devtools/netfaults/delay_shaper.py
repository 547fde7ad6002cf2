"""Hold queued packets for a random time, then let them go: latency without sch_netem.

The kernel this project is tested on has no netem qdisc, so added latency is made in
userspace: an iptables NFQUEUE rule hands packets to `DelayShaper`, which gives each
an ACCEPT verdict once its delay is over. Delays are drawn per packet from a bounded
distribution; by default packets going the same way keep their order (a later packet
never overtakes an earlier one, as on a real queue), so jitter stretches gaps between
packets instead of reordering them.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import random
import select
import threading
import time
from dataclasses import dataclass
from typing import Literal

from devtools.netfaults.nfqueue import NfQueue

__all__ = ["DelayProfile", "DelayShaper", "Distribution"]

Distribution = Literal["uniform", "normal"]


@dataclass(frozen=True)
class DelayProfile:
    """One-way delay per packet: `mean_ms` ± `jitter_ms`, never below zero.

    `uniform` draws from [mean - jitter, mean + jitter]; `normal` uses jitter as the
    standard deviation, clipped to mean ± 2 × jitter so that no packet waits unboundedly.
    """

    mean_ms: float
    jitter_ms: float = 0.0
    distribution: Distribution = "uniform"
    keep_order: bool = True

    def __post_init__(self) -> None:
        if self.mean_ms < 0 or self.jitter_ms < 0:
            raise ValueError("delay and jitter must be >= 0")
        if self.distribution not in ("uniform", "normal"):
            raise ValueError(f"unknown distribution {self.distribution!r}")

    def sample_s(self, rng: random.Random) -> float:
        if self.jitter_ms == 0:
            delay = self.mean_ms
        elif self.distribution == "uniform":
            delay = rng.uniform(self.mean_ms - self.jitter_ms, self.mean_ms + self.jitter_ms)
        else:
            bound = 2 * self.jitter_ms
            delay = self.mean_ms + max(-bound, min(bound, rng.gauss(0.0, self.jitter_ms)))
        return max(0.0, delay) / 1000.0


class DelayShaper:
    """A thread that owns one netfilter queue and releases its packets late.

    Create it in the namespace whose rules feed the queue (the netlink socket binds to
    the creating thread's namespace). `stop()` releases whatever is still held at once.
    """

    def __init__(self, queue: NfQueue, profile: DelayProfile, *, seed: int | None = None) -> None:
        self._queue = queue
        self._profile = profile
        self._rng = random.Random(seed)
        self._held: list[tuple[float, int, int]] = []  # (release time, sequence, packet id)
        self._sequence = 0
        self._last_release: dict[int, float] = {}  # per hook: keeps each direction in order
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = threading.Event()
        self.released = 0
        self._thread = threading.Thread(target=self._run, name="delay-shaper", daemon=True)
        self._thread.start()

    @property
    def queue_num(self) -> int:
        return self._queue.queue_num

    @property
    def held(self) -> int:
        return len(self._held)

    def stop(self) -> None:
        """Release every held packet now, unbind the queue and end the thread."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        self._thread.join(5.0)
        self._queue.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                timeout = None
                if self._held:
                    timeout = max(0.0, self._held[0][0] - time.monotonic())
                queue_fd = self._queue.fileno()
                readable, _, _ = select.select([queue_fd, self._wake_r], [], [], timeout)
                if queue_fd in readable:
                    self._take(time.monotonic())
                self._release_due(time.monotonic())
        finally:
            # Whatever is still held, or queued but not read yet (the kernel would drop
            # it when the queue is unbound), goes through now: stopping never blackholes.
            with contextlib.suppress(OSError):
                while packets := self._queue.receive(block=False):
                    for packet in packets:
                        self._queue.verdict(packet.packet_id)
            while self._held:
                _, _, packet_id = heapq.heappop(self._held)
                with contextlib.suppress(OSError):
                    self._queue.verdict(packet_id)

    def _take(self, now: float) -> None:
        for packet in self._queue.receive():
            release = now + self._profile.sample_s(self._rng)
            if self._profile.keep_order:
                release = max(release, self._last_release.get(packet.hook, 0.0))
                self._last_release[packet.hook] = release
            self._sequence += 1
            heapq.heappush(self._held, (release, self._sequence, packet.packet_id))

    def _release_due(self, now: float) -> None:
        while self._held and self._held[0][0] <= now:
            _, _, packet_id = heapq.heappop(self._held)
            self._queue.verdict(packet_id)
            self.released += 1
