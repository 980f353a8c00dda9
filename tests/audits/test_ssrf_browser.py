"""SSRF matrix in real Chromium: every delivery vector × every URL form goes through
the audit proxy and is refused; nothing reaches a non-allowed address.

Safety: the proxy dials through a tripwire (only routed pairs, only loopback), the
fake resolver owns every test name, and Chromium runs with host-resolver rules
that map anything it would dial *itself* onto a loopback connection counter. So a
proxy bypass shows up as a counted loopback connection, never as a packet out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from ssrf_support.attack_pages import SHARED_PAGE, VECTORS, attack_site, marked, ws_url
from ssrf_support.network import PRIVATE_NAMES, REBIND_PUBLIC_IP, FakeResolver, Rebinding, Tripwire
from ssrf_support.servers import ConnectionCounter, LoopbackServer, text

from app.audits.engine.netguard import TargetPolicy, canonical_host, is_global_address
from app.audits.engine.proxy import AuditProxy, BackgroundProxy, chromium_args

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian Chromium"),
]
log = logging.getLogger(__name__)
CONTEXT = {"service_workers": "block", "accept_downloads": False}
PAGES = int(os.environ.get("SSRF_PAGES", "6"))  # pages at once; 2 CPUs do not like more
CONTEXTS = int(os.environ.get("SSRF_CONTEXTS", "3"))


def url_forms(secret: int) -> dict[str, str]:
    """Targets: names the fake resolver maps off-limits, IP literals, other loopback ports."""
    return {
        "name->10.0.0.5": "http://internal.test/", "https name->10.0.0.5": "https://internal.test/",
        "name->metadata": "http://metadata.test/latest/meta-data/",
        "name->::ffff:10.0.0.1": "http://mapped.test/", "name->NAT64": "http://nat64.test/",
        "name->6to4": "http://sixtofour.test/", "name->fd00:ec2::254": "http://ula.test/",
        "name->public+private": "http://mixed.test/", "name->127.0.0.1": "http://loop.test/",
        "169.254.169.254": "http://169.254.169.254/latest/", "10.0.0.1": "http://10.0.0.1/",
        "[fd00:ec2::254]": "http://[fd00:ec2::254]/",
        "127.0.0.1 other port": f"http://127.0.0.1:{secret}/",
        "0x7f.1 other port": f"http://0x7f.1:{secret}/",
        "2130706433 other port": f"http://2130706433:{secret}/",
        "localhost other port": f"http://localhost:{secret}/",
        "[::1] other port": f"http://[::1]:{secret}/",
    }


@dataclass
class Env:
    origin: str
    policy: TargetPolicy
    wire: Tripwire


def _refused(proxy: AuditProxy, probe: str, vector: str) -> bool:
    """Did the proxy refuse the request this vector made for ``probe``?"""
    parts = urlsplit(probe)
    want = (canonical_host(parts.hostname or ""), parts.port or
            (443 if parts.scheme in ("https", "wss") else 80))
    for entry in proxy.stats["blocked"]:
        if (canonical_host(entry["host"]), entry["port"]) != want:
            continue
        if parts.hostname and parts.hostname.endswith(".test"):
            return True  # the sub-domain already names the vector
        tunnel = "://" not in entry["target"]
        if tunnel == (vector == "websocket") and (
                tunnel or urlsplit(entry["target"]).path == f"/{vector}"):
            return True
    return False


async def _until(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def _form(browser: Browser, env: Env, base: str, pages: asyncio.Semaphore
                ) -> dict[str, str]:
    """All vectors against one URL form: one proxy and one context (like one audit)."""
    groups = [[v] for v in VECTORS if v not in SHARED_PAGE] + [list(SHARED_PAGE)]

    async def limited(group: list[str]) -> dict[str, str]:
        async with pages:
            return await _vectors(ctx, proxy, env, base, group)

    async with AuditProxy(env.policy, connect=env.wire.connect) as proxy:
        ctx = await browser.new_context(
            proxy={"server": proxy.server, "bypass": "<-loopback>"}, **CONTEXT)
        try:
            found = await asyncio.gather(*(limited(g) for g in groups))
        finally:
            await ctx.close()  # (closing pages one by one can hang on refused documents)
    return {vector: result for part in found for vector, result in part.items()}


async def _vectors(ctx: BrowserContext, proxy: AuditProxy, env: Env, base: str,
                   vectors: list[str]) -> dict[str, str]:
    """Open one page that requests ``base`` by ``vectors``; report what the proxy saw."""
    page = await ctx.new_page()
    first = marked(base, vectors[0])
    if vectors == ["initial"]:
        url = first
    elif vectors[0].startswith("redirect-"):
        url = f"{env.origin}/redirect/{vectors[0][9:]}?t={quote(first)}"
    else:
        url = f"{env.origin}/v/{'+'.join(vectors)}?t={quote(base)}"
    try:
        await page.goto(url, wait_until="commit", timeout=10000)
        if "popup" in vectors:
            await page.click("#go", timeout=10000)
    except PlaywrightError:
        pass  # a refused main document is an error page: fine, the proxy decides below
    results = {}
    for vector in vectors:
        target = marked(base, vector)
        if vector == "service-worker":
            results[vector] = await _service_worker(page, proxy, target)
            continue
        probe = ws_url(target) if vector == "websocket" else target
        seen = await _until(lambda probe=probe, vector=vector: _refused(proxy, probe, vector))
        results[vector] = "refused" if seen else "NOT SEEN"
    return results


async def _service_worker(page: Page, proxy: AuditProxy, target: str) -> str:
    await page.wait_for_function("document.title.startsWith('sw ')", timeout=8000)
    title = await page.title()
    if "registered" in title:  # then its install fetch must have been refused
        return "sw registered, fetch refused" if await _until(
            lambda: _refused(proxy, target, "service-worker")) else "NOT SEEN"
    return title


async def _launch(pw, catcher: int) -> Browser:
    rules = f"MAP * 127.0.0.1:{catcher}, EXCLUDE 127.0.0.1"  # own DNS/dials -> counter
    return await pw.chromium.launch(
        executable_path=CHROMIUM, args=chromium_args(rules),
        proxy={"server": "http://127.0.0.1:9", "bypass": "<-loopback>"})


@pytest.mark.slow
def test_ssrf_matrix_every_vector_every_form(record_property) -> None:
    with LoopbackServer(attack_site) as site, ConnectionCounter() as secret, \
            ConnectionCounter() as catcher:
        forms = url_forms(secret.port)
        wire = Tripwire({("127.0.0.1", site.port): ("127.0.0.1", site.port)})
        policy = TargetPolicy(frozenset({f"127.0.0.1:{site.port}"}), FakeResolver(PRIVATE_NAMES))
        env = Env(site.origin, policy, wire)

        async def main() -> dict[tuple[str, str], str]:
            pages, contexts = asyncio.Semaphore(PAGES), asyncio.Semaphore(CONTEXTS)
            async with async_playwright() as pw:
                browser = await _launch(pw, catcher.port)

                async def one(form: str) -> dict[tuple[str, str], str]:
                    async with contexts:
                        found = await _form(browser, env, forms[form], pages)
                    return {(form, vector): result for vector, result in found.items()}

                results = await asyncio.gather(*(one(form) for form in forms))
                await browser.close()
            return {k: v for found in results for k, v in found.items()}

        started = time.monotonic()
        outcome = asyncio.run(main())
        elapsed = time.monotonic() - started

    missing = {k: v for k, v in outcome.items() if v == "NOT SEEN"}
    at_proxy = sum(v in ("refused", "sw registered, fetch refused") for v in outcome.values())
    sw_blocked = sum(v.startswith("sw page:") for v in outcome.values())
    bad = [a for a in wire.attempts if a != ("127.0.0.1", site.port)]
    leaks = len(secret.connections) + len(catcher.connections) + len(bad)
    summary = (f"SSRF browser matrix: {len(VECTORS)} vectors x {len(forms)} URL forms = "
               f"{len(outcome)} cases: {at_proxy} refused at the proxy, {sw_blocked} "
               f"service-worker registrations blocked in the page, {len(missing)} unseen; "
               "connections to "
               f"non-allowed addresses = {leaks} ({elapsed:.1f}s)")
    log.info(summary)
    print(summary)  # noqa: T201 - the suite's reported figure
    record_property("ssrf_matrix", summary)
    assert not missing, f"vectors that never reached the proxy: {missing}"
    assert at_proxy + sw_blocked == len(outcome) == len(VECTORS) * len(forms)
    assert leaks == 0, (secret.connections, catcher.connections, bad)
    assert not any(not is_global_address(ip) and ip != "127.0.0.1" for ip, _ in wire.attempts)
    log.info("service worker outcomes: %s",
             {k: v for k, v in outcome.items() if k[1] == "service-worker"})


def test_dns_rebinding_rounds(record_property) -> None:
    """rebind.test answers public, then private, alternately. The page is served from the
    "public" answer (routed to loopback by the tripwire) and fetches itself again."""
    rounds = 8
    script = ("</head><body><script>(async () => { for (let i = 0; i < ROUNDS; i++) {"
              " try { await fetch('/secret?i=' + i, {cache: 'no-store'}); } catch (e) {} }"
              " document.title = 'done'; })();</script>").replace("ROUNDS", str(rounds))

    def attacker(hit) -> tuple[int, dict[str, str], bytes]:
        return text("<!doctype html><html><head>" + script if hit.path == "/" else "public")

    with LoopbackServer(attacker) as evil, ConnectionCounter() as catcher:
        wire = Tripwire({(REBIND_PUBLIC_IP, 80): ("127.0.0.1", evil.port)})
        resolver = FakeResolver({"rebind.test": Rebinding([REBIND_PUBLIC_IP], ["10.0.0.9"])})
        policy = TargetPolicy(resolver=resolver)

        async def main() -> AuditProxy:
            async with async_playwright() as pw:
                browser = await _launch(pw, catcher.port)
                async with AuditProxy(policy, connect=wire.connect) as proxy:
                    ctx = await browser.new_context(
                        proxy={"server": proxy.server, "bypass": "<-loopback>"}, **CONTEXT)
                    page = await ctx.new_page()
                    response = await page.goto("http://rebind.test/", timeout=8000)
                    assert response is not None and response.status == 200
                    await page.wait_for_function("document.title === 'done'", timeout=10000)
                    await ctx.close()
                await browser.close()
            return proxy

        proxy = asyncio.run(main())

    lookups = resolver.lookups.count("rebind.test")
    refused = sum(b["host"] == "rebind.test" for b in proxy.stats["blocked"])
    summary = (f"DNS rebinding: {lookups} lookups, {refused} private answers refused, "
               f"dials {sorted(set(wire.attempts))}, non-allowed connections = "
               f"{len(wire.unrouted_attempts()) + len(catcher.connections)}")
    print(summary)  # noqa: T201
    record_property("ssrf_rebinding", summary)
    assert lookups >= rounds and refused >= rounds // 2 - 1
    assert set(wire.attempts) == {(REBIND_PUBLIC_IP, 80)}  # never 10.0.0.9
    assert wire.unrouted_attempts() == [] and catcher.connections == []
    assert all(h.host == "rebind.test" for h in evil.hits)


def test_recommended_launch_works_and_fails_closed() -> None:
    """The recipe in app/audits/engine/proxy.py, verbatim (sync Playwright + BackgroundProxy): the
    allowlisted site loads via the per-context proxy, a private target is refused, and a
    context created without a proxy cannot reach anything."""
    with LoopbackServer(lambda hit: text("<title>ok</title>hello")) as site:
        wire = Tripwire({("127.0.0.1", site.port): ("127.0.0.1", site.port)})
        policy = TargetPolicy(frozenset({f"127.0.0.1:{site.port}"}), FakeResolver(PRIVATE_NAMES))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=chromium_args(),
                proxy={"server": "http://127.0.0.1:9", "bypass": "<-loopback>"})
            with BackgroundProxy(policy, connect=wire.connect) as proxy:
                ctx = browser.new_context(
                    proxy={"server": proxy.server, "bypass": "<-loopback>"}, **CONTEXT)
                page = ctx.new_page()
                response = page.goto(site.origin + "/", timeout=8000)
                assert response is not None and response.status == 200
                assert page.title() == "ok"
                refused = page.goto("http://metadata.test/latest/", timeout=8000)
                assert refused is not None and refused.status == 403
                assert refused.headers["x-pitchfast-blocked"] == "blocked_address"
                ctx.close()
            bare = browser.new_context(**CONTEXT)
            with pytest.raises(PlaywrightError, match="ERR_PROXY_CONNECTION_FAILED"):
                bare.new_page().goto(site.origin + "/bare", timeout=8000)
            browser.close()
    assert proxy.stats["blocked"][0]["host"] == "metadata.test"
    assert [h.path for h in site.hits if h.path != "/favicon.ico"] == ["/"]
    assert wire.unrouted_attempts() == []
