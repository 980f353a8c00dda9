"""Network guard for audit traffic: which URLs and addresses an audit may reach.

Audit targets are hostile (RELIABILITY.md §1). Everything the browser or a
server-side fetch connects to is decided here:

* :func:`normalize_url` turns user input into a canonical ``http(s)`` URL or raises
  :class:`TargetError` (no DNS).
* :func:`is_global_address` says whether an IP is publicly routable.
* :class:`TargetPolicy` resolves a host itself and returns the *one* address the
  caller must connect to, refusing if any answer is not global. Connecting to
  that exact address (never re-resolving) is what defeats DNS rebinding.

Plain Python, no Flask: callers pass ``AUDIT_ALLOW_TARGETS`` in.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol
from urllib.parse import quote

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
WEB_PORTS: frozenset[int] = frozenset({80, 443})

_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_PORT_TAIL_RE = re.compile(r"\d+(?:[/?#].*)?", re.DOTALL)
_LABEL_RE = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"

_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
        "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
)  # 100.100.100.200 (Alibaba metadata) is in 100.64/10, 192.0.0.192 (Oracle) in 192.0.0/24.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in ("2001::/23", "2001:db8::/32", "2002::/16", "2620:4f:8000::/48", "3fff::/20")
)  # Teredo and ORCHID live in 2001::/23, 6to4 in 2002::/16; everything outside 2000::/3
#    (::ffff:0:0/96, 64:ff9b::/96, fc00::/7 incl. fd00:ec2::254, fe80::/10, ff00::/8) fails.


class TargetError(Exception):
    """A URL or address an audit must not use. ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NameNotFound(TargetError):  # noqa: N818 - reads as what DNS answered
    """DNS answered that ``host`` does not exist (NXDOMAIN, or no address at all): the site
    is unreachable for every visitor. Other lookup failures (timeouts, SERVFAIL, no network)
    stay a plain ``dns_failure``: they may be ours. Fake resolvers in tests raise this."""

    def __init__(self, host: str, message: str | None = None) -> None:
        super().__init__("dns_failure", message or f"{host} does not exist (NXDOMAIN).")
        self.host = host


#: getaddrinfo errors that mean "this name has no address" rather than "no answer".
_NXDOMAIN_ERRORS = frozenset(
    getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)
)


def is_global_address(ip: str) -> bool:
    """True only for a publicly routable unicast address (IPv4 or IPv6 text)."""
    try:
        addr = ipaddress.ip_address(str(ip).strip())
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv4Address):
        return addr.is_global and not any(addr in net for net in _BLOCKED_V4)
    if addr.scope_id or addr not in _GLOBAL_UNICAST_V6:
        return False
    return addr.is_global and not any(addr in net for net in _BLOCKED_V6)


