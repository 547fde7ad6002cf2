"""A minimal nfnetlink_queue client: receive queued packets, give verdicts later.

An iptables `NFQUEUE` rule hands each matching packet to the userspace program bound to
that queue number, and the kernel holds the packet until that program answers with a
verdict. That is all the delay shaper needs, so instead of depending on libnetfilter_queue
(a C library plus a Cython binding to build) this speaks the small netlink protocol
directly over an AF_NETLINK socket, with nothing but the standard library.

Protocol (linux/netfilter/nfnetlink_queue.h): every message is an `nlmsghdr` whose type
is `(NFNL_SUBSYS_QUEUE << 8) | msg`, followed by an `nfgenmsg` carrying the queue number
in network byte order, followed by netlink attributes. Attribute payloads are big-endian.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import struct
from dataclasses import dataclass

__all__ = ["HOOK_LOCAL_IN", "HOOK_LOCAL_OUT", "NfQueue", "NfQueueError", "QueuedPacket"]

_NETLINK_NETFILTER = 12
_NFNL_SUBSYS_QUEUE = 3
_NFQNL_MSG_PACKET = 0
_NFQNL_MSG_VERDICT = 1
_NFQNL_MSG_CONFIG = 2

_NLMSG_ERROR = 2
_NLMSG_DONE = 3
_NLM_F_REQUEST = 0x1
_NLM_F_ACK = 0x4

_NFQA_PACKET_HDR = 1
_NFQA_VERDICT_HDR = 2
_NFQA_CFG_CMD = 1
_NFQA_CFG_PARAMS = 2
_NFQA_CFG_QUEUE_MAXLEN = 3

_NFQNL_CFG_CMD_BIND = 1
_NFQNL_CFG_CMD_UNBIND = 2
_NFQNL_COPY_META = 1

NF_DROP = 0
NF_ACCEPT = 1

#: `hook` values of a queued packet (enum nf_inet_hooks): which way it was going.
HOOK_LOCAL_IN = 1
HOOK_LOCAL_OUT = 3

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid (host byte order)
_NFGENMSG = struct.Struct("!BBH")  # family, version, queue number (network order)
_NLATTR = struct.Struct("=HH")  # len, type
_PACKET_HDR = struct.Struct("!IHB")  # packet id, hw protocol, hook
_RCVBUF_BYTES = 8 * 1024 * 1024
_SO_RCVBUFFORCE = 33


class NfQueueError(OSError):
    """The kernel refused a queue configuration request."""


@dataclass(frozen=True)
class QueuedPacket:
    """A packet the kernel holds until `NfQueue.verdict` is called with its id."""

    packet_id: int
    hook: int


def _align(length: int) -> int:
    return (length + 3) & ~3


def _attr(kind: int, payload: bytes) -> bytes:
    raw = _NLATTR.pack(_NLATTR.size + len(payload), kind) + payload
    return raw + b"\0" * (_align(len(raw)) - len(raw))


class NfQueue:
    """One bound netfilter queue in the network namespace of the calling thread.

    The socket belongs to the namespace of the thread that creates it, whichever thread
    uses it later. Packets are copied as metadata only: verdicts need just their id.
    """

    def __init__(self, queue_num: int, *, max_len: int = 10_000) -> None:
        self.queue_num = queue_num
        self._seq = 0
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER)
        try:
            # A burst of queued packets must not overflow the socket: a message the kernel
            # cannot deliver means that packet is dropped instead of delayed.
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, _RCVBUF_BYTES)
            except OSError:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF_BYTES)
            self._sock.bind((0, 0))
            self._request(_attr(_NFQA_CFG_CMD, struct.pack("!BxH", _NFQNL_CFG_CMD_BIND, 0)))
            self._request(_attr(_NFQA_CFG_PARAMS, struct.pack("!IB", 0, _NFQNL_COPY_META)))
            self._request(_attr(_NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", max_len)))
        except BaseException:
            self._sock.close()
            raise
        self._closed = False

    def fileno(self) -> int:
        return self._sock.fileno()

    def receive(self, *, block: bool = True) -> list[QueuedPacket]:
        """Read one datagram of queued-packet messages; without `block`, [] when none."""
        try:
            data = self._sock.recv(1 << 16, 0 if block else socket.MSG_DONTWAIT)
        except BlockingIOError:
            return []
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                # Messages were lost; the kernel has already dropped those packets.
                return []
            raise
        packets: list[QueuedPacket] = []
        for msg_type, body in self._messages(data):
            if msg_type != (_NFNL_SUBSYS_QUEUE << 8) | _NFQNL_MSG_PACKET:
                continue
            for kind, payload in _attributes(body[_NFGENMSG.size :]):
                if kind == _NFQA_PACKET_HDR:
                    packet_id, _proto, hook = _PACKET_HDR.unpack_from(payload)
                    packets.append(QueuedPacket(packet_id, hook))
        return packets

    def verdict(self, packet_id: int, verdict: int = NF_ACCEPT) -> None:
        """Release (NF_ACCEPT) or drop (NF_DROP) a held packet."""
        payload = _attr(_NFQA_VERDICT_HDR, struct.pack("!II", verdict, packet_id))
        self._send(_NFQNL_MSG_VERDICT, payload, flags=_NLM_F_REQUEST)

    def close(self) -> None:
        """Unbind the queue; the kernel accepts or drops what it still holds."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._send(
                _NFQNL_MSG_CONFIG,
                _attr(_NFQA_CFG_CMD, struct.pack("!BxH", _NFQNL_CFG_CMD_UNBIND, 0)),
                flags=_NLM_F_REQUEST,
            )
        self._sock.close()

    # ------------------------------------------------------------------ internals

    def _send(self, msg: int, attrs: bytes, *, flags: int) -> int:
        self._seq += 1
        body = _NFGENMSG.pack(socket.AF_UNSPEC, 0, self.queue_num) + attrs
        header = _NLMSGHDR.pack(
            _NLMSGHDR.size + len(body), (_NFNL_SUBSYS_QUEUE << 8) | msg, flags, self._seq, 0
        )
        self._sock.send(header + body)
        return self._seq

    def _request(self, attrs: bytes) -> None:
        """Send a config message and wait for its acknowledgement (or error)."""
        seq = self._send(_NFQNL_MSG_CONFIG, attrs, flags=_NLM_F_REQUEST | _NLM_F_ACK)
        while True:
            data = self._sock.recv(1 << 16)
            for msg_type, body, msg_seq in self._messages_with_seq(data):
                if msg_type == _NLMSG_ERROR and msg_seq == seq:
                    (code,) = struct.unpack_from("=i", body)
                    if code != 0:
                        raise NfQueueError(-code, f"nfqueue {self.queue_num}: {os.strerror(-code)}")
                    return

    @staticmethod
    def _messages_with_seq(data: bytes) -> list[tuple[int, bytes, int]]:
        out: list[tuple[int, bytes, int]] = []
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            length, msg_type, _flags, seq, _pid = _NLMSGHDR.unpack_from(data, offset)
            if length < _NLMSGHDR.size:
                break
            out.append((msg_type, data[offset + _NLMSGHDR.size : offset + length], seq))
            if msg_type == _NLMSG_DONE:
                break
            offset += _align(length)
        return out

    def _messages(self, data: bytes) -> list[tuple[int, bytes]]:
        return [(t, body) for t, body, _seq in self._messages_with_seq(data)]


def _attributes(data: bytes) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    offset = 0
    while offset + _NLATTR.size <= len(data):
        length, kind = _NLATTR.unpack_from(data, offset)
        if length < _NLATTR.size:
            break
        # The top bits flag nested / byte-order attributes; the type is the rest.
        out.append((kind & 0x3FFF, data[offset + _NLATTR.size : offset + length]))
        offset += _align(length)
    return out
