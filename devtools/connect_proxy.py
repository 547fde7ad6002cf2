"""A tiny HTTP CONNECT proxy, to test clients behind a corporate proxy.

It accepts ``CONNECT host:port HTTP/1.1``, opens a TCP connection to the target and
splices the two (what squid and its kin do for https:// and wss://).  Anything else
gets ``405``.  It counts the tunnels it opened and remembers their targets, can ask
for Basic credentials (``407`` without them) and can refuse every tunnel with a given
status, as a proxy whose policy blocks the server would.  It runs on the caller's
event loop and only ever connects where its clients ask: tests point it at sandbox
addresses.
"""

from __future__ import annotations

import asyncio
import base64
import logging

from devtools.byte_pipe import SplicingServer, splice

log = logging.getLogger(__name__)

_MAX_HEAD_BYTES = 16 * 1024
_REASONS = {
    200: "Connection established",
    400: "Bad Request",
    403: "Forbidden",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    502: "Bad Gateway",
}


class ConnectProxy(SplicingServer):
    """``async with ConnectProxy() as proxy: os.environ["HTTPS_PROXY"] = proxy.url``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: tuple[str, str] | None = None,
        refuse_status: int | None = None,
    ) -> None:
        super().__init__(host=host, port=port)
        self._expected_auth = (
            "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
            if credentials is not None
            else None
        )
        self._refuse_status = refuse_status
        #: Tunnels opened (a 200 answer sent), and their "host:port" targets in order.
        self.tunnels = 0
        self.targets: list[str] = []
        #: Requests refused (any answer but 200).
        self.refused = 0

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def _answer(self, writer: asyncio.StreamWriter, status: int, extra: str = "") -> None:
        if status != 200:
            self.refused += 1
        body = "" if status == 200 else f"{status} {_REASONS.get(status, '')}\n"
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n{extra}"
        if status != 200:
            head += f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        writer.write(f"{head}\r\n{body}".encode("latin-1"))
        await writer.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._tunnel(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away mid-request
        finally:
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEAD_BYTES:
            await self._answer(writer, 400)
            return
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target = rest.partition(" ")[0]
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if method.upper() != "CONNECT":
            await self._answer(writer, 405)
            return
        if self._expected_auth is not None and (
            headers.get("proxy-authorization") != self._expected_auth
        ):
            await self._answer(writer, 407, 'Proxy-Authenticate: Basic realm="test"\r\n')
            return
        if self._refuse_status is not None:
            await self._answer(writer, self._refuse_status)
            return
        host, sep, port_text = target.rpartition(":")
        if not sep or not port_text.isdigit():
            await self._answer(writer, 400)
            return
        try:
            upstream = await asyncio.wait_for(
                asyncio.open_connection(host.strip("[]"), int(port_text)), 5
            )
        except (OSError, TimeoutError) as exc:
            log.info("proxy: cannot reach %s: %s", target, exc)
            await self._answer(writer, 502)
            return
        self.tunnels += 1
        self.targets.append(target)
        await self._answer(writer, 200)
        await splice((reader, writer), upstream)
