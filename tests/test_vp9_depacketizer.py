"""VP9 reception: the RFC 9628 depacketizer, its aiortc hooks, and real VP9 peers.

The unit tests packetize a real libvpx-vp9 encode (PyAV) with a small packetizer
written here, push the packets through the receive path the client uses (our
depayload hook, the loss-concealment jitter buffer, the gated VP9 decoder) and
compare what comes out with a plain decode of the same stream, pixel for pixel.
The interop tests have the official SDK publish VP9 (single layer and L3T3_KEY SVC)
and VP8 to our client through a real livekit-server.
"""

from __future__ import annotations

import asyncio
import fractions
import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
import pytest
from aiortc import RTCPeerConnection, RTCRtpSender, rtcrtpreceiver
from aiortc.codecs.base import Decoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from livekit import rtc

from client.livekit import aiortc_compat, loss_concealment, vp9_codec
from client.livekit.vp9_depacketizer import (
    Vp9FormatError,
    assemble_picture,
    build_superframe,
    header_is_keyframe,
    packet_starts,
    parse_descriptor,
    picture_id_distance,
    superframe_frames,
)
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.sdk_peers import camera_options, feed_stamped_video
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.our_client import OurClient, TrackProbe
from tests.sdk_peer import SdkPeer

PT = 98
VP9 = RTCRtpCodecParameters(mimeType="video/VP9", clockRate=90000, payloadType=PT)
WIDTH, HEIGHT = 320, 180
MTU = 240  # small, so most frames span several packets


# --- a real VP9 stream ------------------------------------------------------------------


