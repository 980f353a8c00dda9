"""Guarded server-side fetches (robots.txt, sitemap.xml, the http→https redirect check, the
server response time).

Every hop is normalised with :func:`~app.audits.engine.netguard.normalize_url`, checked
with :class:`~app.audits.engine.netguard.TargetPolicy`, and connected to exactly the IP
the policy returned; https verifies the certificate against the *host name*
(SNI), not the IP. Plain Python: no Flask, no third-party HTTP client.
"""

from __future__ import annotations

import datetime as dt
import http.client
import socket
import ssl
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from app.audits.engine.netguard import NameNotFound, TargetError, TargetPolicy, normalize_url

#: ``connect(ip, port, timeout) -> socket``; tests inject a tripwire here.
SocketConnect = Callable[[str, int, float], socket.socket]

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "PitchFast-Audit/0.1 (+site audit)"


class FetchError(Exception):
    """A fetch that failed for a network reason. ``code`` is one of ``dns_failure``,
    ``timeout``, ``tls_error``, ``too_large``, ``too_many_redirects``,
    ``connection_refused``, ``connection_error``, ``bad_response``."""

    def __init__(self, code: str, message: str, tls: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.tls = code, message, tls


class FetchNameNotFound(FetchError):
    """The ``dns_failure`` of a name DNS says does not exist
    (:class:`~app.audits.engine.netguard.NameNotFound`): still a :class:`FetchError` for
    the audit engine, told apart by callers for which it is permanent (webhooks)."""


@dataclass
class FetchResult:
    """The final response of a guarded fetch. ``headers`` look-ups ignore case."""

    url: str
    final_url: str
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    redirects: list[tuple[int, str]] = field(default_factory=list)
    tls: dict[str, Any] | None = None


def _default_connect(ip: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((ip, port), timeout=timeout)


class _PinnedConnection(http.client.HTTPSConnection):
    """HTTP(S) connection to a host *name* that dials one pre-checked IP."""

    def __init__(self, host: str, port: int, ip: str, timeout: float, *, tls: bool,
                 context: ssl.SSLContext, dial: SocketConnect) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._ip, self._tls, self._dial = ip, tls, dial
        self.default_port = 443 if tls else 80  # Host header omits only the scheme's port

    def connect(self) -> None:
        sock = self._dial(self._ip, self.port, self.timeout)  # type: ignore[arg-type]
        if self._tls:
            sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
        self.sock = sock


def _tls_info(sock: ssl.SSLSocket) -> dict[str, Any]:
    cert: dict[str, Any] = dict(sock.getpeercert() or {})
    not_after = dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), dt.UTC)
    issuer = {k: v for rdn in cert.get("issuer", ()) for k, v in rdn}
    return {
        "valid": True,
        "error": None,
        "not_after": not_after.isoformat(),
        "days_left": (not_after - dt.datetime.now(dt.UTC)).days,
        "issuer": issuer.get("organizationName") or issuer.get("commonName") or "",
    }


