"""The filtering forward proxy that all browser traffic of an audit goes through.

One :class:`AuditProxy` per audit, on ``127.0.0.1`` and an ephemeral port. For
every absolute-form HTTP request and every ``CONNECT`` tunnel (https, ws, wss)
it asks :class:`~app.audits.engine.netguard.TargetPolicy` for the one address it may
use and connects to exactly that address, so redirects, sub-resources, popups
and DNS rebinding are all checked (RELIABILITY.md §1). Refusals get a 403 and
land in ``stats["blocked"]``; budgets (requests, bytes, concurrent upstream
connections) end the audit's traffic once exceeded.

How the engine launches Chromium (verified by tests/audits/test_ssrf_browser.py
on Debian Chromium with Playwright's per-context proxy)::

    browser = pw.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=chromium_args(),                        # QUIC off, no direct UDP, no own DNS
        proxy={"server": "http://127.0.0.1:9", "bypass": "<-loopback>"},  # fail closed
    )
    with BackgroundProxy(policy) as proxy:          # sync engine; async: AuditProxy
        context = browser.new_context(
            proxy={"server": proxy.server, "bypass": "<-loopback>"},
            service_workers="block", accept_downloads=False,
        )
        ...                                          # page.goto(url) etc.
        context.close()
        proxy.stats                                  # blocked requests, budgets

``bypass="<-loopback>"`` matters: without it Chromium sends localhost, 127/8,
[::1], 169.254/16 and fe80::/10 *directly*, skipping the proxy (its "implicit
bypass rules"). The launch-level proxy on a dead loopback port makes any context
created without a proxy fail closed instead of reaching the network, and
``--host-resolver-rules`` (in :func:`chromium_args`) leaves Chromium unable to
resolve any name itself, so nothing can go around the proxy by name (an engine
with its own flag list should append ``f"--host-resolver-rules={NO_OWN_DNS}"``). A blocked
main document shows up as a 403 response (header ``X-PitchFast-Blocked: code``)
for http, or ``net::ERR_TUNNEL_CONNECTION_FAILED`` for https; the reason is in
``proxy.stats["blocked"]``.

Verified here (Playwright 1.65, Debian Chromium 156): per-context ``proxy=`` works
and Playwright passes ``bypass`` straight to Chromium; ``service_workers="block"``
stops registration even from a fresh about:blank iframe (and a worker that did
register would still be proxied). Chromium refuses its "unsafe ports" (1, 25, …)
itself, before the proxy. Close the *context* at the end of an audit: closing a
page whose document was refused by the proxy could hang in tests.

``stats``: ``requests``, ``bytes_in``/``bytes_out`` (upstream bytes, both ways),
``connections`` (upstream dials), ``blocked`` (``host``, ``port``, ``code``,
``reason``, ``target``, ``nxdomain``: the name does not exist), ``errors`` (dials that
failed), ``budget_exceeded``
(``None`` or ``"requests"``, ``"bytes"``, ``"connections"``, ``"time"``).
Requests inside an https tunnel are invisible to the proxy: a tunnel counts once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from app.audits.engine.netguard import NameNotFound, TargetError, TargetPolicy

log = logging.getLogger(__name__)

Connect = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]

CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
NO_OWN_DNS = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
MAX_HEAD = 64 * 1024
_HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te"}


def chromium_args(host_resolver_rules: str = NO_OWN_DNS) -> list[str]:
    """Chromium flags for audits. Proxied requests are unaffected by the resolver rules."""
    return [*CHROMIUM_ARGS, f"--host-resolver-rules={host_resolver_rules}"]


class _Refused(Exception):
    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


class AuditProxy:
    """Asyncio HTTP forward proxy enforcing a :class:`TargetPolicy` and per-audit budgets."""

    def __init__(
        self,
        policy: TargetPolicy,
        *,
        max_requests: int = 800,
        max_bytes: int = 60_000_000,
        max_connections: int = 64,
        connect: Connect | None = None,
        head_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        idle_timeout: float = 60.0,
        max_seconds: float | None = None,
    ) -> None:
        self.policy = policy
        self.max_requests, self.max_bytes, self.max_connections = (
            max_requests, max_bytes, max_connections)
        self._connect: Connect = connect or asyncio.open_connection
        self.head_timeout, self.connect_timeout, self.idle_timeout = (
            head_timeout, connect_timeout, idle_timeout)
        self.max_seconds = max_seconds  # None: the engine's watchdog owns wall time
        self.server = ""
        self.stats: dict[str, Any] = {
            "requests": 0, "bytes_in": 0, "bytes_out": 0, "connections": 0,
            "blocked": [], "errors": [], "budget_exceeded": None,
        }
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # sessions, cancelled by close()
        self._handlers: set[asyncio.Task[Any]] = set()  # asyncio's callback tasks, awaited
        self._writers: set[asyncio.StreamWriter] = set()
        self._upstreams: set[asyncio.StreamWriter] = set()
        self._open_upstream = 0
        self._timer: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        """Listen on 127.0.0.1 (ephemeral port) and set :attr:`server`."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=MAX_HEAD)
        port = self._server.sockets[0].getsockname()[1]
        self.server = f"http://127.0.0.1:{port}"
        if self.max_seconds is not None:
            self._timer = asyncio.get_running_loop().call_later(
                self.max_seconds, self._exceed, "time")

    async def close(self) -> None:
        """Stop listening and kill every open connection and tunnel."""
        if self._timer is not None:
            self._timer.cancel()
        if self._server is not None:
            self._server.close()
        self._abort_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> AuditProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _abort_all(self, *, clients: bool = True) -> None:
        for writer in list(self._upstreams) + (list(self._writers) if clients else []):
            writer.transport.abort()

    def _exceed(self, budget: str) -> None:
        if self.stats["budget_exceeded"] is None:
            self.stats["budget_exceeded"] = budget
            log.warning("audit proxy budget exceeded: %s", budget)
            self._abort_all(clients=False)  # ends every tunnel; refused clients still get a 403

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The work runs in an inner task that close() may cancel; the task asyncio made for
        # this callback is never cancelled (3.11 logs an error for a cancelled one).
        outer = asyncio.current_task()
        assert outer is not None
        inner = asyncio.create_task(self._session(reader, writer))
        self._tasks.add(inner)
        self._handlers.add(outer)
        try:
            await asyncio.wait([inner])
        finally:
            self._tasks.discard(inner)
            self._handlers.discard(outer)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except _Refused as refusal:
            await _reply(writer, refusal.status, refusal.code, refusal.reason)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("audit proxy: unexpected error")
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.head_timeout)
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise _Refused(400, "bad_request", "incomplete request") from None
            return
        except asyncio.LimitOverrunError:
            raise _Refused(431, "bad_request", "request head too large") from None
        except TimeoutError:
            raise _Refused(408, "bad_request", "request head too slow") from None
        method, target, headers = _parse_head(head)
        self.stats["requests"] += 1
        if method == "CONNECT":
            host, port = _split_host_port(target)
        else:
            parts = urlsplit(target)
            if parts.scheme.lower() != "http" or not parts.hostname:
                raise _Refused(400, "bad_request", "only absolute http:// URLs and CONNECT")
            try:
                host, port = parts.hostname, parts.port or 80
            except ValueError:
                raise _Refused(400, "bad_request", "bad port") from None
        ip = await self._authorize(host, port, target)
        up_reader, up_writer = await self._open(host, port, ip)
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                request_head = _origin_head(method, target, headers)
                self._count("bytes_out", len(request_head))
                up_writer.write(request_head)
            await self._pipe(reader, writer, up_reader, up_writer, rewrite=method != "CONNECT")
        finally:
            self._open_upstream -= 1
            self._upstreams.discard(up_writer)
            up_writer.transport.abort()

    async def _authorize(self, host: str, port: int, target: str) -> str:
        """Budget and policy checks; returns the checked IP or raises _Refused (recorded)."""
        try:
            if self.stats["budget_exceeded"] is None and self.stats["requests"] > self.max_requests:
                self._exceed("requests")
            if self._open_upstream >= self.max_connections:
                self._exceed("connections")
            if self.stats["budget_exceeded"]:
                raise TargetError("budget_exceeded",
                                  f"audit {self.stats['budget_exceeded']} budget exceeded")
            return await asyncio.to_thread(self.policy.check, host, port)
        except TargetError as exc:
            if len(self.stats["blocked"]) < 1000:
                self.stats["blocked"].append({"host": host, "port": port, "code": exc.code,
                                              "reason": exc.message, "target": target[:300],
                                              "nxdomain": isinstance(exc, NameNotFound)})
            log.info("audit proxy refused %s:%s (%s)", host, port, exc.code)
            raise _Refused(403, exc.code, exc.message) from None

    async def _open(self, host: str, port: int, ip: str
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            up_reader, up_writer = await asyncio.wait_for(
                self._connect(ip, port), self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            if len(self.stats["errors"]) < 1000:
                self.stats["errors"].append(
                    {"host": host, "port": port, "ip": ip, "reason": str(exc) or "timeout"})
            raise _Refused(502, "connect_failed", f"cannot connect to {host}:{port}") from None
        self.stats["connections"] += 1
        self._open_upstream += 1
        self._upstreams.add(up_writer)
        return up_reader, up_writer

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter,
                    *, rewrite: bool) -> None:
        """Copy both ways until the upstream side ends; a client half-close is passed on."""
        upload = asyncio.create_task(self._copy(reader, up_writer, "bytes_out", rewrite=False))
        download = asyncio.create_task(self._copy(up_reader, writer, "bytes_in", rewrite=rewrite))
        try:
            done, _ = await asyncio.wait({upload, download}, return_when=asyncio.FIRST_COMPLETED)
            if download not in done and upload.result():
                await download
        finally:
            for task in (upload, download):
                task.cancel()
            await asyncio.gather(upload, download, return_exceptions=True)

    async def _copy(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, counter: str,
                    *, rewrite: bool) -> bool:
        """Copy until EOF (True) or error/budget (False), counting bytes."""
        try:
            if rewrite:  # first response head: make sure the client closes after it
                head = await asyncio.wait_for(src.readuntil(b"\r\n\r\n"), self.idle_timeout)
                self._count(counter, len(head))
                dst.write(_close_response_head(head))
            while not self.stats["budget_exceeded"]:
                data = await asyncio.wait_for(src.read(65536), self.idle_timeout)
                if not data:
                    if dst.can_write_eof():
                        dst.write_eof()
                    return True
                self._count(counter, len(data))
                dst.write(data)
                await dst.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        return False

    def _count(self, counter: str, n: int) -> None:
        self.stats[counter] += n
        if self.stats["bytes_in"] + self.stats["bytes_out"] > self.max_bytes:
            self._exceed("bytes")


def _parse_head(head: bytes) -> tuple[str, str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not parts[0].isalpha():
        raise _Refused(400, "bad_request", "malformed request line")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or " " in name:
            raise _Refused(400, "bad_request", "malformed header")
        headers.append((name, value.strip()))
    return parts[0].upper(), parts[1], headers


def _split_host_port(target: str) -> tuple[str, int]:
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _Refused(400, "bad_request", "CONNECT needs host:port")
    return host, int(port)


def _origin_head(method: str, target: str, headers: list[tuple[str, str]]) -> bytes:
    """Rewrite an absolute-form request head for the origin server."""
    parts = urlsplit(target)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    upgrade = any(n.lower() == "connection" and "upgrade" in v.lower() for n, v in headers)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc.rpartition('@')[2]}"]
    lines += [f"{n}: {v}" for n, v in headers if n.lower() not in _HOP_HEADERS | {"host"}]
    lines.append("Connection: upgrade" if upgrade else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _close_response_head(head: bytes) -> bytes:
    lines = head.decode("latin-1").split("\r\n")
    if lines[0].split(" ")[1:2] == ["101"]:
        return head
    kept = [ln for ln in lines[1:] if ln and ln.partition(":")[0].strip().lower() not in
            _HOP_HEADERS]
    return ("\r\n".join([lines[0], *kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1")


async def _reply(writer: asyncio.StreamWriter, status: int, code: str, reason: str) -> None:
    body = f"PitchFast audit proxy refused this request: {code}\n".encode()
    titles = {400: "Bad Request", 403: "Forbidden", 408: "Request Timeout",
              431: "Request Header Fields Too Large", 502: "Bad Gateway"}
    head = (f"HTTP/1.1 {status} {titles.get(status, 'Error')}\r\nContent-Type: text/plain; "
            f"charset=utf-8\r\nContent-Length: {len(body)}\r\nX-PitchFast-Blocked: {code}\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n")
    try:
        writer.write(head.encode("latin-1") + body)
        await asyncio.wait_for(writer.drain(), 5)
    except (OSError, TimeoutError):
        pass
    log.debug("audit proxy reply %s %s: %s", status, code, reason)


class BackgroundProxy:
    """Run an :class:`AuditProxy` on its own event-loop thread, for sync Playwright code.

    ``with BackgroundProxy(policy, max_requests=...) as proxy: ...`` yields the
    started proxy; leaving the block closes it and joins the thread.
    """

    def __init__(self, policy: TargetPolicy, **options: Any) -> None:
        self.proxy = AuditProxy(policy, **options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="audit-proxy",
                                        daemon=True)

    def __enter__(self) -> AuditProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(10)
        return self.proxy

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.proxy.close(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
