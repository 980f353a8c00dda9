"""The audit proxy over raw loopback sockets: checks, tunnels, budgets, bad clients."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from ssrf_support.network import PRIVATE_NAMES, PUBLIC_IP, FakeResolver, Rebinding, Tripwire
from ssrf_support.servers import Hit, LoopbackServer, text

from app.audits.engine.netguard import TargetPolicy
from app.audits.engine.proxy import AuditProxy, BackgroundProxy


def _app(hit: Hit) -> tuple[int, dict[str, str], bytes]:
    if hit.path == "/big":
        return 200, {"Content-Type": "application/octet-stream"}, b"z" * 300_000
    return text(f"hello {hit.path}", ctype="text/plain", **{"Keep-Alive": "timeout=5"})


@pytest.fixture
def proxy_env():
    """(server, tripwire, policy-factory): allowlisted loopback origin, fake DNS, tripwire."""
    with LoopbackServer(_app) as server:
        wire = Tripwire({("127.0.0.1", server.port): ("127.0.0.1", server.port),
                         (PUBLIC_IP, 80): ("127.0.0.1", server.port)})
        table = {**PRIVATE_NAMES, "shop.test": [PUBLIC_IP],
                 "rebind.test": Rebinding([PUBLIC_IP], ["10.0.0.9"])}

        def policy() -> TargetPolicy:
            return TargetPolicy(frozenset({f"127.0.0.1:{server.port}"}), FakeResolver(table))

        yield server, wire, policy
        assert wire.unrouted_attempts() == [], "the proxy dialled an address it should not"


def run(proxy: AuditProxy, body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Start ``proxy``, run ``body``, close it, and check no task was left behind."""

    async def main() -> None:
        await proxy.start()
        try:
            await asyncio.wait_for(body(), 20)
        finally:
            await proxy.close()
        assert not proxy._tasks
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


