"""The outbound address guard: where Heartwatch may send a request because somebody typed a URL.

Custom webhook subscriptions and developers' own Slack webhooks carry their own URL, so whoever
may save one could otherwise make Heartwatch post into its own network: loopback, the cloud
metadata address (169.254.169.254), private and link-local ranges, whatever the spelling
(``0x7f000001``, ``2130706433``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]``). Such a URL is refused when
it is saved (``check_url_host``) and again when it is sent: the connection (``connect_checked``)
resolves the name, checks every address it has, and connects to the address it checked, so a
name that answers otherwise a moment later (DNS rebinding) reaches nothing new.

OUTBOUND_ALLOWED_NETWORKS (a comma list of CIDRs) lets an operator allow networks on purpose, a
receiver on the office network say. The operator's own endpoints (SMTP_HOST, SLACK_API_BASE,
TWILIO_API_BASE, SLACK_WEBHOOK_URL) are not checked: nobody but the operator sets them.
"""
from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterable

from flask import current_app, has_app_context

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The IPv6 prefix of NAT64 (RFC 6052): the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(OSError):
    """A destination the guard does not allow; its text is the one message every way in shows."""


def parse_networks(raw: str | Iterable[str] | None) -> tuple[Network, ...]:
    """The networks of OUTBOUND_ALLOWED_NETWORKS ("10.20.0.0/16, fd00::/8", or a list of them);
    raises ValueError naming a network that is not a CIDR."""
    parts = raw.split(",") if isinstance(raw, str) else list(raw or ())
    networks = []
    for part in (str(p).strip() for p in parts):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"OUTBOUND_ALLOWED_NETWORKS: {part!r} is not a network like 10.0.0.0/8") from None
    return tuple(networks)


def allowed_networks() -> tuple[Network, ...]:
    """The networks the operator allows, from the app's settings (none outside an app)."""
    if not has_app_context():
        return ()
    return _parsed(str(current_app.config.get("OUTBOUND_ALLOWED_NETWORKS") or ""))


@functools.lru_cache(maxsize=8)
def _parsed(raw: str) -> tuple[Network, ...]:
    return parse_networks(raw)


def _ipv4_reached(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d)
    or NAT64 (64:ff9b::a.b.c.d); such an address is judged by it alone."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if (int(address) >> 32 == 0 and int(address) > 1) or address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 ends of a tunnel address (6to4, Teredo): judged besides the address itself."""
    found = [address.sixtofour] if address.sixtofour else []
    return found + list(address.teredo or ())


def _kind(address: Address) -> str | None:
    """What makes an address internal ("loopback", "private", ...), None for a public one."""
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if getattr(address, "is_site_local", False):
        return "site-local"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def refusal(address: Address, allowed: Iterable[Network] = ()) -> str | None:
    """Why ``address`` may not be reached (its kind: "loopback", "private", ...; for an IPv6
    address carrying an IPv4 one, the kind of that one), None when it is public or inside an
    allowed network."""
    allowed = tuple(allowed)
    candidates = [address]
    if address.version == 6:
        reached = _ipv4_reached(address)
        candidates = [reached] if reached else [address, *_tunnelled_ipv4(address)]
    for candidate in candidates:
        kind = _kind(candidate)
        if kind and not any(candidate.version == net.version and candidate in net for net in allowed):
            return kind
    return None


def refusal_message(host: str, address: Address, kind: str) -> str:
    """The one text for a refused destination, at save time and at send time alike."""
    shown = host if host == str(address) else f"{host} ({address})"
    return (f"the URL points at a {kind} address, {shown}; outbound requests go to public addresses only "
            "(an operator allows other networks with OUTBOUND_ALLOWED_NETWORKS)")


def checked_addresses(host: str, port: int, allowed: Iterable[Network] = ()) -> list[tuple]:
    """Resolve ``host`` and check every address it has: the getaddrinfo entries to connect to, or
    AddressRefused when any of them is internal (a name with one internal address is refused
    whole: the connection could otherwise be steered to it). Raises socket.gaierror when the
    name does not resolve."""
    allowed = tuple(allowed)
    entries = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    for entry in entries:
        address = ipaddress.ip_address(entry[4][0].split("%", 1)[0])
        kind = refusal(address, allowed)
        if kind:
            raise AddressRefused(refusal_message(host, address, kind))
    return entries


def connect_checked(host: str, port: int, timeout: float | None, allowed: Iterable[Network] = (),
                    source_address=None) -> socket.socket:
    """A TCP connection to ``host`` made to one of the addresses ``checked_addresses`` allowed: the
    name is resolved once, here, and never again for this connection."""
    last_error: OSError | None = None
    for family, kind, proto, _, sockaddr in checked_addresses(host, port, allowed):
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error or OSError(f"{host} has no address")


def check_url_host(url: str, allowed: Iterable[Network] | None = None) -> None:
    """The save-time check of a URL's host: raises AddressRefused when it is, spells or resolves to
    an internal address. A name that does not resolve now is let through (it is checked again
    on every send)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 80
    try:
        checked_addresses(host, port, allowed_networks() if allowed is None else allowed)
    except (socket.gaierror, UnicodeError):
        return


class _Checked:
    """Mixed into http.client's connections: the socket comes from ``connect_checked``. The Host
    header, and for https the SNI name and the certificate check, stay those of the URL's host."""

    def __init__(self, *args, allowed: tuple[Network, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._allowed = allowed
        self._create_connection = self._connect  # what HTTPConnection.connect opens its socket with

    def _connect(self, address, timeout=None, source_address=None):
        host, port = address
        return connect_checked(host, port, timeout, self._allowed, source_address)


class CheckedHTTPConnection(_Checked, http.client.HTTPConnection):
    pass


class CheckedHTTPSConnection(_Checked, http.client.HTTPSConnection):
    pass


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, allowed: tuple[Network, ...]):
        super().__init__()
        self.allowed = allowed

    def http_open(self, req):
        return self.do_open(functools.partial(CheckedHTTPConnection, allowed=self.allowed), req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, allowed: tuple[Network, ...]):
        super().__init__()
        self.allowed = allowed

    def https_open(self, req):
        return self.do_open(functools.partial(CheckedHTTPSConnection, allowed=self.allowed), req)


def checked_handlers(allowed: tuple[Network, ...]) -> list:
    """urllib handlers for a checked opener. No proxy: a proxy would resolve the name itself,
    after the check, so a receiver named by a user is always reached directly."""
    return [urllib.request.ProxyHandler({}), _CheckedHTTPHandler(allowed), _CheckedHTTPSHandler(allowed)]
