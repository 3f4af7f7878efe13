"""Where a webhook may be sent: the URL's rules, and the addresses it may reach.

A webhook makes the gateway open a connection to a place a client chose, from inside the
operator's AWS account. Without care that is a server-side request forgery: a client names
``http://169.254.169.254/`` (the instance metadata service), ``https://10.0.0.5/`` (something
in the VPC's neighbourhood), or ``https://evil.example`` whose DNS answers ``127.0.0.1``. So:

- the URL is absolute ``https`` (``http`` only where loopback is allowed, for a local stack),
  at most 2,048 characters, with no credentials in it, its host a DNS name or an IP address;
- its host is resolved, and *every* address it resolves to must be public: loopback, private,
  shared (100.64/10), link-local, multicast, reserved and unspecified addresses are refused,
  IPv6 ones too, and an IPv6 address that carries an IPv4 one (v4-mapped, NAT64, 6to4) is
  judged by the IPv4 address it carries;
- the connection goes to the address that was checked (:class:`Destination`), never through a
  second lookup whose answer could have changed (DNS rebinding).

The submit checks a webhook to refuse it early with a 400; the sender checks it again before
every attempt, since DNS answers change.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from vegart.errors import BadRequest

MAX_URL_CHARS = 2048
#: host, port -> the addresses it resolves to.
Resolver = Callable[[str, int], Sequence[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: A DNS name as a URL may carry one: labels of letters, digits, hyphens (and underscores,
#: which some hosts' names have), no label empty or over 63, at most 253 characters. A
#: dotted IPv4 address is one too.
_DNS_NAME = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*"
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class RefusedTarget(BadRequest):
    """A webhook the gateway will not call; the message names ``webhook`` and says why."""


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses as the operating system resolves them (IPv4 and IPv6)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def is_public(address: str) -> bool:
    """Whether an address belongs to the public internet (and nothing else)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None or ip.is_site_local:
            return False  # a tunnel whose far end the address does not say; a retired range
        carried = _carried_ipv4(ip)
        if carried is not None:
            return is_public(str(carried))
    elif ip in _SHARED:
        return False
    special = ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local
    return ip.is_global and not (special or ip.is_private or ip.is_loopback)


def _carried_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (v4-mapped, 6to4, NAT64), if any."""
    carried = ip.ipv4_mapped or ip.sixtofour
    if carried is None and ip in _NAT64:
        carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return carried


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook URL that passed the syntax rules, in the parts a connection needs."""

    url: str
    scheme: str
    host: str
    port: int
    #: The path and query, as the request line carries them.
    target: str


@dataclass(frozen=True)
class Destination:
    """A target and the one address, checked, that the connection must go to."""

    target: WebhookTarget
    address: str


class TargetPolicy:
    """The rules above, with the resolver they check against."""

    def __init__(
        self, resolver: Resolver = system_resolver, *, allow_loopback: bool = False
    ) -> None:
        """``allow_loopback`` lets ``http``/``https`` on loopback through (a local stack's
        receiver); every other non-public address stays refused."""
        self._resolve = resolver
        self.allow_loopback = allow_loopback

    def check(self, url: object) -> WebhookTarget:
        """The submit's check: :class:`RefusedTarget` (400) unless ``url`` may be called now."""
        target = self.parse(url)
        self.destination(target)
        return target

    def parse(self, url: object) -> WebhookTarget:
        """The syntax rules only: absolute URL, scheme, length, no credentials, a host name or
        an IP address, a valid port. Whatever the text, the answer is a target or a
        :class:`RefusedTarget`: no parser's own error escapes (a bracket left open makes
        ``urlsplit`` raise, an IP literal that is none makes ``ipaddress`` raise)."""
        if not isinstance(url, str):
            raise RefusedTarget("webhook must be a string")
        if len(url) > MAX_URL_CHARS:
            raise RefusedTarget(f"webhook must be at most {MAX_URL_CHARS} characters")
        if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
            raise RefusedTarget("webhook must be a URL of printable ASCII characters")
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
        except ValueError:
            raise RefusedTarget("webhook must be a valid URL") from None
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise RefusedTarget("webhook must be an absolute https URL")
        if "@" in parts.netloc:
            raise RefusedTarget("webhook must not carry credentials")
        host = (hostname or "").rstrip(".")
        if not host:
            raise RefusedTarget("webhook must name a host")
        if not _is_host(host, bracketed=parts.netloc.startswith("[")):
            raise RefusedTarget("webhook must name a host by a DNS name or an IP address")
        try:
            port = parts.port
        except ValueError:
            raise RefusedTarget("webhook has an invalid port") from None
        if port is None:
            port = 443 if parts.scheme == "https" else 80
        elif port == 0:
            raise RefusedTarget("webhook has an invalid port")
        path = parts.path or "/"
        target = f"{path}?{parts.query}" if parts.query else path
        return WebhookTarget(url, parts.scheme, host, port, target)

    def destination(self, target: WebhookTarget) -> Destination:
        """Resolve the target's host once and choose the address to connect to.

        Every address must pass, not only the one chosen: a name that answers a public and
        a private address would otherwise reach the private one on some other lookup.
        """
        addresses = list(self._resolve(target.host, target.port))
        if not addresses:
            raise RefusedTarget("webhook host does not resolve")
        loopback = all(_is_loopback(address) for address in addresses)
        if self.allow_loopback and loopback:
            return Destination(target, addresses[0])
        if target.scheme != "https":
            raise RefusedTarget("webhook must be an absolute https URL")
        for address in addresses:
            if not is_public(address):
                raise RefusedTarget("webhook must reach a public address")
        return Destination(target, addresses[0])


def _is_host(host: str, *, bracketed: bool) -> bool:
    """Whether a URL's host is a DNS name (letters, digits, hyphens and underscores in labels
    of at most 63, 253 in all) or an IP address (IPv6 in brackets, with no zone)."""
    if bracketed:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return "%" not in host
    return _DNS_NAME.fullmatch(host) is not None


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
