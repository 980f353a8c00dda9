"""Unit tests for the network guard: URL normalisation, address classes, the policy,
and the guarded server-side fetch (over loopback servers behind a fake resolver)."""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path

import pytest
from ssrf_support.network import PRIVATE_NAMES, PUBLIC_IP, FakeResolver, Rebinding, Tripwire
from ssrf_support.servers import Hit, LoopbackServer, make_certs, text

from app.audits.engine.fetch import FetchError, guarded_fetch
from app.audits.engine.netguard import (
    SystemResolver,
    TargetError,
    TargetPolicy,
    is_global_address,
    normalize_url,
    parse_allow_targets,
)

ALLOW = frozenset({"127.0.0.1:8080", "[::1]:9000", "dev.local:5000"})

GOOD = [
    ("example.com", "http://example.com/"),
    ("  \tHTTPS://Example.COM/Path?q=1#frag \n", "https://example.com/Path?q=1"),
    ("example.com.", "http://example.com/"),
    ("//example.com/x", "http://example.com/x"),
    ("http://example.com:80/", "http://example.com/"),
    ("https://example.com:443", "https://example.com/"),
    ("http://example.com:/a b", "http://example.com/a%20b"),
    ("bücher.de/ä", "http://xn--bcher-kva.de/%C3%A4"),
    ("http://ＥＸＡＭＰＬＥ。com/", "http://example.com/"),
    ("http://8.8.8.8/", "http://8.8.8.8/"),
    ("http://134744072/", "http://8.8.8.8/"),
    ("http://0x8.0x8.0x8.0x8/", "http://8.8.8.8/"),
    ("http://010.010.010.010/", "http://8.8.8.8/"),
    ("http://[2606:4700:4700:0::1111]/", "http://[2606:4700:4700::1111]/"),
    ("http://127.0.0.1:8080/admin", "http://127.0.0.1:8080/admin"),
    ("http://2130706433:8080/", "http://127.0.0.1:8080/"),
    ("http://[0:0::1]:9000/", "http://[::1]:9000/"),
    ("dev.local:5000", "http://dev.local:5000/"),
    ("http://my_host.example.com/", "http://my_host.example.com/"),
]

REJECTED: dict[str, list[str | None]] = {
    "invalid_url": [
        "", "   ", None, "java\tscript:alert(1)", "http://exa\nmple.com/", "http:example.com",
        "http://", "http:///x", "http://.", "http://a..b/", "http://exa mple.com/",
        "http://-bad-.com/", "http://a%2e.com/", "http://evil.com\\@127.0.0.1/",
        "http://256.0.0.1/", "http://1.2.3.4.5/", "http://0x1ffffffff/", "http://[::1/",
        "http://[fe80::1%25eth0]/", "http://example.com:99999/", "http://example.com:8o/",
    ],
    "unsupported_scheme": [
        "javascript:alert(1)", "JaVaScRiPt:alert(1)", "file:///etc/passwd", "data:text/html,<b>x",
        "chrome://settings", "ftp://example.com/", "gopher://example.com:70/", "about:blank",
        "view-source:http://example.com", "ws://example.com/", "wss://example.com/",
        "blob:https://example.com/uuid", "mailto:a@example.com", "dict://example.com:11211/",
    ],
    "userinfo_not_allowed": [
        "http://user@example.com/", "http://user:pw@example.com/", "http://example.com@127.0.0.1/",
    ],
    "port_not_allowed": [
        "http://example.com:8080/", "https://example.com:80/", "localhost:3000",
        "http://127.0.0.1:8081/", "http://[::1]:9001/",
    ],
    "blocked_address": [
        "http://localhost/", "http://app.localhost/", "http://127.0.0.1/", "http://127.1/",
        "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/", "http://0177.0.0.01/",
        "http://127.0.0.1./", "http://１２７.０.０.１/", "http://0/", "http://10.0.0.1/",
        "http://192.168.1.1/", "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/", "http://100.100.100.200/", "http://[::1]/", "http://[::]/",
        "http://[::ffff:127.0.0.1]/", "http://[::ffff:8.8.8.8]/", "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::]/", "http://[fd00:ec2::254]/", "http://[fe80::1]/",
        "http://[2001:db8::1]/", "http://224.0.0.1/",
    ],
}
BAD = [(raw, code) for code, raws in REJECTED.items() for raw in raws]


@pytest.mark.parametrize(("raw", "expected"), GOOD)
def test_normalize_url_accepts(raw: str, expected: str) -> None:
    assert normalize_url(raw, ALLOW) == expected