def guarded_fetch(
    url: str,
    policy: TargetPolicy,
    *,
    max_bytes: int = 2_000_000,
    timeout: float = 10.0,
    max_redirects: int = 5,
    method: str = "GET",
    connect: SocketConnect | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> FetchResult:
    """Fetch ``url`` through the network guard, following up to ``max_redirects``.

    ``timeout`` bounds the whole fetch. Raises :class:`TargetError` when a hop is
    not allowed and :class:`FetchError` for network failures.
    """
    deadline = time.monotonic() + timeout
    context = ssl_context or ssl.create_default_context()
    start = current = normalize_url(url, policy.allow_targets)
    redirects: list[tuple[int, str]] = []
    while True:
        status, headers, body, tls = _fetch_once(
            current, policy, method, deadline, max_bytes, context, connect or _default_connect)
        location = headers.get("Location")
        if status not in REDIRECT_CODES or not location:
            return FetchResult(start, current, status, headers, body, redirects, tls)
        if len(redirects) >= max_redirects:
            raise FetchError("too_many_redirects", f"More than {max_redirects} redirects.")
        target = urljoin(current, location.strip())
        redirects.append((status, target))
        current = normalize_url(target, policy.allow_targets)
        if status == 303 or (status in (301, 302) and method == "POST"):
            method = "GET"


def _pinned(url: str, policy: TargetPolicy, timeout: float, context: ssl.SSLContext,
            dial: SocketConnect) -> tuple[_PinnedConnection, str, int, str]:
    """A connection to the address ``policy`` checked for ``url``'s host (an unresolvable
    name is a ``dns_failure``), with the host, port and request path."""
    parts = urlsplit(url)
    host, is_tls = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if is_tls else 80)
    try:
        ip = policy.check(host, port)
    except TargetError as exc:
        if exc.code == "dns_failure":
            error = FetchNameNotFound if isinstance(exc, NameNotFound) else FetchError
            raise error("dns_failure", exc.message) from None
        raise
    conn = _PinnedConnection(host, port, ip, timeout, tls=is_tls, context=context, dial=dial)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return conn, host, port, path


@contextmanager
def _network_errors(url: str, host: str, port: int) -> Iterator[None]:
    """Turn a socket or HTTP failure into a :class:`FetchError` with its code (callers
    catch TLS errors first: ``ssl.SSLError`` is an ``OSError``)."""
    try:
        yield
    except TimeoutError:
        raise FetchError("timeout", f"{url} did not answer in time.") from None
    except ConnectionRefusedError:
        raise FetchError("connection_refused", f"{host}:{port} refused the connection.") from None
    except OSError as exc:
        raise FetchError("connection_error", f"Connection to {host} failed: {exc}.") from None
    except http.client.HTTPException as exc:
        raise FetchError("bad_response", f"{host} sent an invalid HTTP response ({exc!r}).") \
            from None


def _fetch_once(url: str, policy: TargetPolicy, method: str, deadline: float, max_bytes: int,
                context: ssl.SSLContext, dial: SocketConnect
                ) -> tuple[int, http.client.HTTPMessage, bytes, dict[str, Any] | None]:
    conn, host, port, path = _pinned(url, policy, _remaining(deadline), context, dial)
    is_tls = url.lower().startswith("https:")
    with _network_errors(url, host, port):
        try:
            conn.request(method, path, headers={
                "User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity",
                "Connection": "close"})
            # http.client closes conn.sock once it sees "Connection: close": read TLS facts first;
            # each recv is bounded by the socket timeout, the whole body by the deadline.
            tls = _tls_info(conn.sock) if is_tls else None
            conn.sock.settimeout(_remaining(deadline))
            resp = conn.getresponse()
            chunks, size = [], 0
            while method != "HEAD":
                _remaining(deadline)
                chunk = resp.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError("too_large", f"{url} is larger than {max_bytes} bytes.")
                chunks.append(chunk)
            return resp.status, resp.headers, b"".join(chunks), tls
        except ssl.SSLCertVerificationError as exc:
            reason = exc.verify_message or str(exc)
            raise FetchError("tls_error", f"Certificate of {host} is not valid: {reason}.",
                             tls={"valid": False, "error": reason, "not_after": None,
                                  "days_left": None, "issuer": None}) from None
        except ssl.SSLError as exc:
            reason = str(exc.reason or exc)
            raise FetchError("tls_error", f"TLS with {host} failed: {reason}.",
                             tls={"valid": False, "error": reason, "not_after": None,
                                  "days_left": None, "issuer": None}) from None
        finally:
            conn.close()


