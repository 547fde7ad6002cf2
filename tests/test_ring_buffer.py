"""The SPSC int16 ring: wrap-around, bounds, and two real threads moving samples."""

from __future__ import annotations

import threading

import numpy as np

from client.media.ring_buffer import Int16Ring


def test_write_read_wraps_and_keeps_order() -> None:
    ring = Int16Ring(10)
    assert ring.write(np.arange(7, dtype=np.int16)) == 7
    out = np.zeros(5, dtype=np.int16)
    assert ring.read_into(out) == 5
    assert out.tolist() == [0, 1, 2, 3, 4]
    # 2 left; 8 fit, wrapping past the end of the array.
    assert ring.write(np.arange(100, 110, dtype=np.int16)) == 8
    assert ring.available == 10 and ring.free == 0
    out = np.zeros(10, dtype=np.int16)
    assert ring.read_into(out) == 10
    assert out.tolist() == [5, 6, 100, 101, 102, 103, 104, 105, 106, 107]


def test_full_and_empty_bounds() -> None:
    ring = Int16Ring(4)
    assert ring.write(np.ones(6, dtype=np.int16)) == 4
    assert ring.write(np.ones(1, dtype=np.int16)) == 0
    out = np.full(6, -1, dtype=np.int16)
    assert ring.read_into(out) == 4
    assert out.tolist() == [1, 1, 1, 1, -1, -1]  # the rest untouched
    assert ring.read_into(out) == 0
    assert ring.write(np.arange(3, dtype=np.int16)) == 3
    assert ring.discard(2) == 2 and ring.discard(5) == 1 and ring.available == 0


def test_two_threads_move_every_sample_in_order() -> None:
    ring = Int16Ring(1000)
    total = 300_000
    source = (np.arange(total) % 30000).astype(np.int16)
    received = np.zeros(total, dtype=np.int16)

    def produce() -> None:
        sent = 0
        while sent < total:
            sent += ring.write(source[sent : sent + 333])

    def consume() -> None:
        got = 0
        block = np.zeros(257, dtype=np.int16)
        while got < total:
            count = ring.read_into(block[: min(257, total - got)])
            received[got : got + count] = block[:count]
            got += count

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert np.array_equal(received, source)