def _ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 host (decimal, 0-octal or 0x-hex); None if not a number."""
    radix = 10
    if part[:2].lower() == "0x":
        radix, part = 16, part[2:]
    elif len(part) > 1 and part.startswith("0"):
        radix, part = 8, part[1:]
    if part == "":
        return 0
    try:
        return int(part, radix) if part.isascii() and part.isalnum() else None
    except ValueError:
        return None


def _parse_ipv4(host: str) -> str | None:
    """Parse ``host`` as browsers do (``2130706433``, ``0x7f.1``, ``0177.0.0.1``).

    Returns dotted-quad text, None when the host is a name, or raises for a host
    that looks numeric but is not a valid address (browsers reject those too).
    """
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if not (last.isascii() and last.isdigit()) and _ipv4_number(last) is None:
        return None
    numbers = [_ipv4_number(p) if p else None for p in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        raise TargetError("invalid_url", f"{host!r} is not a valid IPv4 address.")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise TargetError("invalid_url", f"{host!r} is not a valid IPv4 address.")
    value = values[-1] + sum(n * 256 ** (3 - i) for i, n in enumerate(values[:-1]))
    return str(ipaddress.IPv4Address(value))


def canonical_host(host: str) -> tuple[str, str]:
    """Return ``(kind, host)``: kind is ``ipv4``, ``ipv6`` or ``name``; host is canonical.

    IPv6 is returned without brackets, names lower-case, IDNA-encoded, without a
    trailing dot. Raises :class:`TargetError` (``invalid_url``) for garbage.
    """
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if "%" in host:
            raise TargetError("invalid_url", "IPv6 zone identifiers are not allowed.")
        try:
            return "ipv6", str(ipaddress.IPv6Address(host))
        except ValueError:
            raise TargetError("invalid_url", f"[{host}] is not a valid IPv6 address.") from None
    if ":" in host:  # bare IPv6, as a CONNECT line or a resolver may give it
        try:
            return "ipv6", str(ipaddress.IPv6Address(host))
        except ValueError:
            raise TargetError("invalid_url", f"{host!r} is not a valid host.") from None
    if not host or _CONTROL_RE.search(host) or "%" in host:
        raise TargetError("invalid_url", "The address has no valid host name.")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()  # IDNA + NFKC, like browsers
    except UnicodeError:
        raise TargetError("invalid_url", f"{host!r} is not a valid host name.") from None
    ipv4 = _parse_ipv4(ascii_host)
    if ipv4 is not None:
        return "ipv4", ipv4
    name = ascii_host[:-1] if ascii_host.endswith(".") else ascii_host
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise TargetError("invalid_url", f"{host!r} is not a valid host name.")
    return "name", name


def target_key(host: str, port: int) -> str:
    """The allowlist spelling of a target: ``host:port`` (``[v6]:port`` for IPv6)."""
    kind, canon = canonical_host(host)
    return f"[{canon}]:{port}" if kind == "ipv6" else f"{canon}:{port}"


def parse_allow_targets(entries: frozenset[str] | list[str] | tuple[str, ...]) -> frozenset[str]:
    """Canonicalise ``AUDIT_ALLOW_TARGETS`` entries (``host:port``); raise ValueError if bad."""
    keys = set()
    for entry in entries:
        host, sep, port = str(entry).strip().rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"allow target {entry!r} must be exactly host:port")
        try:
            keys.add(target_key(host, int(port)))
        except TargetError as exc:
            raise ValueError(f"allow target {entry!r}: {exc.message}") from None
    return frozenset(keys)


def _split_scheme(text: str) -> tuple[str, str]:
    """Return ``(scheme, rest-after-//)``; scheme-less input becomes http."""
    if text.startswith("//"):
        return "http", text[2:]
    match = _SCHEME_RE.match(text)
    scheme = match.group(1).lower() if match else ""
    host_port = ("." in scheme or scheme == "localhost") and _PORT_TAIL_RE.fullmatch(
        text[match.end() :] if match else ""
    )
    if match and not host_port:
        if scheme not in DEFAULT_PORTS:
            raise TargetError(
                "unsupported_scheme", f"Only http and https can be audited, not {scheme}:."
            )
        rest = text[match.end() :]
        if not rest.startswith("//"):
            raise TargetError("invalid_url", "The address must look like https://example.com/.")
        return scheme, rest[2:]
    return "http", text  # "example.com", "localhost:8080/x"


def normalize_url(raw: str, allow_targets: frozenset[str] = frozenset()) -> str:
    """Return the canonical http(s) URL for ``raw`` or raise :class:`TargetError`.

    Adds ``http://`` when the scheme is missing, IDNA-encodes the host, parses
    numeric IPv4 forms as browsers do, drops the fragment and the default port.
    Rejects other schemes, userinfo, non-default ports and non-global IP literals
    unless the exact ``host:port`` is in ``allow_targets``. No DNS lookups here.
    """
    if not isinstance(raw, str):
        raise TargetError("invalid_url", "The address must be text.")
    text = raw.strip(" \t\r\n\x00\x0b\x0c")
    if not text:
        raise TargetError("invalid_url", "The address is empty.")
    if _CONTROL_RE.search(text):
        raise TargetError("invalid_url", "The address contains control characters.")
    scheme, rest = _split_scheme(text)
    rest = rest.split("#", 1)[0]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    path, _, query = tail.partition("?")
    if "\\" in authority or "\\" in path:
        raise TargetError("invalid_url", "Backslashes are not allowed in the address.")
    if "@" in authority:
        raise TargetError(
            "userinfo_not_allowed", "Addresses with a user name or password are not allowed."
        )
    if authority.startswith("["):
        end = authority.find("]")
        host, port_text = authority[: end + 1], authority[end + 1 :]
        if end < 0 or (port_text and not port_text.startswith(":")):
            raise TargetError("invalid_url", "The IPv6 address in the URL is malformed.")
        port_text = port_text[1:]
    else:
        host, _, port_text = authority.partition(":")
    if port_text and not (port_text.isascii() and port_text.isdigit() and int(port_text) < 65536):
        raise TargetError("invalid_url", f"{port_text!r} is not a valid port.")
    port = int(port_text) if port_text else DEFAULT_PORTS[scheme]
    kind, canon = canonical_host(host)
    key = f"[{canon}]:{port}" if kind == "ipv6" else f"{canon}:{port}"
    allowed = key in parse_allow_targets(allow_targets)
    if port != DEFAULT_PORTS[scheme] and not allowed:
        raise TargetError("port_not_allowed", f"Port {port} is not allowed; use the default port.")
    if not allowed:
        if kind != "name" and not is_global_address(canon):
            raise TargetError("blocked_address", f"{canon} is not a public address.")
        if canon == "localhost" or canon.endswith(".localhost"):
            raise TargetError("blocked_address", f"{canon} is a local name.")
    netloc = f"[{canon}]" if kind == "ipv6" else canon
    if port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    url = f"{scheme}://{netloc}{quote(path, safe=_PATH_SAFE) or '/'}"
    return url + ("?" + quote(query, safe=_QUERY_SAFE) if query else "")


class Resolver(Protocol):
    """Anything that turns a host name into IP address strings."""

    def resolve(self, host: str, port: int) -> list[str]: ...


_DNS_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="netguard-dns")


