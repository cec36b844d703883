"""Where a source's crawl may go: http(s) only, on its own site, never into a private network.

A source's *scope* is its start URL's host (with or without a leading ``www.``, the usual
redirect between the two), plus the hosts it declares in ``sources[].allowed_hosts`` and the
crawl-wide ``crawl.allowed_hosts`` (``*.example.gov.cn`` covers the domain and its subdomains).
The port is not part of the site: ``127.0.0.1:8080`` and ``127.0.0.1:9090`` are one host.

A URL is refused, with a reason counted in the run's statistics (``nianbao/refused/<reason>``):

- ``scheme:<name>`` — anything but http and https (``file:``, ``data:``, ``ftp:``, ``s3:`` …);
- ``malformed`` — no host, or a host or port that does not parse;
- ``private`` — a loopback, private-network (10/8, 172.16/12, 192.168/16, fc00::/7),
  link-local (169.254/16, fe80::/10) or other non-global address, or ``localhost``, unless the
  start URL's own host is of the same kind (a portal on 127.0.0.1 may be crawled; it still
  cannot send the crawl to 169.254.169.254 or 10.0.0.1, even if declared);
- ``offsite`` — any other host.

Addresses are read from the URL as written, in every notation a resolver accepts
(``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``[::ffff:127.0.0.1]``).  Host names are not
resolved: only the start URL's host and hosts the operator declared are ever requested, so a
name can lead into a private network only if the operator's own configuration points there
(DNS rebinding by a configured portal is out of scope).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from spiders.pages import FETCHABLE_SCHEMES

_NUMERIC_V4 = re.compile(r"[0-9a-fA-FxX.]+")


def normal_host(host: str) -> str:
    """A host name as compared: lower case, no trailing dot, IDNA (xn--) for non-ASCII names."""
    host = host.strip().rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def parse_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host literally is (legacy IPv4 forms included), or None for a name."""
    host = host.strip("[]")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if not _NUMERIC_V4.fullmatch(host) or not re.search(r"\d", host):
            return None
        try:  # what resolvers accept too: 127.1, 2130706433, 0x7f000001, 0177.0.0.1
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def address_kind(host: str) -> str | None:
    """``loopback``, ``link-local``, ``private`` or ``reserved`` for a non-public host, else None."""
    host = normal_host(host)
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    ip = parse_address(host)
    if ip is None:
        return None
    if ip.is_loopback or ip.is_unspecified:  # 0.0.0.0 reaches this machine too
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private:
        return "private"
    if not ip.is_global or ip.is_multicast:
        return "reserved"
    return None


@dataclass(frozen=True)
class Scope:
    """The hosts one source's crawl may request; see the module docstring."""

    hosts: frozenset[str]
    domains: tuple[str, ...]  # from "*.example.gov.cn": the domain and its subdomains
    start_kind: str | None  # address_kind of the start URL's host

    @classmethod
    def of(cls, start_url: str, allowed_hosts: Iterable[str] = ()) -> Scope:
        start = normal_host(urlsplit(start_url).hostname or "")
        hosts = {start}
        if parse_address(start) is None:  # www.x.gov.cn and x.gov.cn are one site
            hosts.add(start[4:] if start.startswith("www.") else f"www.{start}")
        domains = []
        for entry in allowed_hosts:
            entry = normal_host(entry.strip("[]"))
            if entry.startswith("*."):
                domains.append(entry[2:])
            else:
                hosts.add(entry)
        return cls(frozenset(hosts), tuple(domains), address_kind(start))

    def refusal(self, url: str) -> str | None:
        """None when ``url`` may be requested, else why not (the reasons in the module docstring)."""
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme not in FETCHABLE_SCHEMES:
                return f"scheme:{scheme[:20] or 'none'}"
            host = normal_host(parts.hostname or "")
            parts.port  # noqa: B018 - raises ValueError for a port that does not parse
        except ValueError:
            return "malformed"
        if not host:
            return "malformed"
        kind = address_kind(host)
        if kind is not None and kind != self.start_kind:
            return "private"
        if host in self.hosts or any(host == d or host.endswith("." + d) for d in self.domains):
            return None
        return "offsite"