@pytest.mark.parametrize(("raw", "code"), BAD)
def test_normalize_url_rejects(raw: str, code: str) -> None:
    with pytest.raises(TargetError) as info:
        normalize_url(raw, ALLOW)  # type: ignore[arg-type]
    assert info.value.code == code
    assert info.value.message.endswith(".")


@pytest.mark.parametrize("ip", [
    "0.0.0.0", "10.1.2.3", "100.64.0.1", "127.0.0.1", "127.255.255.254", "169.254.169.254",
    "172.31.255.255", "192.0.0.192", "192.0.2.1", "192.168.0.1", "198.18.0.1", "198.51.100.7",
    "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "100.100.100.200", "::", "::1", "::ffff:8.8.8.8", "::ffff:169.254.169.254", "::8.8.8.8",
    "64:ff9b::808:808", "64:ff9b:1::1", "2002:808:808::1", "2001:0:4136:e378::1",
    "2001:db8::1", "fc00::1", "fd00:ec2::254", "fe80::1", "fe80::1%eth0", "ff02::1",
    "100::1", "3fff::1", "", "not-an-ip", "1.2.3", "8.8.8.8.8",
])
def test_not_global(ip: str) -> None:
    assert is_global_address(ip) is False


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", PUBLIC_IP, "2606:4700::1111",
                                "2001:4860:4860::8888", "2a00:1450:4001::200e"])
def test_global(ip: str) -> None:
    assert is_global_address(ip) is True


def test_parse_allow_targets() -> None:
    keys = parse_allow_targets(["LocalHost.:8000", "[0::1]:9", "0x7f.1:80"])
    assert keys == {"localhost:8000", "[::1]:9", "127.0.0.1:80"}
    with pytest.raises(ValueError):
        parse_allow_targets(["no-port"])


def test_policy_refuses_any_private_answer() -> None:
    policy = TargetPolicy(resolver=FakeResolver({**PRIVATE_NAMES, "shop.test": [PUBLIC_IP]}))
    assert policy.check("shop.test", 443) == PUBLIC_IP
    assert policy.check("8.8.8.8", 80) == "8.8.8.8"
    for name in PRIVATE_NAMES:
        with pytest.raises(TargetError) as info:
            policy.check(name, 80)
        assert info.value.code == "blocked_address", name
    for host, port, code in [
        ("shop.test", 22, "port_not_allowed"), ("nope.test", 80, "dns_failure"),
        ("[::1]", 80, "blocked_address"), ("localhost", 80, "blocked_address"),
        ("bad host", 80, "invalid_url"), ("shop.test", 0, "invalid_url"),
    ]:
        with pytest.raises(TargetError) as info:
            policy.check(host, port)
        assert info.value.code == code


def test_policy_allowlist_is_exact_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    resolver = FakeResolver({"dev.test": ["127.0.0.1"]})
    policy = TargetPolicy(frozenset({"dev.test:5000", "127.0.0.1:8080"}), resolver)
    with caplog.at_level(logging.WARNING, logger="app.audits.engine.netguard"):
        assert policy.check("DEV.test.", 5000) == "127.0.0.1"
        assert policy.check("0x7f.1", 8080) == "127.0.0.1"
    assert [r.getMessage() for r in caplog.records] == [
        "audit allowlist used: dev.test:5000", "audit allowlist used: 127.0.0.1:8080"]
    for host, port in [("dev.test", 80), ("127.0.0.1", 8081), ("127.0.0.2", 8080)]:
        with pytest.raises(TargetError):
            policy.check(host, port)


def test_policy_rebinding_checks_every_lookup() -> None:
    resolver = FakeResolver({"rebind.test": Rebinding([PUBLIC_IP], ["10.0.0.9"])})
    policy = TargetPolicy(resolver=resolver)
    assert policy.check("rebind.test", 80) == PUBLIC_IP
    with pytest.raises(TargetError):
        policy.check("rebind.test", 80)


def test_system_resolver_localhost_is_refused() -> None:
    answers = SystemResolver(timeout=5).resolve("localhost", 80)  # /etc/hosts, no packets
    assert answers and not any(is_global_address(a) for a in answers)
    with pytest.raises(TargetError):
        TargetPolicy().check("localhost.", 80)


# --- guarded_fetch over a fake internet: shop.test -> PUBLIC_IP -> loopback servers ---------


@pytest.fixture(scope="module")
def guard_certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_certs(tmp_path_factory.mktemp("certs"), "shop.test", "www.shop.test")


def _site(hit: Hit) -> tuple[int, dict[str, str], bytes]:
    q = hit.query
    if hit.path == "/redirect":
        return text("", int(q.get("code", "302")), Location=q["to"])
    if hit.path == "/loop":
        return text("", 302, Location="/loop")
    if hit.path == "/big":
        return 200, {"Content-Type": "text/plain"}, b"x" * 50_000
    if hit.path == "/slow":
        _RELEASE.wait(5)
    return text(f"{hit.method} {hit.path} on {hit.host}", ctype="text/plain")