class SystemResolver:
    """``socket.getaddrinfo`` with a timeout (the lookup runs on a small thread pool)."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout

    def resolve(self, host: str, port: int) -> list[str]:
        """Return the A/AAAA answers for ``host``; raise TargetError ``dns_failure``."""
        future = _DNS_POOL.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=self.timeout)
        except FutureTimeout:
            raise TargetError("dns_failure", f"Looking up {host} timed out.") from None
        except socket.gaierror as exc:
            if exc.errno in _NXDOMAIN_ERRORS:
                raise NameNotFound(host, f"{host} does not exist ({exc.strerror}).") from None
            raise TargetError("dns_failure", f"{host} could not be looked up ({exc}).") from None
        except (OSError, UnicodeError) as exc:
            raise TargetError("dns_failure", f"{host} could not be found ({exc}).") from None
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


class TargetPolicy:
    """Decide which address a connection to ``host:port`` may use.

    ``allow_targets`` holds exact ``host:port`` pairs (local testing only); every
    use is logged at WARNING. ``ports`` are the ports allowed for everything else.
    """

    def __init__(
        self,
        allow_targets: frozenset[str] = frozenset(),
        resolver: Resolver | None = None,
        logger: logging.Logger | None = None,
        *,
        ports: frozenset[int] = WEB_PORTS,
    ) -> None:
        self.allow_targets = parse_allow_targets(allow_targets)
        self.resolver: Resolver = resolver or SystemResolver()
        self.logger = logger or log
        self.ports = ports

    def check(self, host: str, port: int) -> str:
        """Resolve ``host`` and return the one IP to connect to, or raise TargetError.

        Refuses (``blocked_address``) when ANY answer is not global, so a name
        that mixes public and private answers never gets through.
        """
        if not isinstance(port, int) or not 0 < port < 65536:
            raise TargetError("invalid_url", f"{port!r} is not a valid port.")
        kind, canon = canonical_host(host)
        key = f"[{canon}]:{port}" if kind == "ipv6" else f"{canon}:{port}"
        if key in self.allow_targets:
            self.logger.warning("audit allowlist used: %s", key)
            return canon if kind != "name" else self._answers(canon, port)[0]
        if port not in self.ports:
            raise TargetError("port_not_allowed", f"Port {port} is not allowed for audits.")
        if kind != "name":
            if not is_global_address(canon):
                raise TargetError("blocked_address", f"{canon} is not a public address.")
            return canon
        if canon == "localhost" or canon.endswith(".localhost"):
            raise TargetError("blocked_address", f"{canon} is a local name.")
        answers = self._answers(canon, port)
        bad = [ip for ip in answers if not is_global_address(ip)]
        if bad:
            raise TargetError(
                "blocked_address", f"{canon} resolves to {bad[0]}, not a public address."
            )
        return answers[0]

    def _answers(self, name: str, port: int) -> list[str]:
        answers = [str(a) for a in self.resolver.resolve(name, port)]
        if not answers:
            raise NameNotFound(name, f"{name} has no address.")
        return sorted(answers, key=lambda ip: ":" in ip)  # IPv4 first: v6 routes often absent
