"""A TLS-terminating TCP front for a plain server, as a reverse proxy would be.

The sandbox livekit-server speaks plain ws://; tests of certificate handling need a
wss:// endpoint with a certificate they control.  ``TlsFront`` listens with a given
certificate and key, and forwards the decrypted bytes of every connection to the
upstream address unchanged (the WebSocket upgrade included).  It runs on the caller's
event loop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

from devtools.byte_pipe import SplicingServer, splice

log = logging.getLogger(__name__)


class TlsFront(SplicingServer):
    """``async with TlsFront(cert, key, ("10.77.0.2", 7880)) as front: front.url``."""

    def __init__(
        self,
        cert_file: Path,
        key_file: Path,
        upstream: tuple[str, int],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        super().__init__(host=host, port=port, ssl=context)
        self._upstream = upstream
        #: Connections whose TLS handshake completed and that reached the upstream.
        self.connections = 0

    @property
    def url(self) -> str:
        """The wss:// address of the front (its IP: name the host yourself if needed)."""
        return f"wss://{self._host}:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream = await asyncio.wait_for(asyncio.open_connection(*self._upstream), 5)
        except (OSError, TimeoutError) as exc:
            log.warning("TLS front: upstream %s unreachable: %s", self._upstream, exc)
            writer.close()
            return
        self.connections += 1
        await splice((reader, writer), upstream)
