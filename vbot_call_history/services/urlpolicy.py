"""Where VBot credentials may be sent: the allowed API hosts and the address check.

Plain Python (no Odoo). The rules:

* A URL is read strictly: printable ASCII only (no space, control character or
  backslash), ``http`` or ``https``, no user name or password, a host that is a DNS name
  of letters, digits and hyphens or a canonical IP address (``127.0.0.1``, ``[::1]``;
  never ``2130706433``, ``0177.0.0.1`` or ``127.1``). The URL is parsed by the parser
  :mod:`requests` uses (:func:`urllib3.util.parse_url`), by what :mod:`requests` actually
  prepares, and by :func:`urllib.parse.urlsplit`; when they disagree on the scheme, host or
  port, the URL is refused (a parser differential is how proxies get steered).
* VBot's own hosts are allowed: ``https`` on ``vbot.vn`` or any ``*.vbot.vn`` name, port
  443, and only when every address the name resolves to (and the address actually
  connected to, see :meth:`UrlPolicy.check_peer`) is public.
* An administrator allows other hosts with entries (comma or space separated):
  ``host``, ``host:port``, ``[v6]:port``, ``*.domain`` or ``*.domain:port``, optionally
  prefixed with ``http://`` or ``https://`` to allow only that scheme. Without a port an
  entry allows the scheme's default port (443, 80). An exact entry (a name or an IP
  address) is trusted whatever it resolves to: that is how ``127.0.0.1:8765`` (the
  simulator) or an internal relay is allowed. A wildcard entry allows only public
  addresses.
* Public means not private, loopback, link-local, shared (CGNAT), multicast, unspecified,
  reserved or documentation space, and not a cloud metadata address; IPv4 addresses
  embedded in IPv6 (mapped, 6to4, NAT64) are judged by the IPv4 address, Teredo is refused.

:class:`UrlRefused` messages name the host, never the whole URL (a URL may carry a
password in its user part).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import parse_url as _urllib3_parse_url

__all__ = [
    "DEFAULT_VBOT_DOMAINS",
    "HostRule",
    "PolicyAdapter",
    "Target",
    "UrlPolicy",
    "UrlRefused",
    "is_public_address",
    "parse_url",
]

DEFAULT_VBOT_DOMAINS = ("vbot.vn",)
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2048

_PRINTABLE = re.compile(r"[!-~]+")  # printable ASCII, no space
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_ENTRY = re.compile(
    r"(?:(?P<scheme>https?)://)?(?P<host>\*\.[^:/\[\]]+|\[[^\]]+\]|[^:/\[\]*]+)(?::(?P<port>\d{1,5}))?/?"
)

# Cloud metadata services that sit on otherwise public or shared addresses.
_METADATA = tuple(
    ipaddress.ip_network(net)
    for net in (
        "169.254.0.0/16",  # AWS, GCP, Azure IMDS, ECS task metadata (link-local)
        "100.100.100.200/32",  # Alibaba Cloud
        "168.63.129.16/32",  # Azure wire server
        "fd00:ec2::/32",  # AWS IMDS over IPv6
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(ValueError):
    """A URL, host or address the policy refuses.

    ``code`` says why (``syntax``, ``scheme``, ``userinfo``, ``host``, ``address``,
    ``origin``), ``host`` names the host when known; ``str()`` is an English sentence
    without the URL.
    """

    def __init__(self, code: str, message: str, host: str = "") -> None:
        super().__init__(message)
        self.code, self.host = code, host


@dataclass(frozen=True)
class Target:
    """A URL as it will be sent: scheme, canonical host, port, and the prepared URL."""

    scheme: str
    host: str  # lower-case name, or an IP address in its canonical form (IPv6 without [])
    port: int
    url: str  # what requests sends (after its own preparation)

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class HostRule:
    """One allowed host (or domain): which schemes and port, and whether addresses count."""

    host: str
    port: int | None = None  # None: the scheme's default port
    schemes: frozenset[str] = frozenset(("http", "https"))
    wildcard: bool = False  # host is a domain: it and every name under it
    trusted: bool = False  # an exact entry: its addresses are not checked

    def matches(self, scheme: str, host: str, port: int) -> bool:
        if scheme not in self.schemes:
            return False
        if port != (self.port if self.port is not None else DEFAULT_PORTS[scheme]):
            return False
        if self.wildcard:
            return host == self.host or host.endswith("." + self.host)
        return host == self.host


def _canonical_host(raw: str) -> str:
    """The host in canonical form, or UrlRefused(syntax) when it is not plainly a host."""
    host = raw.lower()
    if (host.startswith("[") and host.endswith("]")) or ":" in host:
        try:
            address = ipaddress.IPv6Address(host.strip("[]"))  # a zone (%eth0) is refused
        except ValueError:
            raise UrlRefused("syntax", "The address in brackets is not an IPv6 address") from None
        return str(address)
    if re.fullmatch(r"[0-9.]+", host):
        try:
            return str(ipaddress.IPv4Address(host))  # dotted quad only, no leading zeros
        except ValueError:
            raise UrlRefused("syntax", f"{raw!r} is not a canonical IPv4 address") from None
    labels = host.split(".")
    if (
        len(host) > 253
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()  # 2130706433, 127.1, 0177.0.0.1: numbers are not names
        or labels[-1].startswith("0x")
    ):
        raise UrlRefused("syntax", f"{raw!r} is not a host name or an IP address")
    return host


def _normalised(scheme: str | None, host: str | None, port: int | None) -> tuple:
    scheme = (scheme or "").lower()
    host = (host or "").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return (scheme, host, port or DEFAULT_PORTS.get(scheme))


def parse_url(url: str) -> Target:
    """Read ``url`` strictly (see the module docstring); raise :class:`UrlRefused`."""
    if not isinstance(url, str) or not url:
        raise UrlRefused("syntax", "No URL given")
    if len(url) > MAX_URL_LENGTH or not _PRINTABLE.fullmatch(url) or "\\" in url:
        raise UrlRefused(
            "syntax", "The URL holds a space, a backslash or a character that is not ASCII"
        )
    try:
        parsed = _urllib3_parse_url(url)
        prepared = requests.PreparedRequest()
        prepared.prepare_url(url, None)
        sent = _urllib3_parse_url(prepared.url)
        split = urlsplit(url)
        split_port = split.port
    except (ValueError, requests.RequestException) as error:
        raise UrlRefused("syntax", f"The URL cannot be read ({type(error).__name__})") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlRefused("scheme", "Only http and https URLs are allowed")
    if parsed.auth is not None or sent.auth is not None or "@" in split.netloc:
        raise UrlRefused("userinfo", "The URL holds a user name or password", parsed.host or "")
    if not parsed.host:
        raise UrlRefused("syntax", "The URL has no host")
    views = {
        _normalised(parsed.scheme, parsed.host, parsed.port),
        _normalised(sent.scheme, sent.host, sent.port),
        _normalised(split.scheme, split.hostname, split_port),
    }
    if len(views) != 1:
        raise UrlRefused("syntax", "The URL reads differently to different parsers", parsed.host)
    host = _canonical_host(parsed.host)
    port = parsed.port or DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise UrlRefused("syntax", "The port is out of range", host)
    return Target(scheme, host, port, prepared.url)


def is_public_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is a public unicast address (not private, loopback, metadata...)."""
    try:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip.teredo is not None:
            return False
        if ip.sixtofour is not None and not is_public_address(ip.sixtofour):
            return False
        if ip in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
        or not ip.is_global
    ):
        return False
    return not any(ip in network for network in _METADATA)