def send_once(
    url: str,
    policy: TargetPolicy,
    *,
    method: str = "POST",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    max_bytes: int = 4096,
    connect: SocketConnect | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> FetchResult:
    """One request to ``url`` through the network guard (webhook deliveries): the same
    checks and pinned connection as :func:`guarded_fetch`, but redirects are never followed
    (a 3xx comes back as it is) and the response body is read up to ``max_bytes`` and the
    rest left unread (cut short, not an error). ``timeout`` bounds the whole exchange."""
    deadline = time.monotonic() + timeout
    current = normalize_url(url, policy.allow_targets)
    conn, host, port, path = _pinned(current, policy, _remaining(deadline),
                                     ssl_context or ssl.create_default_context(),
                                     connect or _default_connect)
    with _network_errors(url, host, port):
        try:
            conn.request(method, path, body=body, headers={
                "User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity",
                "Connection": "close", **(headers or {})})
            conn.sock.settimeout(_remaining(deadline))
            resp = conn.getresponse()
            chunks, size = [], 0
            while size < max_bytes:
                _remaining(deadline)
                chunk = resp.read(min(65536, max_bytes - size))
                if not chunk:
                    break
                size += len(chunk)
                chunks.append(chunk)
            return FetchResult(current, current, resp.status, resp.headers, b"".join(chunks))
        except ssl.SSLError as exc:
            reason = getattr(exc, "verify_message", None) or str(exc.reason or exc)
            raise FetchError("tls_error", f"TLS with {host} failed: {reason}.") from None
        finally:
            conn.close()


def time_to_headers(
    url: str,
    policy: TargetPolicy,
    *,
    timeout: float = 10.0,
    user_agent: str = USER_AGENT,
    connect: SocketConnect | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[int, float]:
    """One GET of ``url`` (redirects not followed): ``(status, ms)`` where ``ms`` runs from
    the request being sent to the response headers being received, as Lighthouse's
    ``server-response-time`` measures the root document (``receiveHeadersStart -
    sendEnd``): name lookup, connection and TLS set-up are left out. The body is not read.
    """
    conn, host, port, path = _pinned(
        normalize_url(url, policy.allow_targets), policy, timeout,
        ssl_context or ssl.create_default_context(), connect or _default_connect)
    with _network_errors(url, host, port):
        try:
            conn.connect()
            conn.request("GET", path, headers={
                "User-Agent": user_agent, "Accept": "text/html,*/*;q=0.8",
                "Accept-Encoding": "identity", "Connection": "close"})
            sent = time.perf_counter()
            resp = conn.getresponse()
            return resp.status, (time.perf_counter() - sent) * 1000
        except ssl.SSLError as exc:
            raise FetchError("tls_error", f"TLS with {host} failed: {exc}.") from None
        finally:
            conn.close()


def measure_response_time(
    url: str,
    policy: TargetPolicy,
    *,
    samples: int = 3,
    timeout: float = 8.0,
    budget: float = 12.0,
    user_agent: str = USER_AGENT,
    connect: SocketConnect | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> dict[str, Any]:
    """The server response time of ``url``: ``samples`` requests one after the other (while
    ``budget`` seconds last), their median and spread (max - min), in whole ms.

    Direct requests outside the browser, through the network guard: what our own Chromium
    does on the same cores does not distort them. Never raises: failures are listed.
    """
    start = time.monotonic()
    times: list[int] = []
    statuses: list[int] = []
    errors: list[str] = []
    for _ in range(max(1, samples)):
        left = budget - (time.monotonic() - start)
        if left <= 0.5:
            break
        try:
            status, ms = time_to_headers(url, policy, timeout=min(timeout, left),
                                         user_agent=user_agent, connect=connect,
                                         ssl_context=ssl_context)
        except (FetchError, TargetError) as exc:
            errors.append(f"{exc.code}: {getattr(exc, 'message', exc)}"[:200])
            continue
        times.append(round(ms))
        statuses.append(status)
    return {
        "url": url,
        "samples_ms": times,
        "statuses": statuses,
        "median_ms": round(statistics.median(times)) if times else None,
        "spread_ms": (max(times) - min(times)) if times else None,
        "errors": errors,
    }


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("timeout", "The fetch took too long.")
    return left
