"""The WebRTC engine of one LiveKit session: signaling plus two PeerConnections.

The subscriber PeerConnection answers the server's offers and receives media and
data; the publisher PeerConnection carries our tracks and outgoing data.  The
engine reports upward through a listener (the room) and never reconnects by
itself: one engine is one session, and the room makes a new one to rejoin.  A
closed engine is silent: nothing it still receives reaches the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from livekit.protocol import models, rtc

from client.livekit import errors, ice_restart, ice_servers, loss_concealment, network_access
from client.livekit.aiortc_compat import ReceiverRebinder, start_media_when_connected
from client.livekit.data_packets import parse_data_packet
from client.livekit.liveness import LivenessWatch
from client.livekit.pc_transport import PCTransport
from client.livekit.proto_enums import enum_name
from client.livekit.signal_client import SignalClient, SignalOptions
from client.livekit.signal_messages import RoomSignals, route_signal
from client.livekit.tasks import spawn

log = logging.getLogger(__name__)

RELIABLE_LABEL = "_reliable"
LOSSY_LABEL = "_lossy"
MAX_DATA_PACKET_BYTES = 64000
PUBLISH_TIMEOUT_S = 10.0
DATA_CHANNEL_OPEN_TIMEOUT_S = 10.0
#: How long the publisher PeerConnection may take to connect after the join.
MEDIA_CONNECT_TIMEOUT_S = 8.0


class EngineListener(RoomSignals, Protocol):
    def on_joined(self, engine: Engine, join: rtc.JoinResponse) -> None:
        """Called before any message that followed the join is handled."""

    def on_request_refused(self, request: str, reason: str, message: str) -> None:
        """The server refused one of our requests (``request``: its kind)."""

    def on_remote_track(self, track_sid: str, track: MediaStreamTrack) -> None: ...

    def on_data_packet(self, packet: models.DataPacket) -> None: ...

    def on_engine_failure(self, engine: Engine, reason: str) -> None: ...


@dataclass
class EngineOptions:
    auto_subscribe: bool = True
    #: None: use the ICE servers the server sends; a list replaces them.
    ice_servers: list[RTCIceServer] | None = None
    video_codec: str = "VP8"
    #: What an earlier session of the room found (None: probe).
    udp_blocked: bool | None = None
    #: Trust for TURN over TLS; None: the signaling's (system store + extra CA).
    relay_tls: ssl.SSLContext | None = None
    extra_ca_file: Path | None = None
    #: None: the proxy from the environment; "": none.
    proxy: str | None = None


class Engine:
    def __init__(self, listener: EngineListener, options: EngineOptions) -> None:
        self._listener = listener
        self._options = options
        self._signal = self._new_signal()
        self.publisher: PCTransport | None = None
        self.subscriber: PCTransport | None = None
        self._rebinder: ReceiverRebinder | None = None
        self._reliable: RTCDataChannel | None = None
        self._lossy: RTCDataChannel | None = None
        self._mid_to_track: dict[str, str] = {}
        self._pending_publishes: dict[str, asyncio.Future[models.TrackInfo]] = {}
        self._sequence = 0
        self._closing = False
        self.failed = False
        self.failure_reason = ""
        self._failed = asyncio.Event()
        self.join_response: rtc.JoinResponse | None = None
        self.participant_sid = ""
        self._liveness_task: asyncio.Task[None] | None = None
        self.udp_blocked: bool | None = None
        # Set once both PeerConnections exist.  The server sends its first offer and
        # candidates right behind the join, while the ICE servers are still being
        # chosen: handling them waits (and, the dispatcher being sequential, so does
        # every message after them, which keeps their order).
        self._transports_ready = asyncio.Event()
        self._ice_restarts: list[asyncio.Task[bool]] = []
        self._tasks_after_resume: asyncio.Task[None] | None = None

    def _new_signal(self) -> SignalClient:
        signal = SignalClient(self._on_signal, self._on_signal_closed)
        signal.on_rtt = lambda ms: loss_concealment.set_round_trip(ms / 1000)
        return signal

    @property
    def signal(self) -> SignalClient:
        return self._signal

    async def connect(self, url: str, token: str) -> rtc.JoinResponse:
        options = self._options
        join = await self._signal.join(
            url,
            token,
            SignalOptions(
                auto_subscribe=options.auto_subscribe,
                extra_ca_file=options.extra_ca_file,
                proxy=options.proxy,
            ),
        )
        self.join_response = join
        self.participant_sid = join.participant.sid
        # The server sends queued updates right behind the join; they must land
        # on a model that already holds the join's snapshot.
        self._listener.on_joined(self, join)
        servers, self.udp_blocked = await ice_servers.choose_servers(
            self._options.ice_servers
            if self._options.ice_servers is not None
            else ice_servers.servers_from_join(join),
            udp_blocked=self._options.udp_blocked,
        )
        if self.udp_blocked:
            log.warning("UDP is blocked on this network: media goes through the TURN relay")
        # LiveKit bundles every section on one transport.  aiortc's default
        # ("balanced") can attach a late transceiver to a discarded transport,
        # whose receiver then never starts.
        configuration = RTCConfiguration(
            iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        relay_tls = options.relay_tls or network_access.ssl_context(options.extra_ca_file)
        self.subscriber = PCTransport("subscriber", configuration, relay_tls=relay_tls)
        self.publisher = PCTransport("publisher", configuration, relay_tls=relay_tls)
        self._rebinder = ReceiverRebinder(self.subscriber.pc)
        self._watch(self.subscriber)
        self._watch(self.publisher)
        start_media_when_connected(self.subscriber.pc)
        start_media_when_connected(self.publisher.pc)
        self._transports_ready.set()
        self.subscriber.pc.on("track", self._on_aiortc_track)
        self.subscriber.pc.on("datachannel", self._on_remote_datachannel)
        self.publisher.set_offer_sender(self._send_offer)
        self.publisher.set_failure_handler(self._fail)
        # Both channels must exist before the first publisher offer, and the
        # server drops a transport whose data channels never open: negotiate now.
        self._reliable = self.publisher.pc.createDataChannel(RELIABLE_LABEL, ordered=True)
        self._lossy = self.publisher.pc.createDataChannel(
            LOSSY_LABEL, ordered=False, maxRetransmits=0
        )
        await self.publisher.negotiate()
        await self._wait_media_connected()
        self._watch_liveness()
        return join

    def _watch_liveness(self) -> None:
        watch = LivenessWatch(
            lambda: self._signal.last_heard_at,
            lambda: [t.pc for t in (self.publisher, self.subscriber) if t is not None],
            self._fail,
        )
        self._liveness_task = spawn(watch.run(), "engine-liveness")

    def can_resume(self) -> bool:
        """Whether this failed session's media transports could carry on (same
        network, PeerConnections still up) if the server still holds it."""
        if self._closing or not self.participant_sid:
            return False
        for transport in (self.publisher, self.subscriber):
            if transport is None or transport.pc.connectionState in ("failed", "closed"):
                return False
            if ice_restart.local_addresses_changed(transport.pc):
                return False
        return True

    async def resume(self, url: str, token: str) -> None:
        """Carry this session on over a new signal connection: the others keep
        seeing the same participant, tracks and subscriptions.  Raises a
        ConnectError when the server no longer holds the session."""
        assert self.publisher is not None
        await self._signal.close()
        signal = self._new_signal()
        options = self._options
        await signal.resume(
            url,
            token,
            self.participant_sid,
            SignalOptions(
                auto_subscribe=options.auto_subscribe,
                extra_ca_file=options.extra_ca_file,
                proxy=options.proxy,
            ),
        )
        self._signal = signal
        self.failed, self.failure_reason = False, ""
        self._failed = asyncio.Event()
        self._watch_liveness()
        # Tell the server's ICE agent at once that our publisher path works again.
        self._tasks_after_resume = spawn(
            ice_restart.refresh_consent(self.publisher.pc), "publisher-consent"
        )
        # Our offer also tells the server the transport is ours again.
        await self.publisher.negotiate()
        # The others' decoders lost their reference frames during the outage; a
        # keyframe now spares them a request round trip through the server.
        for transceiver in self.publisher.pc.getTransceivers():
            if transceiver.kind == "video" and transceiver.sender.track is not None:
                transceiver.sender._send_keyframe()

    async def wait_media_flowing(self, timeout_s: float) -> bool:
        """Both transports connected and, after an ICE restart, a pair nominated."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    restarts_done = all(t.done() for t in self._ice_restarts)
                    if restarts_done and not all(t.result() for t in self._ice_restarts):
                        return False
                    states = {t.pc.connectionState for t in (self.publisher, self.subscriber) if t}
                    if restarts_done and states == {"connected"}:
                        return True
                    if self.failed:
                        return False
                    await asyncio.sleep(0.05)
        except TimeoutError:
            return False

    async def _wait_media_connected(self) -> None:
        """A session counts as joined once its publisher transport is up (the data
        channels ride on it); a session that failed meanwhile is not joined."""
        assert self.publisher is not None
        connected = asyncio.Event()
        pc = self.publisher.pc

        @pc.on("connectionstatechange")
        def _changed() -> None:
            if pc.connectionState == "connected":
                connected.set()

        if pc.connectionState == "connected":
            connected.set()
        waiters = [
            asyncio.ensure_future(connected.wait()),
            asyncio.ensure_future(self._failed.wait()),
        ]
        try:
            await asyncio.wait(
                waiters, timeout=MEDIA_CONNECT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self.failed:
            raise errors.MediaConnectionError(
                f"the media connection failed ({self.failure_reason})"
            )
        if not connected.is_set() and self.udp_blocked:
            raise errors.UdpBlockedError(
                "this network blocks UDP, and the TURN relay over TCP/TLS did not "
                f"connect within {MEDIA_CONNECT_TIMEOUT_S:.0f} s"
            )
        if not connected.is_set():
            raise errors.MediaConnectionError(
                f"no media connection within {MEDIA_CONNECT_TIMEOUT_S:.0f} s "
                "(UDP may be blocked on this network)"
            )

    def _watch(self, transport: PCTransport) -> None:
        @transport.pc.on("connectionstatechange")
        def _changed() -> None:
            state = transport.pc.connectionState
            log.debug("%s connection state: %s", transport.name, state)
            # "closed" without our asking is as fatal as "failed".
            if state in ("failed", "closed") and not self._closing:
                self._fail(f"{transport.name} transport failed")

    def _fail(self, reason: str) -> None:
        if self.failed or self._closing:
            return
        self.failed = True
        self.failure_reason = reason
        self._failed.set()
        # A publish waiting on this session would otherwise wait for its timeout.
        for pending in self._pending_publishes.values():
            if not pending.done():
                pending.set_exception(errors.SessionClosedError(f"the session failed: {reason}"))
        self._pending_publishes.clear()
        self._listener.on_engine_failure(self, reason)

    def _on_signal_closed(self, reason: str) -> None:
        if not self._closing:
            self._fail(reason)

    # --- signaling -----------------------------------------------------------

    async def _send_offer(self, offer: RTCSessionDescription, offer_id: int) -> None:
        await self._signal.send(
            rtc.SignalRequest(
                offer=rtc.SessionDescription(type="offer", sdp=offer.sdp, id=offer_id)
            )
        )

    async def _on_signal(self, response: rtc.SignalResponse) -> None:
        if self._closing:
            return  # a closed session must not feed the room
        await route_signal(response, self, self._listener)

    async def _wait_transports(self) -> bool:
        if not self._transports_ready.is_set():
            waiters = [
                asyncio.ensure_future(self._transports_ready.wait()),
                asyncio.ensure_future(self._failed.wait()),
            ]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        return self._transports_ready.is_set() and not self._closing

    async def on_offer(self, offer: rtc.SessionDescription) -> None:
        if await self._wait_transports():
            await self._handle_subscriber_offer(offer)

    async def on_answer(self, answer: rtc.SessionDescription) -> None:
        if await self._wait_transports() and self.publisher is not None:
            await self.publisher.handle_answer(answer.sdp, answer.id)

    async def on_trickle(self, trickle: rtc.TrickleRequest) -> None:
        if await self._wait_transports():
            await self._handle_trickle(trickle)

    def on_track_published(self, response: rtc.TrackPublishedResponse) -> None:
        pending = self._pending_publishes.pop(response.cid, None)
        if pending is not None and not pending.done():
            pending.set_result(response.track)

    def on_request_response(self, response: rtc.RequestResponse) -> None:
        self._handle_request_response(response)

    def _handle_request_response(self, resp: rtc.RequestResponse) -> None:
        if resp.reason == rtc.RequestResponse.Reason.OK:
            return
        log.warning(
            "server refused request %d: %s %s",
            resp.request_id,
            enum_name(rtc.RequestResponse.Reason, resp.reason),
            resp.message,
        )
        request = resp.WhichOneof("request") or ""
        if request == "add_track":
            pending = self._pending_publishes.pop(resp.add_track.cid, None)
            if pending is not None and not pending.done():
                pending.set_exception(
                    errors.PublishError(resp.message or "the server refused the track")
                )
        self._listener.on_request_refused(
            request, enum_name(rtc.RequestResponse.Reason, resp.reason), resp.message
        )

    async def _handle_trickle(self, trickle: rtc.TrickleRequest) -> None:
        transport = (
            self.subscriber if trickle.target == rtc.SignalTarget.SUBSCRIBER else self.publisher
        )
        if transport is not None:
            await transport.add_candidate(trickle.candidateInit)

    async def _handle_subscriber_offer(self, offer: rtc.SessionDescription) -> None:
        assert self.subscriber is not None and self._rebinder is not None
        self._mid_to_track.update(dict(offer.mid_to_track_id))
        restarting = []
        if ice_restart.restarts_ice(self.subscriber.pc, offer.sdp):
            # The server restarts ICE after we resumed the session: restart ours too.
            log.info("the server restarts ICE on the subscriber transport")
            restarting = await ice_restart.prepare_restart(self.subscriber.pc)
        try:
            await self.subscriber.apply_offer(offer.sdp)
        except Exception as exc:
            log.error("cannot apply the server's offer: %s", exc)
            self._fail("subscriber negotiation failed")
            return
        for rebound in self._rebinder.after_remote_offer():
            self._announce_track(rebound.transceiver, rebound.track)
        answer = await self.subscriber.create_answer()
        await self._signal.send(
            rtc.SignalRequest(
                answer=rtc.SessionDescription(type="answer", sdp=answer.sdp, id=offer.id)
            )
        )
        if restarting:
            self._ice_restarts = ice_restart.finish_restart(restarting, offer.sdp)

    def _on_aiortc_track(self, track: MediaStreamTrack) -> None:
        assert self.subscriber is not None
        if self._closing:
            return
        for transceiver in self.subscriber.pc.getTransceivers():
            if transceiver.receiver.track is track:
                self._announce_track(transceiver, track)
                return
        self._listener.on_remote_track(str(track.id), track)

    def _announce_track(self, transceiver: RTCRtpTransceiver, track: MediaStreamTrack) -> None:
        if self._closing:
            return
        # The msid track id is the LiveKit track SID; mid_to_track_id, when the
        # server sends it, is authoritative.
        sid = self._mid_to_track.get(transceiver.mid or "", "") or str(track.id)
        self._listener.on_remote_track(sid, track)

    # --- data ------------------------------------------------------------------

    def _on_remote_datachannel(self, channel: RTCDataChannel) -> None:
        @channel.on("message")
        def _message(message: bytes | str) -> None:
            if self._closing:
                return
            if isinstance(message, str):
                log.warning("ignoring a text message on data channel %s", channel.label)
                return
            packet = parse_data_packet(message)
            if packet is None:
                log.warning("ignoring an undecodable data packet (%d bytes)", len(message))
                return
            self._listener.on_data_packet(packet)

    async def send_data(self, packet: models.DataPacket, *, reliable: bool = True) -> None:
        channel = self._reliable if reliable else self._lossy
        if channel is None or self._closing:
            raise errors.NotConnectedError("not connected")
        if reliable:
            self._sequence += 1
            packet.sequence = self._sequence
            packet.participant_sid = self.participant_sid
        data = packet.SerializeToString()
        if len(data) > MAX_DATA_PACKET_BYTES:
            raise ValueError(f"data packet too large ({len(data)} > {MAX_DATA_PACKET_BYTES} bytes)")
        if channel.readyState != "open":
            await self._wait_open(channel)
        channel.send(data)

    async def _wait_open(self, channel: RTCDataChannel) -> None:
        opened = asyncio.get_running_loop().create_future()

        def _open() -> None:
            if not opened.done():
                opened.set_result(None)

        channel.once("open", _open)
        if channel.readyState == "open":
            return
        try:
            await asyncio.wait_for(opened, DATA_CHANNEL_OPEN_TIMEOUT_S)
        except TimeoutError as exc:
            raise errors.NotConnectedError("the data channel did not open") from exc

    # --- publishing ----------------------------------------------------------

    async def publish(
        self, track: MediaStreamTrack, request: rtc.AddTrackRequest
    ) -> tuple[models.TrackInfo, RTCRtpTransceiver]:
        assert self.publisher is not None
        pending: asyncio.Future[models.TrackInfo] = asyncio.get_running_loop().create_future()
        self._pending_publishes[request.cid] = pending
        if self._closing or not await self._signal.send(rtc.SignalRequest(add_track=request)):
            self._pending_publishes.pop(request.cid, None)
            raise errors.SessionClosedError("the session ended")
        try:
            info = await asyncio.wait_for(pending, PUBLISH_TIMEOUT_S)
        except TimeoutError as exc:
            self._pending_publishes.pop(request.cid, None)
            raise errors.PublishError("the server did not accept the track in time") from exc
        if self._closing:
            raise errors.SessionClosedError("the session ended")
        transceiver = self.publisher.pc.addTransceiver(track, direction="sendonly")
        self._prefer_codec(transceiver)
        offer_id = await self.publisher.negotiate()
        await self.publisher.wait_answered(offer_id, PUBLISH_TIMEOUT_S)
        if self._closing:
            raise errors.SessionClosedError("the session ended")
        return info, transceiver

    def _prefer_codec(self, transceiver: RTCRtpTransceiver) -> None:
        if transceiver.kind != "video":
            return
        capabilities = RTCRtpSender.getCapabilities("video")
        wanted = self._options.video_codec.lower()
        preferred = [c for c in capabilities.codecs if c.mimeType.lower() == f"video/{wanted}"] + [
            c for c in capabilities.codecs if c.mimeType.lower() == "video/rtx"
        ]
        if preferred:
            transceiver.setCodecPreferences(preferred)

    async def unpublish(self, transceiver: RTCRtpTransceiver) -> None:
        assert self.publisher is not None
        # aiortc has no removeTrack: an inactive section is what the server sees
        # when a browser removes a track, and it unpublishes on that.
        transceiver.direction = "inactive"
        offer_id = await self.publisher.negotiate()
        with contextlib.suppress(TimeoutError):
            await self.publisher.wait_answered(offer_id, PUBLISH_TIMEOUT_S)

    async def send_request(self, request: rtc.SignalRequest) -> bool:
        return await self._signal.send(request)

    # --- teardown ------------------------------------------------------------

    async def close(self, *, leave: bool) -> None:
        """Close everything; send a LeaveRequest first when ``leave`` is set."""
        self._closing = True
        for task in (self._liveness_task, self._tasks_after_resume, *self._ice_restarts):
            if task is not None:
                task.cancel()
        # Not cancel(): the callers were not cancelled, their session ended.
        for pending in self._pending_publishes.values():
            if not pending.done():
                pending.set_exception(errors.SessionClosedError("the session ended"))
        self._pending_publishes.clear()
        if leave:
            await self._signal.send_leave()
        await self._signal.close()
        for transport in (self.publisher, self.subscriber):
            if transport is not None:
                await transport.close()
        if self._rebinder is not None:
            await self._rebinder.close()
        self._reliable = self._lossy = None
