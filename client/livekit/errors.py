"""Typed failures of the LiveKit core.

Each error carries a stable ``code`` so that the UI can show a translated message;
the English ``str()`` is what the headless command prints.  None of them contains
the access token.
"""

from __future__ import annotations


class ConnectError(Exception):
    """Joining (or re-joining) a room failed for a reason the user can act on."""

    code = "connect_failed"
    #: True when trying again with the same token cannot help.
    permanent = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidUrlError(ConnectError):
    code = "invalid_url"
    permanent = True


class InsecureTransportError(ConnectError):
    """A plain ws:// or http:// address for a server that is not on this machine or
    a private network: the token would travel in clear."""

    code = "insecure_transport"
    permanent = True


class ServerUnreachableError(ConnectError):
    code = "server_unreachable"


class CertificateError(ConnectError):
    """The server's TLS certificate was refused, or TLS could not be set up.

    ``host`` names the server, ``reason`` is one of the class constants so the UI can
    say what is wrong without parsing English.  Permanent: a retry gets the same
    certificate; the fix is on the server or in the trusted authorities.
    """

    code = "certificate_refused"
    permanent = True

    #: Signed by an authority this computer does not trust (or self-signed).
    UNTRUSTED = "untrusted"
    #: Issued for another host name or address.
    WRONG_HOST = "wrong_host"
    #: Expired, or not valid yet (a wrong clock gives this too).
    EXPIRED = "expired"
    REVOKED = "revoked"
    #: The extra CA file in the settings cannot be read or holds no certificate.
    CA_FILE = "ca_file"
    #: Any other TLS failure.
    OTHER = "other"

    def __init__(self, message: str, *, host: str, reason: str) -> None:
        super().__init__(message)
        self.host = host
        self.reason = reason


class ProxyError(ServerUnreachableError):
    """The HTTP proxy cannot be reached or refused to open the tunnel to the server.

    ``proxy`` is the proxy's address without credentials.  Not permanent: a proxy
    that is down may come back.
    """

    code = "proxy_failed"

    def __init__(self, message: str, *, proxy: str) -> None:
        super().__init__(message)
        self.proxy = proxy


class JoinTimeoutError(ConnectError):
    code = "join_timeout"


class TokenExpiredError(ConnectError):
    code = "token_expired"
    permanent = True


class TokenInvalidError(ConnectError):
    code = "token_invalid"
    permanent = True


class PermissionDeniedError(ConnectError):
    code = "permission_denied"
    permanent = True


class RoomFullError(ConnectError):
    code = "room_full"
    permanent = True


class DisconnectedError(ConnectError):
    """The server ended our session (kicked out, room deleted, duplicate identity)."""

    code = "disconnected"
    permanent = True


class MediaConnectionError(ConnectError):
    """Signaling worked but the media connection (ICE/DTLS) did not come up."""

    code = "media_connection_failed"


class UdpBlockedError(MediaConnectionError):
    """The network drops UDP and no relay over TCP or TLS got through either."""

    code = "udp_blocked"


class PublishError(Exception):
    """A track could not be published."""

    code = "publish_failed"


class NotConnectedError(Exception):
    """A command needs a connected room."""

    code = "not_connected"


class SessionClosedError(Exception):
    """The session a command was running on ended before it completed (the room
    may be rejoining on a new one)."""

    code = "session_closed"
