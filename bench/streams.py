"""The text-stream benchmark: how long can a large incoming stream block the loop?

The room's event loop is also the one that paces media (and, with the GUI, may
sit next to the UI's), so no single packet may hold it.  A peer sends a 4 MB
chat message in 1 KB chunks (the worst case: most packets) and in 15 KB chunks
(what LiveKit clients send).  Each packet is parsed from bytes and handed to the
room as the data channel delivers it, one callback per packet, while a ticker
task measures how late the loop wakes it.  In the same run, a stream on a topic
nobody listens to shows what dropping at the header saves.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass

from livekit.protocol import models

from client.chat import Chat, ChatMessageReceived
from client.gc_tuning import settle_after_startup
from client.livekit.data_packets import parse_data_packet
from client.livekit.data_streams import text_stream_packets
from client.livekit.room import Room

STREAM_BYTES = 4 * 1024 * 1024
TICK_S = 0.001


@dataclass(frozen=True)
class StreamFigures:
    chunk_bytes: int
    packets: int
    total_ms: float
    max_loop_block_ms: float
    delivered: bool


def _text(size: int) -> str:
    unit = "Compte rendu de la réunion — 会议纪要 — محضر الاجتماع. "
    text = unit * (size // len(unit.encode()) + 1)
    data = text.encode()[:size]
    return data.decode("utf-8", errors="ignore")


def _wire(text: str, chunk_bytes: int, topic: str) -> list[bytes]:
    """The stream's packets as bytes, as the data channel delivers them."""
    stream_id, packets = text_stream_packets(text, topic=topic)
    header, trailer = packets[0], packets[-1]
    data = text.encode()
    chunks = [
        models.DataPacket(
            kind=models.DataPacket.RELIABLE,
            stream_chunk=models.DataStream.Chunk(
                stream_id=stream_id, chunk_index=i, content=data[offset : offset + chunk_bytes]
            ),
        )
        for i, offset in enumerate(range(0, len(data), chunk_bytes))
    ]
    wire = []
    for packet in [header, *chunks, trailer]:
        packet.participant_identity = "sender"
        wire.append(packet.SerializeToString())
    return wire


async def measure(chunk_bytes: int, topic: str = "lk.chat") -> StreamFigures:
    room = Room()
    chat = Chat(room)
    delivered: list[ChatMessageReceived] = []
    room.events.on(ChatMessageReceived, delivered.append)
    text = _text(STREAM_BYTES)
    wire = _wire(text, chunk_bytes, topic)
    loop = asyncio.get_running_loop()
    worst = 0.0
    running = True

    async def ticker() -> None:
        nonlocal worst
        while running:
            before = time.perf_counter()
            await asyncio.sleep(TICK_S)
            worst = max(worst, time.perf_counter() - before - TICK_S)

    tick = asyncio.ensure_future(ticker())
    await asyncio.sleep(0.01)
    done = loop.create_future()
    start = time.perf_counter()

    def deliver(index: int) -> None:
        # One callback per message, as aiortc's SCTP transport hands them over.
        packet = parse_data_packet(wire[index])
        if packet is not None:
            room.on_data_packet(packet)
        if index + 1 < len(wire):
            loop.call_soon(deliver, index + 1)
        else:
            done.set_result(None)

    loop.call_soon(deliver, 0)
    await done
    total = time.perf_counter() - start
    await asyncio.sleep(0.01)
    running = False
    await tick
    chat.close()
    ok = len(delivered) == 1 and delivered[0].message.text == text
    return StreamFigures(
        chunk_bytes=chunk_bytes,
        packets=len(wire),
        total_ms=round(total * 1000, 1),
        max_loop_block_ms=round(worst * 1000, 2),
        delivered=ok if topic == "lk.chat" else not delivered,
    )


async def run_streams() -> dict[str, object]:
    settle_after_startup()  # as the application does once it is up
    small = await measure(1024)
    large = await measure(15000)
    ignored = await measure(1024, topic="nobody.listens")
    return {
        "stream_bytes": STREAM_BYTES,
        "max_loop_block_ms_1kb_chunks": small.max_loop_block_ms,
        "total_ms_1kb_chunks": small.total_ms,
        "max_loop_block_ms_15kb_chunks": large.max_loop_block_ms,
        "total_ms_15kb_chunks": large.total_ms,
        "total_ms_unlistened_topic": ignored.total_ms,
        "delivered_once": small.delivered and large.delivered,
        "unlistened_dropped": ignored.delivered,
        "runs": [asdict(small), asdict(large), asdict(ignored)],
    }


def main_streams(as_json: bool) -> int:
    figures = asyncio.run(run_streams())
    if not as_json:
        for key, value in figures.items():
            if key != "runs":
                print(f"{key:32} {value}")
    print(json.dumps(figures))
    return 0