def parse_host_entry(entry: str) -> HostRule:
    """One entry of the allowed-hosts list (see the module docstring) as a rule."""
    text = entry.strip().lower()
    match = _ENTRY.fullmatch(text)
    if not match:
        raise UrlRefused("syntax", f"{entry!r} is not host[:port], [v6]:port or *.domain[:port]")
    raw_host = match["host"]
    wildcard = raw_host.startswith("*.")
    host = _canonical_host(raw_host[2:] if wildcard else raw_host)
    if wildcard and _is_ip(host):
        raise UrlRefused("syntax", f"{entry!r}: a wildcard needs a domain, e.g. *.example.com")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise UrlRefused("syntax", f"{entry!r}: the port is out of range")
    schemes = frozenset((match["scheme"],)) if match["scheme"] else frozenset(DEFAULT_PORTS)
    return HostRule(host, port, schemes, wildcard=wildcard, trusted=not wildcard)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


Resolver = Callable[[str, int], Iterable[str]]


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class UrlPolicy:
    """The hosts VBot requests may go to. Immutable; cheap to build per client.

    ``allowed_hosts`` are the administrator's entries (a string split on commas and
    white space, or an iterable); entries that cannot be read are kept in
    :attr:`invalid` and ignored. ``vbot_domains`` are VBot's own domains (https, 443,
    public addresses only).
    """

    def __init__(
        self,
        allowed_hosts: str | Iterable[str] | None = (),
        vbot_domains: Iterable[str] = DEFAULT_VBOT_DOMAINS,
    ) -> None:
        if isinstance(allowed_hosts, str):
            allowed_hosts = re.split(r"[\s,;]+", allowed_hosts)
        rules: list[HostRule] = []
        self.invalid: list[str] = []
        for entry in allowed_hosts or ():
            if not entry or not entry.strip():
                continue
            try:
                rules.append(parse_host_entry(entry))
            except UrlRefused:
                self.invalid.append(entry.strip())
        # The administrator's entries first: an exact entry may trust a VBot name's address.
        rules.extend(
            HostRule(domain.lower(), 443, frozenset(("https",)), wildcard=True)
            for domain in vbot_domains
        )
        self.rules = tuple(rules)

    def __repr__(self) -> str:
        return f"<UrlPolicy {len(self.rules)} rules>"

    def rule_for(self, scheme: str, host: str, port: int | None) -> HostRule | None:
        """The first rule allowing this scheme, host and port, None when none does."""
        scheme, host, port = _normalised(scheme, host, port)
        try:
            host = _canonical_host(host)
        except UrlRefused:
            return None
        for rule in self.rules:
            if rule.matches(scheme, host, port):
                return rule
        return None

    def check_url(self, url: str, resolve: bool = False, resolver: Resolver = _resolve) -> Target:
        """The URL's :class:`Target` when a rule allows it; raise :class:`UrlRefused`.

        With ``resolve`` the host's addresses are looked up now and must be public unless
        an exact entry allows the host; a name that does not resolve is not refused here
        (the check on the connected address, :meth:`check_peer`, still applies).
        """
        target = parse_url(url)
        rule = self.rule_for(*target.origin)
        if rule is None:
            raise UrlRefused(
                "host", f"{target.netloc} ({target.scheme}) is not an allowed host", target.host
            )
        if _is_ip(target.host):
            self._check_address(rule, target.host, target.host)
        elif resolve and not rule.trusted:
            try:
                addresses = list(resolver(target.host, target.port))
            except OSError:
                addresses = []
            for address in addresses:
                self._check_address(rule, target.host, address)
        return target

    def check_peer(self, scheme: str, host: str, port: int | None, address: str) -> None:
        """Raise :class:`UrlRefused` unless a connection to ``address`` for this host is allowed.

        Called with the connected socket's peer address before anything is sent, so a
        name that resolved to a public address when saved and to a private one now (DNS
        rebinding) is still refused.
        """
        rule = self.rule_for(scheme, host, port)
        if rule is None:
            raise UrlRefused("host", f"{host} is not an allowed host", host)
        self._check_address(rule, host, address)

    @staticmethod
    def _check_address(rule: HostRule, host: str, address: str) -> None:
        if rule.trusted or is_public_address(address):
            return
        raise UrlRefused(
            "address",
            f"{host} resolves to {address}, a private, loopback, link-local or metadata address",
            host,
        )


