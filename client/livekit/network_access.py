"""How the signaling connection reaches the server on a corporate network.

Two things decide it: which certificates are trusted and whether an HTTP proxy sits
in between.

Trust: the operating system's store, through ``truststore`` (the Keychain on macOS,
the certificate store on Windows, OpenSSL's system bundle on Linux), so a CA that
the IT department installed on the machine is trusted as in the browser.  An extra
PEM file can add a CA on top, for organisations whose CA is not installed
system-wide.  Contexts are cached: building one reads the whole system store.

Proxy: taken from the environment as curl and most tools do (``https_proxy`` /
``HTTPS_PROXY`` for wss://, ``all_proxy`` as a fallback, ``no_proxy`` to bypass it,
lower case first), or given explicitly.  Only wss:// goes through a proxy: plain
ws:// is only accepted towards this machine or a private network, and going through
a proxy would hand the access token in clear to the proxy.

Failures are turned into errors that name the host and the reason, never the URL
(which carries the token).
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import logging
import os
import re
import ssl
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp
import truststore

from client.livekit import errors

log = logging.getLogger(__name__)

#: Proxy URL schemes aiohttp can tunnel through (a CONNECT request).
PROXY_SCHEMES = ("http", "https")

# OpenSSL's X509_V_ERR_* codes for the failures a user can be told about plainly.
_EXPIRED_CODES = {9, 10}  # not yet valid, expired
_WRONG_HOST_CODES = {62, 63, 64}  # host name, e-mail, IP address mismatch
_UNTRUSTED_CODES = {2, 18, 19, 20, 21, 27}  # unknown issuer, self-signed, not trusted
_REVOKED_CODES = {23}


def _trust_store_key() -> tuple[str, str]:
    # On Linux OpenSSL's "system store" can be moved with these variables: a context
    # built before they changed would trust the wrong store.
    return os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", "")


@functools.lru_cache(maxsize=8)
def _cached_context(
    extra_ca_file: str | None, stamp: tuple[int, int], store: tuple[str, str]
) -> ssl.SSLContext:
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if extra_ca_file is not None:
        try:
            context.load_verify_locations(cafile=extra_ca_file)
        except (OSError, ValueError) as exc:
            # ssl.SSLError (not PEM, no certificate in it) is an OSError too.
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise errors.CertificateError(
                f"the extra certificate authority file {extra_ca_file} cannot be used: {reason}",
                host="",
                reason=errors.CertificateError.CA_FILE,
            ) from None
    return context


def ssl_context(extra_ca_file: Path | None = None) -> ssl.SSLContext:
    """A client context trusting the system store, plus ``extra_ca_file`` (PEM).

    The same object is returned while the file is unchanged (path, size and mtime),
    so a replaced CA file is picked up at the next join.  Raises
    ``errors.CertificateError`` (reason ``ca_file``) if the file cannot be used.
    """
    if extra_ca_file is None:
        return _cached_context(None, (0, 0), _trust_store_key())
    path = extra_ca_file.expanduser()
    try:
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_size)
    except OSError:
        stamp = (-1, -1)  # loading it below reports why
    return _cached_context(str(path), stamp, _trust_store_key())


def _no_proxy_entries(no_proxy: str) -> list[str]:
    return [entry for entry in re.split(r"[,\s]+", no_proxy.strip().lower()) if entry]


def _split_entry(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port``, a bare IPv6 address or a CIDR range."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def bypasses_proxy(host: str, port: int, no_proxy: str) -> bool:
    """True if ``no_proxy`` (curl's syntax, plus CIDR ranges) exempts host:port.

    Entries are host names (matching the name and its subdomains, with or without a
    leading ``.`` or ``*.``), IP addresses, CIDR ranges, any of them with ``:port``,
    or ``*`` for everything.  This machine is always reached directly: a proxy's
    loopback is not ours.
    """
    name = host.strip("[]").lower().rstrip(".")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if name == "localhost" or name.endswith(".localhost"):
        return True
    if address is not None and address.is_loopback:
        return True
    for entry in _no_proxy_entries(no_proxy):
        if entry == "*":
            return True
        entry_host, entry_port = _split_entry(entry)
        if entry_port is not None and entry_port != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry_host, strict=False):
                    return True
            except ValueError:
                pass  # a name: compared as text below
        suffix = entry_host.removeprefix("*").lstrip(".").rstrip(".")
        if suffix and (name == suffix or name.endswith("." + suffix)):
            return True
    return False


def proxy_for(url: str) -> str | None:
    """The proxy the environment sets for ``url`` (wss:// or https://), or None.

    ``https_proxy``, then ``all_proxy``; ``no_proxy`` exempts hosts.  Lower-case
    names win over upper-case ones (``urllib``'s rule, shared by curl).  Plain
    ws:// and http:// never go through a proxy (see the module docstring).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("wss", "https") or not parts.hostname:
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get("https") or proxies.get("all")
    if not proxy:
        return None
    if bypasses_proxy(parts.hostname, parts.port or 443, proxies.get("no", "")):
        return None
    return proxy


def describe_proxy(proxy: str) -> str:
    """The proxy URL without its credentials, for messages and logs."""
    try:
        parts = urlsplit(proxy)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid proxy address>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, "", "", ""))


@dataclass(frozen=True)
class NetworkAccess:
    """What aiohttp needs to reach one server: pass these three to each request."""

    host: str
    ssl: ssl.SSLContext | bool
    #: The proxy URL without credentials, or None for a direct connection.
    proxy: str | None = None
    #: ``Proxy-Authorization`` from the proxy URL's user:password, if any.
    proxy_headers: dict[str, str] | None = None

    @classmethod
    def for_url(
        cls, url: str, *, extra_ca_file: Path | None = None, proxy: str | None = None
    ) -> NetworkAccess:
        """How to reach ``url``; ``proxy`` None: from the environment, "": direct.

        Raises ``errors.CertificateError`` for an unusable CA file and
        ``errors.ProxyError`` for a proxy address that is not http(s)://host:port.
        """
        parts = urlsplit(url)
        host = parts.hostname or ""
        secure = parts.scheme.lower() in ("wss", "https")
        context: ssl.SSLContext | bool = ssl_context(extra_ca_file) if secure else True
        if proxy is None:
            proxy = proxy_for(url)
        if not proxy or not secure:
            return cls(host=host, ssl=context)
        target, headers = _parse_proxy(proxy)
        return cls(host=host, ssl=context, proxy=target, proxy_headers=headers)

    def failure(self, exc: BaseException) -> errors.ConnectError | None:
        """The specific error for a failed connection to the server, or None if the
        failure is not about TLS or the proxy."""
        certificate = _certificate_failure(exc)
        if certificate is None and isinstance(exc, aiohttp.ClientConnectorSSLError | ssl.SSLError):
            # TLS failed for another reason than the certificate (no common protocol,
            # plain HTTP on a TLS port, a middlebox cutting the handshake).
            cause = getattr(exc, "os_error", None) or exc
            return errors.CertificateError(
                f"the secure connection to {self.host} failed: {_ssl_reason(cause)}",
                host=self.host,
                reason=errors.CertificateError.OTHER,
            )
        if certificate is not None:
            reason, detail = certificate
            return errors.CertificateError(
                f"the certificate of {self.host} was refused: {detail}",
                host=self.host,
                reason=reason,
            )
        if self.proxy is None:
            return None
        if isinstance(exc, aiohttp.ClientHttpProxyError):
            hint = " (it asks for credentials)" if exc.status == 407 else ""
            return errors.ProxyError(
                f"the proxy {self.proxy} refused the connection to {self.host} "
                f"(HTTP {exc.status}){hint}",
                proxy=self.proxy,
            )
        if isinstance(exc, aiohttp.ClientProxyConnectionError):
            return errors.ProxyError(
                f"cannot reach the proxy {self.proxy}: {_os_reason(exc)}", proxy=self.proxy
            )
        return None


def _parse_proxy(proxy: str) -> tuple[str, dict[str, str] | None]:
    proxy = proxy.strip()
    if "://" not in proxy:
        proxy = f"http://{proxy}"  # "proxy.corp:3128", as curl reads it
    try:
        parts = urlsplit(proxy)
        _ = parts.port
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
        raise errors.ProxyError(
            f"unsupported proxy address {describe_proxy(proxy)!r}: expected http://host:port",
            proxy=describe_proxy(proxy),
        )
    target = describe_proxy(proxy)
    headers = None
    if parts.username is not None:
        user = unquote(parts.username)
        password = unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers = {"Proxy-Authorization": f"Basic {token}"}
    return target, headers


def _ssl_reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__)


def _os_reason(exc: BaseException) -> str:
    cause = getattr(exc, "os_error", None) or exc
    strerror = getattr(cause, "strerror", None)
    return str(strerror) if strerror else type(cause).__name__


def _certificate_failure(exc: BaseException) -> tuple[str, str] | None:
    """(reason code, English detail) if ``exc`` is a refused server certificate."""
    cause: BaseException | None = exc
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cause = exc.certificate_error
    if not isinstance(cause, ssl.SSLCertVerificationError):
        return None
    code = getattr(cause, "verify_code", None)
    message = str(getattr(cause, "verify_message", None) or cause)
    lowered = message.lower()
    if code in _EXPIRED_CODES or "expired" in lowered or "not yet valid" in lowered:
        return errors.CertificateError.EXPIRED, message
    if code in _WRONG_HOST_CODES or "mismatch" in lowered or "hostname" in lowered:
        return errors.CertificateError.WRONG_HOST, message
    if code in _REVOKED_CODES or "revoked" in lowered:
        return errors.CertificateError.REVOKED, message
    if code in _UNTRUSTED_CODES or "issuer" in lowered or "not trusted" in lowered:
        return errors.CertificateError.UNTRUSTED, message
    return errors.CertificateError.OTHER, message