def encode(count: int, *, keyframes: Sequence[int] = (0,)) -> list[bytes]:
    """``count`` frames of a moving pattern through libvpx-vp9 (realtime)."""
    codec = av.CodecContext.create("libvpx-vp9", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.bit_rate = 400_000
    codec.gop_size = 10_000
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[bytes] = []
    for i in range(count):
        plane = np.full((HEIGHT * 3 // 2, WIDTH), 128, np.uint8)
        plane[:HEIGHT] = (np.arange(WIDTH)[None, :] * 3 + np.arange(HEIGHT)[:, None] + i * 5) % 256
        frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
        frame.pts = i
        if i in keyframes:
            frame.pict_type = av.video.frame.PictureType.I
        out += [bytes(p) for p in codec.encode(frame)]
    out += [bytes(p) for p in codec.encode(None)]
    assert len(out) == count
    return out


def reference_decode(frames: Sequence[bytes]) -> list[npt.NDArray[np.uint8]]:
    codec = av.CodecContext.create("libvpx-vp9", "r")
    pictures = []
    for data in frames:
        decoded = codec.decode(av.Packet(data))
        assert len(decoded) == 1
        pictures.append(decoded[0].to_ndarray(format="yuv420p"))
    return pictures


@pytest.fixture(scope="module")
def stream() -> list[bytes]:
    return encode(40, keyframes=(0, 30))


# --- a packetizer (the sender's side of RFC 9628) ----------------------------------------


@dataclass
class Layer:
    """One layer frame to packetize."""

    data: bytes
    sid: int = 0
    tid: int = 0
    inter_picture: bool = True
    inter_layer: bool = False
    p_diffs: tuple[int, ...] = ()


def ss_bytes(
    sizes: Sequence[tuple[int, int]], group: Sequence[tuple[int, bool, list[int]]]
) -> bytes:
    """A scalability structure: one size per spatial layer, and a picture group."""
    out = bytearray([((len(sizes) - 1) << 5) | (0x10 if sizes else 0) | (0x08 if group else 0)])
    for width, height in sizes:
        out += width.to_bytes(2, "big") + height.to_bytes(2, "big")
    if group:
        out.append(len(group))
        for tid, up, diffs in group:
            out.append((tid << 5) | (0x10 if up else 0) | (len(diffs) << 2))
            out += bytes(diffs)
    return bytes(out)


def descriptor(
    layer: Layer,
    *,
    picture_id: int,
    begins: bool,
    ends: bool,
    flexible: bool,
    pid_bits: int = 15,
    tl0picidx: int = 0,
    ss: bytes = b"",
) -> bytes:
    first = 0x80 | 0x20  # I, L
    first |= 0x40 if layer.inter_picture else 0
    first |= 0x10 if flexible else 0
    first |= 0x08 if begins else 0
    first |= 0x04 if ends else 0
    first |= 0x02 if ss else 0
    out = bytearray([first])
    if pid_bits == 15:
        out += (0x8000 | picture_id).to_bytes(2, "big")
    else:
        out.append(picture_id & 0x7F)
    out.append((layer.tid << 5) | (layer.sid << 1) | (1 if layer.inter_layer else 0))
    if not flexible:
        out.append(tl0picidx)
    elif layer.inter_picture:
        for i, diff in enumerate(layer.p_diffs):
            out.append((diff << 1) | (1 if i < len(layer.p_diffs) - 1 else 0))
    return bytes(out) + ss


class Packetizer:
    def __init__(self, *, flexible: bool, mtu: int = MTU, first_seq: int = 65530) -> None:
        self.flexible = flexible
        self.mtu = mtu
        self.seq = first_seq
        self.picture_id = 0x7FFC  # wraps within a few pictures

    def picture(self, layers: Sequence[Layer], timestamp: int) -> list[RtpPacket]:
        packets: list[RtpPacket] = []
        for index, layer in enumerate(layers):
            ss = b""
            if index == 0 and not layer.inter_picture and not self.flexible:
                ss = ss_bytes([(WIDTH, HEIGHT)] * len(layers), [(0, False, [1])])
            pieces = [layer.data[i : i + self.mtu] for i in range(0, len(layer.data), self.mtu)]
            for n, piece in enumerate(pieces):
                head = descriptor(
                    layer,
                    picture_id=self.picture_id,
                    begins=n == 0,
                    ends=n == len(pieces) - 1,
                    flexible=self.flexible,
                    tl0picidx=self.picture_id & 0xFF,
                    ss=ss if n == 0 else b"",
                )
                last = index == len(layers) - 1 and n == len(pieces) - 1
                packets.append(
                    RtpPacket(
                        payload_type=PT,
                        marker=int(last),
                        sequence_number=self.seq,
                        timestamp=timestamp,
                        ssrc=1234,
                        payload=head + piece,
                    )
                )
                self.seq = (self.seq + 1) & 0xFFFF
        self.picture_id = (self.picture_id + 1) & 0x7FFF
        return packets

    def stream(self, frames: Sequence[bytes]) -> Iterator[list[RtpPacket]]:
        for i, data in enumerate(frames):
            key = header_is_keyframe(data) is True
            yield self.picture(
                [Layer(data, inter_picture=not key, p_diffs=() if key else (1,))], i * 3000
            )


# --- the client's receive path -----------------------------------------------------------


class ReceivePath:
    """Our depayload hook, the loss-concealment buffer and the gated VP9 decoder."""

    def __init__(self) -> None:
        self.now = 0.0
        self.buffer = loss_concealment.VideoLossBuffer(
            {PT: VP9}, loss_concealment.LossStats("video"), clock=lambda: self.now
        )
        self.decoder: Decoder = rtcrtpreceiver.get_decoder(VP9)

    def feed(self, packet: RtpPacket) -> list[npt.NDArray[np.uint8]]:
        packet._data = rtcrtpreceiver.depayload(VP9, packet.payload)  # type: ignore[attr-defined]
        _, batch = self.buffer.add(packet)
        if batch is None:
            return []
        return [f.to_ndarray(format="yuv420p") for f in self.decoder.decode(batch)]


def same(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))


# --- unit tests ------------------------------------------------------------------------


def test_hooks_are_installed_and_aiortc_internals_still_there() -> None:
    assert aiortc_compat.internals_available()
    assert vp9_codec.internals_available(), "aiortc moved what the VP9 hooks rely on"
    assert vp9_codec.installed()
    assert loss_concealment.installed()
    decoder = rtcrtpreceiver.get_decoder(VP9)
    assert isinstance(decoder, loss_concealment.GatedVideoDecoder)
    assert isinstance(decoder.inner, vp9_codec.Vp9Decoder)
    # VP8 still goes to aiortc's decoder, gated.
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    assert type(rtcrtpreceiver.get_decoder(vp8).inner).__name__ == "Vp8Decoder"  # type: ignore[attr-defined]


def test_non_flexible_descriptor_with_scalability_structure() -> None:
    ss = ss_bytes(
        [(320, 180), (640, 360), (1280, 720)], [(0, False, [4]), (2, True, [1]), (1, True, [2, 1])]
    )
    layer = Layer(b"\x82", sid=2, tid=1, inter_picture=False, inter_layer=True)
    raw = descriptor(
        layer, picture_id=0x1234, begins=True, ends=False, flexible=False, tl0picidx=77, ss=ss
    )
    d = parse_descriptor(raw + b"payload")
    assert (d.picture_id, d.picture_id_bits, d.sid, d.tid, d.inter_layer) == (
        0x1234,
        15,
        2,
        1,
        True,
    )
    assert (d.begins_frame, d.ends_frame, d.inter_picture, d.flexible) == (
        True,
        False,
        False,
        False,
    )
    assert d.tl0picidx == 77 and d.p_diffs == ()
    assert d.size == len(raw)
    assert d.ss is not None
    assert d.ss.spatial_layers == 3
    assert d.ss.resolutions == ((320, 180), (640, 360), (1280, 720))
    assert [(g.tid, g.switching_up, g.p_diffs) for g in d.ss.picture_group] == [
        (0, False, (4,)),
        (2, True, (1,)),
        (1, True, (2, 1)),
    ]
    # N_S without sizes or group (Y = G = 0).
    bare = parse_descriptor(bytes([0x0A, 0b01000000]))  # B, V; SS: 3 layers
    assert bare.ss is not None and bare.ss.spatial_layers == 3
    assert bare.ss.resolutions == () and bare.ss.picture_group == ()
    assert bare.picture_id is None and not bare.has_layers and bare.sid == 0


def test_flexible_descriptor_references_and_picture_id_wrap() -> None:
    layer = Layer(b"", sid=1, tid=2, inter_picture=True, p_diffs=(1, 5, 127))
    d = parse_descriptor(descriptor(layer, picture_id=3, begins=False, ends=True, flexible=True))
    assert d.flexible and d.tl0picidx is None
    assert d.p_diffs == (1, 5, 127)
    assert d.reference_ids == (2, 0x7FFE, 0x7FFF - 123)  # 15-bit wrap
    short = parse_descriptor(
        descriptor(
            Layer(b"", p_diffs=(4,)),
            picture_id=2,
            begins=True,
            ends=True,
            flexible=True,
            pid_bits=7,
        )
    )
    assert (short.picture_id, short.picture_id_bits, short.reference_ids) == (2, 7, (126,))
    assert picture_id_distance(0x7FFE, 1, 15) == 3
    assert picture_id_distance(126, 2, 7) == 4
    # A fourth reference is not allowed.
    with pytest.raises(Vp9FormatError):
        parse_descriptor(bytes([0x90 | 0x40, 0x05, 0x03, 0x03, 0x03, 0x03]))


def test_truncated_descriptors_are_refused() -> None:
    ss = ss_bytes([(320, 180), (640, 360)], [(0, False, [1, 2])])
    for flexible in (False, True):
        layer = Layer(b"", inter_picture=flexible, p_diffs=(1, 2))
        raw = descriptor(layer, picture_id=300, begins=True, ends=True, flexible=flexible, ss=ss)
        assert parse_descriptor(raw).size == len(raw)
        for cut in range(len(raw)):
            with pytest.raises(Vp9FormatError):
                parse_descriptor(raw[:cut])


def test_keyframes_are_detected_from_descriptor_and_header(stream: list[bytes]) -> None:
    assert [header_is_keyframe(f) for f in stream].count(True) == 2
    assert header_is_keyframe(stream[0]) and header_is_keyframe(stream[30])
    assert header_is_keyframe(stream[1]) is False
    assert header_is_keyframe(b"\x00\x00") is None
    packets = next(Packetizer(flexible=False).stream(stream[:1]))
    assert packet_starts(packets[0].payload) == (True, True)
    assert packet_starts(packets[1].payload) == (False, False)
    delta = Packetizer(flexible=True).picture([Layer(stream[1], p_diffs=(1,))], 0)
    assert packet_starts(delta[0].payload) == (True, False)
    # P = 0 on an upper spatial layer (inter-layer prediction) is not a keyframe start.
    upper = Packetizer(flexible=False).picture(
        [Layer(stream[0], inter_picture=False), Layer(stream[1], sid=1, inter_picture=False)], 0
    )
    first_upper = next(p for p in upper if parse_descriptor(p.payload).sid == 1)
    assert packet_starts(first_upper.payload) == (True, False)


@pytest.mark.parametrize("flexible", [False, True], ids=["non-flexible", "flexible"])
def test_stream_decodes_exactly_through_the_receive_path(
    stream: list[bytes], flexible: bool
) -> None:
    expected = reference_decode(stream)
    path = ReceivePath()
    got: list[npt.NDArray[np.uint8]] = []
    packets = 0
    for picture in Packetizer(flexible=flexible).stream(stream):
        packets += len(picture)
        for packet in picture:
            got += path.feed(packet)
    # The last picture is released once its marker bit is in: none is held back.
    assert packets > 2 * len(stream), "frames should span several packets"
    assert len(got) == len(stream)
    assert all(same(a, b) for a, b in zip(got, expected, strict=True))


def test_spatial_layers_of_a_picture_are_decoded_as_one_superframe(stream: list[bytes]) -> None:
    """Two layer frames in one picture (same timestamp, marker on the upper one):
    libvpx gets them as one superframe and shows the upper one."""
    expected = reference_decode(stream)
    packetizer = Packetizer(flexible=True)
    path = ReceivePath()
    got: list[npt.NDArray[np.uint8]] = []
    for k in range(0, 30, 2):
        base_key = header_is_keyframe(stream[k]) is True
        layers = [
            Layer(stream[k], sid=0, inter_picture=not base_key, p_diffs=() if base_key else (1,)),
            Layer(stream[k + 1], sid=1, inter_picture=not base_key, inter_layer=True, p_diffs=(1,)),
        ]
        picture = packetizer.picture(layers, k * 3000)
        assert sum(p.marker for p in picture) == 1 and picture[-1].marker
        for packet in picture:
            got += path.feed(packet)
    assert len(got) == 15
    assert all(same(got[i], expected[2 * i + 1]) for i in range(15))


def test_superframe_index_round_trip(stream: list[bytes]) -> None:
    frames = [stream[0], stream[1][:300], b"\x01" * 70000]
    data = build_superframe(frames)
    assert superframe_frames(data) == frames
    assert build_superframe([stream[0]]) == stream[0]
    with pytest.raises(Vp9FormatError):
        build_superframe([b"x"] * 9)


def test_a_picture_missing_a_layer_edge_is_refused(stream: list[bytes]) -> None:
    packets = Packetizer(flexible=False).picture(
        [Layer(stream[0], inter_picture=False), Layer(stream[1], sid=1, inter_picture=False)], 0
    )
    payloads = [p.payload for p in packets]
    whole = assemble_picture(payloads)
    assert whole.keyframe and whole.spatial_layers == (0, 1)
    assert whole.ss is not None and whole.ss.spatial_layers == 2
    ends = [i for i, p in enumerate(payloads) if parse_descriptor(p).ends_frame]
    begins = [i for i, p in enumerate(payloads) if parse_descriptor(p).begins_frame]
    for missing in (ends[0], begins[1], ends[1], begins[0]):
        with pytest.raises(Vp9FormatError):
            assemble_picture(payloads[:missing] + payloads[missing + 1 :])
    foreign = Packetizer(flexible=False).picture([Layer(stream[2])], 0)[0].payload
    with pytest.raises(Vp9FormatError):
        assemble_picture([*payloads[:-1], foreign])


def test_a_refused_picture_is_an_ffmpeg_error_for_the_gate(stream: list[bytes]) -> None:
    """aiortc's decoder thread survives only FFmpeg errors; the gate then waits for
    a keyframe."""
    from aiortc.jitterbuffer import JitterFrame

    packets = Packetizer(flexible=False).picture([Layer(stream[0], inter_picture=False)], 0)
    chunks = [rtcrtpreceiver.depayload(VP9, p.payload) for p in packets]
    decoder = vp9_codec.Vp9Decoder()
    with pytest.raises(av.FFmpegError):
        decoder.decode(JitterFrame(b"".join(chunks[1:]), 0))
    assert len(decoder.decode(JitterFrame(b"".join(chunks), 0))) == 1


def test_a_packet_lost_mid_frame_drops_the_frame_until_the_next_keyframe(
    stream: list[bytes],
) -> None:
    expected = reference_decode(stream)
    path = ReceivePath()
    lost_frame = 12
    got: list[tuple[int, npt.NDArray[np.uint8]]] = []
    for index, picture in enumerate(Packetizer(flexible=False, mtu=60).stream(stream)):
        assert index != lost_frame or len(picture) >= 3, "the lost packet must be mid-frame"
        for n, packet in enumerate(picture):
            if index == lost_frame and n == len(picture) // 2:
                continue  # lost, and never retransmitted
            got += [(index, f) for f in path.feed(packet)]
        path.now += 1 / 30
        if index == lost_frame + 8:
            assert path.buffer.keyframe_wanted or path.buffer.gate.awaiting_keyframe
    # Frames before the loss, then nothing until the keyframe at 30, then all of them.
    shown = [i for i, _ in enumerate(expected) if i < lost_frame or i >= 30]
    assert len(got) == len(shown)
    assert all(same(frame, expected[i]) for (_, frame), i in zip(got, shown, strict=True))
    stats = path.buffer.stats
    assert stats.video_gaps_skipped == 1
    assert stats.video_decode_failures == 0


async def test_answer_accepts_vp9_profile_0_only() -> None:
    async def run() -> str:
        offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
        try:
            transceiver = offerer.addTransceiver("video", direction="sendonly")
            caps = RTCRtpSender.getCapabilities("video").codecs
            transceiver.setCodecPreferences(
                [c for c in caps if c.mimeType in ("video/VP9", "video/VP8", "video/rtx")]
            )
            offer = await offerer.createOffer()
            await offerer.setLocalDescription(offer)
            sdp = offerer.localDescription.sdp
            # A second VP9, profile 2 (10-bit), as Chrome offers it.
            sdp = sdp.replace(
                "a=rtpmap:103 VP9/90000\r\n",
                "a=rtpmap:103 VP9/90000\r\na=rtpmap:110 VP9/90000\r\na=fmtp:110 profile-id=2\r\n",
            )
            sdp = sdp.replace(" 103 104", " 110 103 104")
            from aiortc import RTCSessionDescription

            await answerer.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            answer = await answerer.createAnswer()
            return str(answer.sdp)
        finally:
            await offerer.close()
            await answerer.close()

    answer = await run()
    assert "a=rtpmap:103 VP9/90000" in answer
    assert "a=fmtp:103 profile-id=0" in answer
    assert "a=rtpmap:104 rtx/90000" in answer and "apt=103" in answer
    assert "a=rtcp-fb:103 nack pli" in answer
    assert "VP8/90000" in answer
    assert " 110" not in answer.split("m=video", 1)[1].split("\r\n", 1)[0]


# --- interop: the official SDK publishes VP9 (and VP8) through livekit-server ----------


@dataclass
class Watched:
    probe: TrackProbe
    sizes: list[tuple[float, int, int]]


async def publish_camera(
    peer: SdkPeer,
    options: rtc.TrackPublishOptions,
    name: str,
    *,
    width: int = 640,
    height: int = 360,
    seed: int = 0,
) -> tuple[rtc.LocalTrackPublication, asyncio.Task[None]]:
    source = rtc.VideoSource(width, height)
    track = rtc.LocalVideoTrack.create_video_track(name, source)
    publication = await peer.room.local_participant.publish_track(track, options)
    feeder = asyncio.ensure_future(
        feed_stamped_video(source, seed=seed, width=width, height=height)
    )
    return publication, feeder


def vp9_options(
    *, scalability_mode: str = "", max_bitrate: int = 800_000
) -> rtc.TrackPublishOptions:
    options = rtc.TrackPublishOptions(
        source=rtc.TrackSource.SOURCE_CAMERA,
        video_codec=rtc.VideoCodec.VP9,
        simulcast=bool(scalability_mode),
        video_encoding=rtc.VideoEncoding(max_framerate=30, max_bitrate=max_bitrate),
        # One machine runs both peers: without this, libwebrtc's CPU adaptation
        # answers the shared load by dropping layers and frame rate.
        degradation_preference=rtc.DegradationPreference.MAINTAIN_FRAMERATE_AND_RESOLUTION,  # type: ignore[arg-type]
    )
    if scalability_mode:
        options.scalability_mode = scalability_mode
    return options


async def watch(ours: OurClient, sid: str) -> Watched:
    await wait_for(lambda: sid in ours.probes, 10, f"subscription to {sid}")
    probe = ours.probes[sid]
    sizes: list[tuple[float, int, int]] = []
    probe.track.add_sink(
        lambda frame: sizes.append((time.monotonic(), frame.width, frame.height))  # type: ignore[union-attr]
    )
    return Watched(probe, sizes)


class Vp9Count:
    """Frames a track delivered against pictures our VP9 decoder produced, since
    creation: every frame of a VP9-received track comes out of that decoder."""

    def __init__(self, watched: Watched) -> None:
        self.watched = watched
        self.frames = watched.probe.frames
        self.pictures = vp9_codec.stats.frames_out
        self.cpu_s = vp9_codec.stats.decode_cpu_s

    def check(self) -> tuple[int, float]:
        frames = self.watched.probe.frames - self.frames
        pictures = vp9_codec.stats.frames_out - self.pictures
        # A few frames decoded before the snapshot may reach the track after it.
        assert frames >= 30 and pictures >= frames - 10, f"{frames} frames, {pictures} from VP9"
        return pictures, vp9_codec.stats.decode_cpu_s - self.cpu_s


def stamped_fps(watched: Watched, seconds: float) -> tuple[float, bool]:
    end = time.time()
    recent = [s.counter for t, s in watched.probe.stamps if t >= end - seconds]
    return len(set(recent)) / seconds, all(b > a for a, b in itertools.pairwise(recent))


async def test_we_decode_sdk_vp9_and_vp8_in_one_session(
    ours_and_sdk: tuple[OurClient, SdkPeer],
) -> None:
    """Both paths at once: a VP9 camera and a VP8 camera from the same web-like peer."""
    ours, peer = ours_and_sdk
    pictures_before = vp9_codec.stats.pictures
    vp9_pub, vp9_feed = await publish_camera(peer, vp9_options(), "vp9-camera", seed=1)
    vp8_pub, vp8_feed = await publish_camera(peer, camera_options(), "vp8-camera", seed=2)
    try:
        vp9 = await watch(ours, vp9_pub.sid)
        vp8 = await watch(ours, vp8_pub.sid)
        await wait_for(lambda: len(vp9.probe.stamps) > 0 and len(vp8.probe.stamps) > 0, 15, "video")
        count = Vp9Count(vp9)
        vp8_frames = vp8.probe.frames
        await asyncio.sleep(5.0)
        decoded, cpu = count.check()
        for name, watched in (("VP9", vp9), ("VP8", vp8)):
            fps, increasing = stamped_fps(watched, 4.0)
            print(
                f"{name}: {fps:.1f} stamped fps, "
                f"sizes {set((w, h) for _, w, h in watched.sizes[-30:])}"
            )
            assert fps >= 15, f"{name}: {fps:.1f} stamped fps decoded"
            assert increasing, f"{name}: frame counters went backwards"
        # The VP8 track's frames do not come from the VP9 decoder.
        assert decoded < count.watched.probe.frames - count.frames + (vp8.probe.frames - vp8_frames)
        publications = ours.room.remote_participants["sdk"].track_publications
        assert publications[vp9_pub.sid].mime_type.lower() == "video/vp9"
        assert vp9_codec.stats.pictures - pictures_before >= 100
        print(
            f"VP9 360p: {decoded / 5.0:.1f} frames/s, "
            f"{1000 * cpu / max(decoded, 1):.2f} ms CPU each"
        )
    finally:
        vp9_feed.cancel()
        vp8_feed.cancel()


async def test_we_decode_sdk_vp9_svc_at_full_and_lower_quality(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    """L3T3_KEY SVC from the SDK: the server forwards the spatial layers we ask for."""
    ours = OurClient(livekit_server.ws_url, token_factory("ours", room_name))
    peer = SdkPeer(livekit_server.ws_url, token_factory("sdk", room_name))
    await ours.connect()
    await peer.connect(subscribe=False)
    publication, feeder = await publish_camera(
        peer,
        vp9_options(scalability_mode="L3T3_KEY", max_bitrate=1_700_000),
        "svc-camera",
        width=1280,
        height=720,
    )
    try:
        multi_layer_at_start = vp9_codec.stats.multi_layer
        watched = await watch(ours, publication.sid)
        await ours.room.set_track_settings(publication.sid, enabled=True, width=1280, height=720)

        def recent_widths(seconds: float) -> set[int]:
            now = time.monotonic()
            return {w for t, w, _ in watched.sizes if t >= now - seconds}

        await wait_for(lambda: recent_widths(1.0) == {1280}, 20, "the full 720p layer")
        count = Vp9Count(watched)
        await asyncio.sleep(3.0)
        decoded, cpu = count.check()
        # K-SVC: a keyframe picture carries all three spatial layers (the upper ones
        # predicted from the lower ones), decoded as one superframe; the server then
        # forwards only the 720p layer's own chain.
        assert vp9_codec.stats.multi_layer > multi_layer_at_start
        print(
            f"SVC 720p: {decoded / 3.0:.1f} frames/s, "
            f"{1000 * cpu / max(decoded, 1):.2f} ms CPU each"
        )
        fps_full, increasing = stamped_fps(watched, 3.0)
        print(f"SVC full: {fps_full:.1f} stamped fps, widths {recent_widths(3.0)}")
        assert increasing and fps_full >= 10, f"720p layer: {fps_full:.1f} fps"
        # A small tile: the server drops the upper spatial layers.
        await ours.room.set_track_settings(publication.sid, enabled=True, width=320, height=180)
        await wait_for(
            lambda: recent_widths(1.0) and max(recent_widths(1.0)) < 1280, 20, "a lower layer"
        )
        multi_layer = vp9_codec.stats.multi_layer
        await asyncio.sleep(3.0)
        fps_low, increasing = stamped_fps(watched, 3.0)
        widths = recent_widths(2.0)
        print(f"SVC low: {fps_low:.1f} stamped fps, widths {widths}")
        assert widths and max(widths) < 1280
        if max(widths) <= 320:  # the base layer alone
            assert vp9_codec.stats.multi_layer == multi_layer
        assert increasing and fps_low >= 10, f"lower layer: {fps_low:.1f} fps"
        # And back up.
        await ours.room.set_track_settings(publication.sid, enabled=True, width=1280, height=720)
        await wait_for(lambda: recent_widths(1.0) == {1280}, 20, "the full layer again")
    finally:
        feeder.cancel()
        await peer.close()
        await ours.close()