# -- enforcement at request time --------------------------------------------------------------


def _checked_connection(base: type, scheme: str, policy: UrlPolicy) -> type:
    """``base`` (a urllib3 connection class) that checks the peer before sending a byte."""

    class CheckedConnection(base):
        def _new_conn(self):
            sock = super()._new_conn()
            try:
                policy.check_peer(scheme, self.host, self.port, sock.getpeername()[0])
            except BaseException:
                sock.close()
                raise
            return sock

    return CheckedConnection


class PolicyAdapter(HTTPAdapter):
    """A :mod:`requests` transport that sends only where ``policy`` allows.

    Every request's URL is checked (:meth:`UrlPolicy.check_url`) and every new
    connection's peer address too (:meth:`UrlPolicy.check_peer`), after the TCP connect
    and before TLS or the request: DNS answers cannot steer credentials to a private
    address. A refusal raises :class:`UrlRefused`, which neither urllib3 nor requests
    retries or wraps.
    """

    def __init__(self, policy: UrlPolicy) -> None:
        self.policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        result = super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        http_conn = _checked_connection(HTTPConnection, "http", self.policy)
        https_conn = _checked_connection(HTTPSConnection, "https", self.policy)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("CheckedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type(
                "CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}
            ),
        }
        return result

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise UrlRefused("host", "VBot requests are not sent through a proxy")

    def send(self, request, **kwargs):
        self.policy.check_url(request.url)
        return super().send(request, **kwargs)


def policy_session(policy: UrlPolicy, session: requests.Session | None = None) -> requests.Session:
    """``session`` (or a new one) sending only where ``policy`` allows.

    No proxy, ``.netrc`` or other settings from the environment: credentials go straight
    to the checked host.
    """
    session = session or requests.Session()
    session.trust_env = False
    adapter = PolicyAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