_RELEASE = threading.Event()


@pytest.fixture
def guard_internet(guard_certs: tuple[Path, Path, Path]):
    ca, cert, key = guard_certs
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(ca))
    resolver = FakeResolver({"shop.test": [PUBLIC_IP], "other.test": [PUBLIC_IP], **PRIVATE_NAMES})
    _RELEASE.clear()
    with LoopbackServer(_site) as plain, LoopbackServer(_site, tls=server_ctx) as secure:
        wire = Tripwire({(PUBLIC_IP, 80): ("127.0.0.1", plain.port),
                         (PUBLIC_IP, 443): ("127.0.0.1", secure.port)})
        yield TargetPolicy(resolver=resolver), wire, client_ctx, plain, secure
        _RELEASE.set()
    assert wire.unrouted_attempts() == []


def test_fetch_follows_http_to_https_and_reports_tls(guard_internet) -> None:
    policy, wire, ctx, plain, secure = guard_internet
    url = "http://shop.test/redirect?code=301&to=https://www.shop.test/robots.txt"
    result = guarded_fetch(url, policy, connect=wire.connect_sync, ssl_context=ctx)
    assert (result.status, result.final_url) == (200, "https://www.shop.test/robots.txt")
    assert result.redirects == [(301, "https://www.shop.test/robots.txt")]
    assert result.body == b"GET /robots.txt on www.shop.test"
    assert result.headers["content-TYPE"] == "text/plain"
    assert result.tls["valid"] is True and result.tls["issuer"] == "PitchFast Test CA"
    assert 18 <= result.tls["days_left"] <= 20
    assert wire.made == [(PUBLIC_IP, 80), (PUBLIC_IP, 443)]


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("target", ["http://internal.test/", "http://metadata.test/latest",
                                    "https://mapped.test/", "http://169.254.169.254/",
                                    "http://[::1]/", "http://0x7f.1/", "file:///etc/passwd",
                                    "http://shop.test:8080/"])
def test_fetch_redirect_to_private_is_refused(guard_internet, code: int, target: str) -> None:
    policy, wire, ctx, *_ = guard_internet
    with pytest.raises(TargetError) as info:
        guarded_fetch(f"http://shop.test/redirect?code={code}&to={target}", policy,
                      connect=wire.connect_sync, ssl_context=ctx, method="POST")
    assert info.value.code in {"blocked_address", "unsupported_scheme", "port_not_allowed"}
    assert wire.attempts == [(PUBLIC_IP, 80)]  # only the first, public hop was dialled


@pytest.mark.parametrize(("url", "kwargs", "code"), [
    ("http://shop.test/loop", {"max_redirects": 3}, "too_many_redirects"),
    ("http://shop.test/big", {"max_bytes": 10_000}, "too_large"),
    ("http://shop.test/slow", {"timeout": 0.5}, "timeout"),
    ("https://other.test/", {}, "tls_error"),
    ("http://nowhere.test/", {}, "dns_failure"),
])
def test_fetch_errors(guard_internet, url: str, kwargs: dict, code: str) -> None:
    policy, wire, ctx, *_ = guard_internet
    with pytest.raises(FetchError) as info:
        guarded_fetch(url, policy, connect=wire.connect_sync, ssl_context=ctx, **kwargs)
    assert info.value.code == code
    if code == "tls_error":
        assert info.value.tls["valid"] is False and "other.test" in info.value.tls["error"]


def test_fetch_untrusted_certificate_and_refused_connection(guard_internet) -> None:
    policy, wire, _ctx, *_ = guard_internet
    with pytest.raises(FetchError) as info:  # system trust store does not know the test CA
        guarded_fetch("https://shop.test/", policy, connect=wire.connect_sync)
    assert info.value.code == "tls_error"
    lonely, closed = TargetPolicy(resolver=FakeResolver({"down.test": ["8.8.4.4"]})), Tripwire()
    with pytest.raises(FetchError) as info:
        guarded_fetch("http://down.test/", lonely, connect=closed.connect_sync)
    assert info.value.code == "connection_refused"
    assert closed.refused == [("8.8.4.4", 80)]


def test_fetch_initial_url_is_checked_before_any_connect(guard_internet) -> None:
    policy, wire, *_ = guard_internet
    for url in ["http://internal.test/robots.txt", "http://10.0.0.1/", "gopher://shop.test/",
                "http://user@shop.test/", "http://mixed.test/"]:
        with pytest.raises(TargetError):
            guarded_fetch(url, policy, connect=wire.connect_sync)
    assert wire.attempts == []
