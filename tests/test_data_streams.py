"""Text streams: UTF-8 splitting, packet building and bounded reassembly."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from livekit.protocol import models

from client.livekit import data_streams as ds
from client.livekit.data_streams import (
    MAX_CHUNK_BYTES,
    MAX_OPEN_STREAMS,
    MAX_STREAM_BYTES,
    TextStreamAssembler,
    TopicListener,
    split_utf8,
    text_stream_packets,
)
from client.livekit.engine import MAX_DATA_PACKET_BYTES

REPO = Path(__file__).resolve().parents[1]

# 1-, 2-, 3- and 4-byte characters, combining marks and ZWJ emoji sequences.
ALPHABETS = [
    "abc xyz 0123456789.,;!?",
    "éèàçœßøÅñü",
    "你好世界漢字かなカナ한국어",
    "مرحبا بالعالم العربية",
    "😀🎉👍🏽👨‍👩‍👧‍👦🇫🇷🧑‍💻",
    "e\u0301a\u0308\u200d\u2060",
    "\U00010348\U0001f600\U0010fffd",
]


def random_text(rng: random.Random, n_chars: int) -> str:
    pools = rng.sample(ALPHABETS, rng.randint(1, len(ALPHABETS)))
    pool = "".join(pools)
    return "".join(rng.choice(pool) for _ in range(n_chars))


def check_split(data: bytes, limit: int) -> list[bytes]:
    pieces = split_utf8(data, limit)
    assert b"".join(pieces) == data
    for i, piece in enumerate(pieces):
        assert 0 < len(piece) <= limit
        piece.decode("utf-8")  # strict: raises if a character was cut
        if i + 1 < len(pieces):
            # No needlessly short piece: the next character would not have fitted.
            next_char_len = len(pieces[i + 1][:4].decode("utf-8", errors="ignore")[:1].encode())
            assert len(piece) + next_char_len > limit
    return pieces


def test_split_utf8_small_limits_random() -> None:
    rng = random.Random(1234)
    for _ in range(600):
        text = random_text(rng, rng.randint(0, 80))
        limit = rng.randint(4, 23)
        check_split(text.encode("utf-8"), limit)


def test_split_utf8_sizes_around_the_chunk_limit() -> None:
    rng = random.Random(99)
    for _ in range(40):
        text = random_text(rng, 4000)
        data = text.encode("utf-8")
        while len(data) < 2 * MAX_CHUNK_BYTES + 10:
            data += data
        # Cut (at a character boundary) to sizes just below/at/above 1x and 2x the limit.
        for target in (
            MAX_CHUNK_BYTES - 3,
            MAX_CHUNK_BYTES,
            MAX_CHUNK_BYTES + 1,
            MAX_CHUNK_BYTES + 3,
            2 * MAX_CHUNK_BYTES,
            2 * MAX_CHUNK_BYTES + 2,
        ):
            sample = data[:target].decode("utf-8", errors="ignore").encode("utf-8")
            pieces = check_split(sample, MAX_CHUNK_BYTES)
            # At most 3 bytes are given up per piece to keep a character whole.
            assert -(-len(sample) // MAX_CHUNK_BYTES) <= len(pieces)
            assert len(pieces) <= -(-len(sample) // (MAX_CHUNK_BYTES - 3))


def test_split_utf8_exact_boundaries() -> None:
    assert split_utf8(b"", 10) == []
    assert split_utf8(b"ab", 1) == [b"a", b"b"]
    # A 4-byte emoji straddling the limit goes whole into the next piece.
    data = "abc😀".encode()
    assert split_utf8(data, 5) == [b"abc", "😀".encode()]
    assert split_utf8(("é" * 3).encode(), 3) == ["é".encode()] * 3
    assert split_utf8(("é" * 3).encode(), 4) == [("é" * 2).encode(), "é".encode()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_AS")
def test_split_utf8_limit_smaller_than_a_character_terminates() -> None:
    # Run in a child with a small memory allowance so the bug cannot hurt this process.
    code = textwrap.dedent(
        """
        import resource
        from client.livekit.data_streams import split_utf8
        with open("/proc/self/status") as f:
            vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize"))
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        resource.setrlimit(resource.RLIMIT_AS, (vm + (16 << 20), hard))
        data = "é".encode()
        try:
            pieces = split_utf8(data, 1)
        except ValueError:
            print("OK")
        else:
            print("OK" if b"".join(pieces) == data else "BAD")
        """
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=15,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("split_utf8 did not return")
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr[-300:]


# --- packets ----------------------------------------------------------------------------


def big_text() -> str:
    unit = "Добрый день! 你好，世界。مرحبا بالعالم 😀👨‍👩‍👧 "
    text = ""
    while len(text.encode()) < 40_000:
        text += unit
    return text


def with_sender(packets: list[models.DataPacket], identity: str) -> list[models.DataPacket]:
    """What the server does: stamp the sender on every forwarded packet."""
    out = []
    for packet in packets:
        copy = models.DataPacket()
        copy.CopyFrom(packet)
        copy.participant_identity = identity
        out.append(copy)
    return out


def test_text_stream_packets_of_a_40kb_non_latin_text() -> None:
    text = big_text()
    data = text.encode()
    assert len(data) >= 40_000
    stream_id, packets = text_stream_packets(
        text,
        topic="lk.chat",
        attributes={"k": "v"},
        destination_identities=("alice",),
        timestamp_ms=1234,
    )
    kinds = [p.WhichOneof("value") for p in packets]
    n_chunks = len(packets) - 2
    assert kinds == ["stream_header"] + ["stream_chunk"] * n_chunks + ["stream_trailer"]
    assert -(-len(data) // MAX_CHUNK_BYTES) <= n_chunks <= -(-len(data) // (MAX_CHUNK_BYTES - 3))
    assert n_chunks >= 3

    header = packets[0].stream_header
    assert header.stream_id == stream_id
    assert header.total_length == len(data)
    assert header.topic == "lk.chat"
    assert header.mime_type == "text/plain"
    assert header.timestamp == 1234
    assert dict(header.attributes) == {"k": "v"}
    assert header.WhichOneof("content_header") == "text_header"

    chunks = [p.stream_chunk for p in packets[1:-1]]
    assert [c.stream_id for c in chunks] == [stream_id] * n_chunks
    assert [c.chunk_index for c in chunks] == list(range(n_chunks))
    assert b"".join(c.content for c in chunks) == data
    for chunk in chunks:
        assert len(chunk.content) <= MAX_CHUNK_BYTES
        bytes(chunk.content).decode("utf-8")
    assert packets[-1].stream_trailer.stream_id == stream_id

    for packet in packets:
        assert packet.kind == models.DataPacket.RELIABLE
        assert list(packet.destination_identities) == ["alice"]
        assert packet.ByteSize() <= MAX_DATA_PACKET_BYTES

    # A new stream gets a new id.
    other_id, _ = text_stream_packets("x", topic="t")
    assert other_id != stream_id


# --- assembler ----------------------------------------------------------------------------


def listening(
    *topics: str,
    progress: bool = True,
    max_bytes: int = MAX_STREAM_BYTES,
    clock: Callable[[], float] = time.monotonic,
) -> TextStreamAssembler:
    assembler = TextStreamAssembler(clock=clock)
    for topic in topics:
        assembler.listen(topic, TopicListener(progress=progress, max_bytes=max_bytes))
    return assembler


def trailer(stream_id: str, sender: str = "alice") -> models.DataPacket:
    return models.DataPacket(
        participant_identity=sender,
        stream_trailer=models.DataStream.Trailer(stream_id=stream_id),
    )


def test_assembler_reassembles_in_order_with_growing_text() -> None:
    text = big_text()
    stream_id, packets = text_stream_packets(text, topic="lk.chat", attributes={"a": "1"})
    packets = with_sender(packets, "alice")
    assembler = listening("lk.chat")

    first = assembler.handle(packets[0])
    assert first is not None and not first.done and first.text == ""
    assert assembler.open_streams == 1
    seen = ""
    for packet in packets[1:-1]:
        progress = assembler.handle(packet)
        assert progress is not None and not progress.done
        grown = progress.text
        assert grown.startswith(seen) and len(grown) > len(seen)
        assert text.startswith(grown)  # chunks end on character boundaries
        seen = grown
    last = assembler.handle(packets[-1])
    assert last is not None and last.done and not last.interrupted
    assert last.text == text
    assert last.stream.stream_id == stream_id
    assert last.stream.sender_identity == "alice"
    assert last.stream.topic == "lk.chat"
    assert last.stream.attributes == {"a": "1"}
    assert last.stream.total_length == len(text.encode())
    assert assembler.open_streams == 0


def test_without_progress_only_the_end_is_reported() -> None:
    text = big_text()
    _, packets = text_stream_packets(text, topic="lk.chat")
    assembler = listening("lk.chat", progress=False)
    results = [assembler.handle(p) for p in with_sender(packets, "alice")]
    assert results[:-1] == [None] * (len(packets) - 1)
    last = results[-1]
    assert last is not None and last.done and last.text == text


def test_assembly_is_linear_in_the_stream_size() -> None:
    """Each chunk is decoded once and the text joined once: count the characters joined."""
    joined = 0

    class CountingStream(ds.IncomingTextStream):
        def text(self) -> str:
            nonlocal joined
            result = super().text()
            joined += len(result)
            return result

    text = "x" * (4 * 1024 * 1024 - 10)
    _, packets = text_stream_packets(text, topic="lk.chat")
    # 1 KB chunks, as the slow case that blocked the loop.
    data = text.encode()
    header, trailer_packet = packets[0], packets[-1]
    chunks = [
        models.DataPacket(
            stream_chunk=models.DataStream.Chunk(
                stream_id=header.stream_header.stream_id, chunk_index=i, content=data[o : o + 1024]
            )
        )
        for i, o in enumerate(range(0, len(data), 1024))
    ]
    assembler = listening("lk.chat", progress=False)
    original = ds.IncomingTextStream
    ds.IncomingTextStream = CountingStream  # type: ignore[misc]
    try:
        results = [assembler.handle(p) for p in with_sender([header, *chunks, trailer_packet], "a")]
    finally:
        ds.IncomingTextStream = original  # type: ignore[misc]
    final = results[-1]
    assert final is not None and final.text == text
    assert joined == len(text)  # one join of the whole text, at the end


def test_topics_nobody_listens_to_are_dropped_at_the_header() -> None:
    _, packets = text_stream_packets("hello", topic="game.state")
    assembler = listening("lk.chat")
    assert [assembler.handle(p) for p in with_sender(packets, "alice")] == [None] * len(packets)
    assert assembler.open_streams == 0


def test_stopping_to_listen_drops_new_streams() -> None:
    assembler = TextStreamAssembler()
    stop = assembler.listen("lk.chat")
    _, packets = text_stream_packets("one", topic="lk.chat")
    assert assembler.handle(with_sender(packets, "a")[-1]) is None  # no header yet: unknown
    stop()
    assert assembler.handle(with_sender(packets, "a")[0]) is None
    assert assembler.open_streams == 0


def test_chunks_and_trailers_from_another_sender_are_ignored() -> None:
    stream_id, packets = text_stream_packets("Bonjour", topic="lk.chat")
    assembler = listening("lk.chat", progress=False)
    assert assembler.handle(with_sender(packets, "alice")[0]) is None
    forged = models.DataPacket(
        participant_identity="mallory",
        stream_chunk=models.DataStream.Chunk(stream_id=stream_id, chunk_index=0, content=b"pwned"),
    )
    assert assembler.handle(forged) is None
    assert assembler.handle(trailer(stream_id, "mallory")) is None
    assert assembler.open_streams == 1
    # A second header under the same id cannot take the stream over either.
    hijack = with_sender(packets, "mallory")[0]
    assert assembler.handle(hijack) is None
    for packet in with_sender(packets, "alice")[1:]:
        result = assembler.handle(packet)
    assert result is not None and result.text == "Bonjour"
    assert result.stream.sender_identity == "alice"


def test_assembler_reassembles_out_of_order_chunks() -> None:
    text = big_text() * 2
    rng = random.Random(7)
    for _ in range(5):
        _, packets = text_stream_packets(text, topic="lk.chat")
        packets = with_sender(packets, "bob")
        chunks = packets[1:-1]
        rng.shuffle(chunks)
        assembler = listening("lk.chat")
        for packet in [packets[0], *chunks]:
            progress = assembler.handle(packet)
            assert progress is not None and not progress.done
        final = assembler.handle(packets[-1])
        assert final is not None and final.done and not final.interrupted
        assert final.text == text


def test_duplicate_chunks_are_counted_once() -> None:
    _, packets = text_stream_packets("abc", topic="t")
    packets = with_sender(packets, "a")
    assembler = listening("t")
    for packet in [packets[0], packets[1], packets[1], packets[2]]:
        assembler.handle(packet)
    # packets[2] is the trailer
    assert assembler.open_streams == 0


def test_interleaved_streams_do_not_mix() -> None:
    id_a, packets_a = text_stream_packets("A" * 40_000, topic="t")
    id_b, packets_b = text_stream_packets("ب" * 20_000, topic="t")
    packets_a, packets_b = with_sender(packets_a, "a"), with_sender(packets_b, "b")
    assembler = listening("t")
    results = {}
    for a, b in zip(packets_a, packets_b, strict=False):
        for packet in (a, b):
            progress = assembler.handle(packet)
            if progress is not None and progress.done:
                results[progress.stream.stream_id] = progress.text
    for packet in packets_a[len(packets_b) :]:
        progress = assembler.handle(packet)
        if progress is not None and progress.done:
            results[progress.stream.stream_id] = progress.text
    assert results == {id_a: "A" * 40_000, id_b: "ب" * 20_000}


def _header(
    stream_id: str, sender: str = "alice", topic: str = "t", **kwargs: object
) -> models.DataPacket:
    return models.DataPacket(
        participant_identity=sender,
        stream_header=models.DataStream.Header(
            stream_id=stream_id,
            topic=topic,
            text_header=models.DataStream.TextHeader(),
            **kwargs,  # type: ignore[arg-type]
        ),
    )


def _chunk(
    stream_id: str, content: bytes = b"x", index: int = 0, sender: str = "alice"
) -> models.DataPacket:
    return models.DataPacket(
        participant_identity=sender,
        stream_chunk=models.DataStream.Chunk(
            stream_id=stream_id, chunk_index=index, content=content
        ),
    )


def test_stream_over_max_bytes_is_dropped_with_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream_id = "too-big"
    assembler = listening("lk.chat", max_bytes=100_000)
    assert assembler.handle(_header(stream_id, topic="lk.chat")) is not None
    content = b"a" * MAX_CHUNK_BYTES
    n_needed = 100_000 // MAX_CHUNK_BYTES + 1
    last = None
    with caplog.at_level("WARNING"):
        for index in range(n_needed + 20):
            last = assembler.handle(_chunk(stream_id, content, index)) or last
        assert assembler.handle(trailer(stream_id)) is None
    assert last is not None and last.done and last.interrupted
    assert assembler.open_streams == 0
    assert assembler.dropped_streams == 1
    assert len([r for r in caplog.records if "too-big" in r.getMessage()]) == 1
    # Its id cannot be reopened.
    assert assembler.handle(_header(stream_id, topic="lk.chat")) is None


def test_stream_announcing_too_many_bytes_is_dropped_at_the_header() -> None:
    assembler = listening("t", max_bytes=1000)
    assert assembler.handle(_header("huge", total_length=1001)) is None
    assert assembler.handle(_chunk("huge")) is None
    assert assembler.open_streams == 0 and assembler.dropped_streams == 1


def test_open_streams_per_sender_are_capped() -> None:
    assembler = listening("t")
    for i in range(ds.MAX_OPEN_STREAMS_PER_SENDER + 5):
        assembler.handle(_header(f"m{i}", sender="mallory"))
    assert assembler.open_streams == ds.MAX_OPEN_STREAMS_PER_SENDER
    # Others can still open theirs, and keep them.
    assert assembler.handle(_header("mine", sender="alice")) is not None
    for i in range(50):
        assembler.handle(_header(f"n{i}", sender="mallory"))
    assert assembler.handle(_chunk("mine")) is not None


def test_too_many_open_streams_evicts_the_oldest() -> None:
    assembler = listening("t")
    senders = [f"p{i}" for i in range(MAX_OPEN_STREAMS + 1)]
    for i, sender in enumerate(senders):
        assert assembler.handle(_header(f"s{i}", sender=sender)) is not None
        assert assembler.open_streams == min(i + 1, MAX_OPEN_STREAMS)
    assert assembler.handle(_chunk("s0", sender="p0")) is None  # evicted
    progress = assembler.handle(_chunk("s1", sender="p1"))
    assert progress is not None and progress.text == "x"
    for i in range(500):
        assembler.handle(_header(f"flood{i}", sender=f"f{i}"))
    assert assembler.open_streams == MAX_OPEN_STREAMS


def test_unknown_stream_chunks_and_trailers_are_ignored() -> None:
    assembler = listening("t")
    assert assembler.handle(_chunk("nope", b"hello")) is None
    assert assembler.handle(trailer("nope")) is None
    assert assembler.open_streams == 0
    # A chunk arriving before its header is not retroactively kept.
    assert assembler.handle(_chunk("late", b"early")) is None
    assert assembler.handle(_header("late")) is not None
    assert assembler.handle(_chunk("late", b"B", 1)) is not None
    done = assembler.handle(trailer("late"))
    assert done is not None and done.text == "B"


def test_encrypted_or_byte_streams_are_ignored() -> None:
    assembler = listening("t", "files")
    assert assembler.handle(_header("enc", encryption_type=models.Encryption.GCM)) is None
    assert assembler.handle(_chunk("enc", b"ciphertext")) is None
    assert assembler.open_streams == 0

    byte_header = models.DataPacket(
        stream_header=models.DataStream.Header(
            stream_id="file",
            topic="files",
            byte_header=models.DataStream.ByteHeader(name="a.bin"),
        )
    )
    assert assembler.handle(byte_header) is None
    assert assembler.open_streams == 0

    # An encrypted chunk (with an IV) of a clear stream is not mixed into its text.
    assert assembler.handle(_header("clear")) is not None
    encrypted_chunk = models.DataPacket(
        participant_identity="alice",
        stream_chunk=models.DataStream.Chunk(
            stream_id="clear", chunk_index=0, content=b"\x8f\x00garbage", iv=b"0123456789ab"
        ),
    )
    assert assembler.handle(encrypted_chunk) is None
    assert assembler.handle(_chunk("clear", b"ok", 1)) is not None
    done = assembler.handle(trailer("clear"))
    assert done is not None and done.text == "ok"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_stream_expires() -> None:
    clock = FakeClock()
    assembler = listening("t", clock=clock)
    assert assembler.handle(_header("idle")) is not None
    clock.now += ds.STREAM_IDLE_TIMEOUT_S + 1
    assert assembler.handle(_chunk("idle")) is None
    assert assembler.open_streams == 0


def test_idle_stream_behind_an_active_one_expires() -> None:
    clock = FakeClock()
    assembler = listening("t", clock=clock)
    assert assembler.handle(_header("active")) is not None
    assert assembler.handle(_header("idle")) is not None
    clock.now += ds.STREAM_IDLE_TIMEOUT_S * 0.75
    assert assembler.handle(_chunk("active", b"a", 0)) is not None
    clock.now += ds.STREAM_IDLE_TIMEOUT_S * 0.75
    assert assembler.handle(_chunk("idle", b"i", 0)) is None
    assert assembler.handle(_chunk("active", b"b", 1)) is not None


def test_a_stream_kept_alive_forever_is_closed_at_its_lifetime() -> None:
    clock = FakeClock()
    assembler = listening("t", clock=clock)
    assembler.handle(_header("slow"))
    for index in range(int(ds.STREAM_MAX_LIFETIME_S // 10) + 2):
        clock.now += 10
        assembler.handle(_chunk("slow", b"x", index))
    assert assembler.open_streams == 0


def test_a_stream_written_on_someones_behalf_is_checked_by_session() -> None:
    """An agent captioning "ours" sends the header as "ours" (the server keeps that
    identity, marked generated) and the rest as itself; the session sid the server
    stamps on every packet is the same, and is what counts."""
    _, packets = text_stream_packets("Bonjour à tous", topic="lk.transcription")
    header, chunk, end = (models.DataPacket() for _ in range(3))
    for copy, packet in zip((header, chunk, end), packets, strict=True):
        copy.CopyFrom(packet)
        copy.participant_sid = "PA_agent"
    header.participant_identity = "ours"
    header.stream_header.text_header.generated = True
    chunk.participant_identity = end.participant_identity = "agent-1"
    forged = models.DataPacket()
    forged.CopyFrom(chunk)
    forged.participant_identity, forged.participant_sid = "ours", "PA_mallory"
    forged.stream_chunk.content = b"pwned"
    assembler = listening("lk.transcription", progress=False)
    assert assembler.handle(header) is None
    assert assembler.handle(forged) is None
    assert assembler.handle(chunk) is None
    done = assembler.handle(end)
    assert done is not None and done.text == "Bonjour à tous"
    assert done.stream.sender_identity == "ours"