async def exchange(proxy: AuditProxy, data: bytes, *, half_close: bool = False) -> bytes:
    """Send raw bytes to the proxy and read until it closes."""
    port = int(proxy.server.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    if half_close:
        writer.write_eof()
    try:
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


def get(url: str, host: str = "", extra: str = "") -> bytes:
    return f"GET {url} HTTP/1.1\r\nHost: {host or 'x'}\r\n{extra}\r\n".encode()


def test_forwards_allowed_http_and_rewrites_head(proxy_env) -> None:
    server, wire, policy = proxy_env
    proxy = AuditProxy(policy(), connect=wire.connect)

    async def body() -> None:
        hop = "Proxy-Authorization: x\r\nProxy-Connection: keep-alive\r\n"
        reply = await exchange(proxy, get(f"{server.origin}/a?b=1", "spoofed.test", hop))
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and payload == b"hello /a"
        assert b"Connection: close" in head and b"Keep-Alive" not in head

    run(proxy, body)
    hit = server.hits[-1]
    assert (hit.path, hit.query, hit.host) == ("/a", {"b": "1"}, f"127.0.0.1:{server.port}")
    assert "proxy-authorization" not in hit.headers and "proxy-connection" not in hit.headers
    assert proxy.stats["requests"] == 1 and proxy.stats["connections"] == 1
    assert proxy.stats["bytes_in"] > len(b"hello /a") and proxy.stats["bytes_out"] > 0
    assert wire.made == [("127.0.0.1", server.port)]


@pytest.mark.parametrize("target", [
    "http://internal.test/", "http://metadata.test/latest/meta-data/", "http://mapped.test/",
    "http://nat64.test/", "http://sixtofour.test/", "http://ula.test/", "http://cgnat.test/",
    "http://mixed.test/", "http://loop.test/", "http://localhost/", "http://10.0.0.1/",
    "http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://[::ffff:a9fe:a9fe]/",
    "http://2130706433/", "http://0x7f.1/", "http://127.0.0.1:1/", "http://[::1]:80/",
    "http://shop.test:22/", "http://nowhere.test/",
])
@pytest.mark.parametrize("method", ["GET", "CONNECT"])
def test_refuses_private_targets(proxy_env, target: str, method: str) -> None:
    _server, wire, policy = proxy_env
    proxy = AuditProxy(policy(), connect=wire.connect)
    authority = target.split("/")[2]
    if method == "CONNECT" and not authority.endswith("]") and ":" not in authority:
        authority += ":443"
    elif method == "CONNECT" and authority.endswith("]"):
        authority += ":443"
    request = (get(target) if method == "GET"
               else f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())

    async def body() -> None:
        reply = await exchange(proxy, request)
        assert reply.startswith(b"HTTP/1.1 403 Forbidden\r\n")
        assert b"X-PitchFast-Blocked: " in reply

    run(proxy, body)
    assert len(proxy.stats["blocked"]) == 1
    assert proxy.stats["blocked"][0]["code"] in {
        "blocked_address", "port_not_allowed", "dns_failure"}
    assert wire.attempts == [] and proxy.stats["connections"] == 0


def test_connect_tunnel_pipes_bytes_and_websocket_is_checked(proxy_env) -> None:
    server, wire, policy = proxy_env
    proxy = AuditProxy(policy(), connect=wire.connect)

    async def body() -> None:
        reply = await exchange(proxy, (
            f"CONNECT 127.0.0.1:{server.port} HTTP/1.1\r\nHost: x\r\n\r\n"
            f"GET /tunnel HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").encode())
        assert reply.startswith(b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK")
        assert b"Keep-Alive: timeout=5" in reply  # a tunnel is passed through untouched
        assert reply.endswith(b"hello /tunnel")
        ws = (b"CONNECT internal.test:80 HTTP/1.1\r\nHost: internal.test:80\r\n\r\n"
              b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        assert (await exchange(proxy, ws)).startswith(b"HTTP/1.1 403")

    run(proxy, body)
    assert [h.path for h in server.hits] == ["/tunnel"]
    assert [(b["host"], b["port"]) for b in proxy.stats["blocked"]] == [("internal.test", 80)]


def test_dns_rebinding_connects_only_to_checked_address(proxy_env) -> None:
    server, wire, policy = proxy_env
    proxy = AuditProxy(policy(), connect=wire.connect)

    async def body() -> None:
        for round_ in range(6):
            reply = await exchange(proxy, get("http://rebind.test/secret", "rebind.test"))
            assert reply.startswith(b"HTTP/1.1 200" if round_ % 2 == 0 else b"HTTP/1.1 403")

    run(proxy, body)
    assert wire.attempts == [(PUBLIC_IP, 80)] * 3  # never 10.0.0.9
    assert [b["code"] for b in proxy.stats["blocked"]] == ["blocked_address"] * 3
    assert [h.host for h in server.hits] == ["rebind.test"] * 3


@pytest.mark.parametrize(("data", "status"), [
    (b"NONSENSE\r\n\r\n", b"400"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),  # origin-form: we are not a web server
    (b"GET https://shop.test/ HTTP/1.1\r\n\r\n", b"400"),
    (b"GET http://shop.test/ HTTP/2.0\r\n\r\n", b"400"),
    (b"CONNECT shop.test HTTP/1.1\r\n\r\n", b"400"),
    (b"CONNECT shop.test:99999 HTTP/1.1\r\n\r\n", b"400"),
    (b"GET http://shop.test/ HTTP/1.1\r\nBad Header: x\r\n\r\n", b"400"),
    (b"GET http://shop.test/ HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", b"431"),
    (b"GET http://shop.test/ HTTP/1.1\r\nHost: x\r\n", b"400"),  # half-closed mid-head
    (b"", b""),
])
def test_malformed_requests(proxy_env, data: bytes, status: bytes) -> None:
    _server, wire, policy = proxy_env
    proxy = AuditProxy(policy(), connect=wire.connect)

    async def body() -> None:
        reply = await exchange(proxy, data, half_close=True)
        assert reply[9:12] == status
        assert wire.attempts == []

    run(proxy, body)


def test_slow_client_times_out_and_half_close_still_gets_reply(proxy_env) -> None:
    server, wire, policy = proxy_env
    proxy = AuditProxy(policy(), connect=wire.connect, head_timeout=0.3)

    async def body() -> None:
        assert (await exchange(proxy, b"GET http://shop.te")).startswith(b"HTTP/1.1 408")
        reply = await exchange(proxy, get(f"{server.origin}/hc"), half_close=True)
        assert reply.endswith(b"hello /hc")

    run(proxy, body)


def test_budgets_refuse_and_record(proxy_env) -> None:
    server, wire, policy = proxy_env
    by_count = AuditProxy(policy(), connect=wire.connect, max_requests=2)

    async def count() -> None:
        replies = [await exchange(by_count, get(f"{server.origin}/{i}")) for i in range(4)]
        assert [r[9:12] for r in replies] == [b"200", b"200", b"403", b"403"]

    run(by_count, count)
    assert by_count.stats["budget_exceeded"] == "requests"
    assert [b["code"] for b in by_count.stats["blocked"]] == ["budget_exceeded"] * 2

    by_bytes = AuditProxy(policy(), connect=wire.connect, max_bytes=100_000)

    async def size() -> None:
        big = await exchange(by_bytes, get(f"{server.origin}/big"))
        assert len(big) < 200_000
        assert (await exchange(by_bytes, get(f"{server.origin}/small")))[9:12] == b"403"

    run(by_bytes, size)
    assert by_bytes.stats["budget_exceeded"] == "bytes"


def test_connection_budget_and_close_kills_tunnels(proxy_env) -> None:
    server, wire, policy = proxy_env
    proxy = AuditProxy(policy(), connect=wire.connect, max_connections=1)
    port = int(server.port)

    async def body() -> None:
        p = int(proxy.server.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", p)
        writer.write(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        second = await exchange(proxy, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
        assert second.startswith(b"HTTP/1.1 403")
        assert proxy.stats["budget_exceeded"] == "connections"
        assert await asyncio.wait_for(reader.read(), 5) == b""  # budget kill closes the tunnel
        writer.close()

    run(proxy, body)

    idle = AuditProxy(policy(), connect=wire.connect)

    async def held_open() -> None:
        p = int(idle.server.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", p)
        writer.write(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
        await idle.close()  # close() must end the open tunnel, not wait for it
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()

    run(idle, held_open)


def test_wall_time_budget_ends_tunnels(proxy_env) -> None:
    server, wire, policy = proxy_env
    proxy = AuditProxy(policy(), connect=wire.connect, max_seconds=0.3)

    async def body() -> None:
        p = int(proxy.server.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", p)
        writer.write(f"CONNECT 127.0.0.1:{server.port} HTTP/1.1\r\n\r\n".encode())
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        assert await asyncio.wait_for(reader.read(), 5) == b""  # cut when time is up
        writer.close()
        assert (await exchange(proxy, get(f"{server.origin}/late")))[9:12] == b"403"

    run(proxy, body)
    assert proxy.stats["budget_exceeded"] == "time"


def test_upstream_failure_is_502_and_recorded(proxy_env) -> None:
    _server, _wire, policy = proxy_env
    closed = Tripwire()  # routes nothing: the "public" shop.test cannot be reached
    proxy = AuditProxy(policy(), connect=closed.connect)

    async def body() -> None:
        assert (await exchange(proxy, get("http://shop.test/")))[9:12] == b"502"

    run(proxy, body)
    assert closed.attempts == [(PUBLIC_IP, 80)] and proxy.stats["errors"][0]["ip"] == PUBLIC_IP


def test_background_proxy_for_sync_callers(proxy_env) -> None:
    server, wire, policy = proxy_env
    with BackgroundProxy(policy(), connect=wire.connect) as proxy:
        port = int(proxy.server.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(get(f"{server.origin}/sync"))
            chunks = iter(lambda: sock.recv(65536), b"")
            assert b"".join(chunks).endswith(b"hello /sync")
    assert proxy.stats["requests"] == 1
