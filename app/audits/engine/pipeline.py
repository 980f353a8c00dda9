"""One audit, start to finish, on an already-running browser (used by ``AuditEngine``).

Order: URL and target check (no browser for a bad or blocked URL) → one AuditProxy →
desktop and mobile passes (navigate, one collect evaluate, JPEG captures; axe on one form
factor) with server-side fetches once the final URL is known (the server response time
first, once our browser has stopped loading the site) → checks, scores, screenshots in a
worker thread → the document. Page loads take the engine's :class:`MeasureSlot` one at a
time, so paint timings are not inflated by our own other audits. A site that is broken for
every visitor (:class:`~app.audits.engine.document.SiteDown`: a home page answering
404/410/5xx after retries, a refused certificate, a name that does not exist) ends as a
finished "site down" document with what a visitor sees. Every context and the proxy are
closed in ``finally``; the caller's watchdog bounds the whole thing.
"""

from __future__ import annotations

import asyncio
import html
import http
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, BrowserContext

from app.audits.engine import browser as br
from app.audits.engine import collect, screenshots
from app.audits.engine.checks import run_checks
from app.audits.engine.checks.accessibility import axe_summary
from app.audits.engine.checks.platform import detect_libraries, detect_platform
from app.audits.engine.contacts import extract_contacts
from app.audits.engine.document import (
    AuditError,
    AuditResult,
    SiteDown,
    build_document,
    now_iso,
    site_down_document,
)
from app.audits.engine.fetch import (
    FetchError,
    guarded_fetch,
    measure_response_time,
    time_to_headers,
)
from app.audits.engine.netguard import TargetError, TargetPolicy
from app.audits.engine.proxy import AuditProxy
from app.audits.engine.scoring import RUBRIC_VERSION, score

log = logging.getLogger(__name__)
FORMS = ("desktop", "mobile")
MAX_RELOADS = 8
#: Statuses of a home page that is broken for every visitor (other 4xx are refusals: 401,
#: 403, 429 … may be meant for us, a bot wall, and stay failed audits).
DOWN_STATUSES = frozenset({404, 410})
#: Signs of a CDN or bot-protection challenge page: "we could not audit", never site down.
CHALLENGE_TITLE = re.compile(
    r"just a moment|attention required|checking your browser|ddos[- ]protection|captcha"
    r"|verify you are human|are you a robot|access denied|request blocked|pardon our interruption",
    re.IGNORECASE,
)
#: Chromium certificate errors, in words a business owner reads.
CERT_ERRORS = {
    "ERR_CERT_DATE_INVALID": "the certificate has expired (or is not valid yet)",
    "ERR_CERT_AUTHORITY_INVALID": "the certificate is not issued by a trusted authority",
    "ERR_CERT_COMMON_NAME_INVALID": "the certificate is for a different address",
    "ERR_CERT_REVOKED": "the certificate has been revoked",
    "ERR_CERT_WEAK_KEY": "the certificate uses a key that is too weak",
    "ERR_CERT_WEAK_SIGNATURE_ALGORITHM": "the certificate uses an outdated signature",
}
_NET_ERROR = re.compile(r"net::(ERR_[A-Z0-9_]+)")


@dataclass
class PassResult:
    """What one form-factor pass collected."""

    nav: dict[str, Any]
    page: dict[str, Any]
    raw: dict[str, Any]
    recorder: br.PageRecorder
    axe: dict[str, Any] | None = None
    axe_error: str | None = None
    timings: dict[str, int] = field(default_factory=dict)


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


async def first_error(*coros: Any, watch: Any = None) -> list[Any]:
    """Run concurrently; on the first exception (or one from ``watch``) cancel all and raise."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    watcher = asyncio.ensure_future(watch) if watch is not None else None
    try:
        pending = set(tasks) | ({watcher} if watcher else set())
        while set(tasks) & pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if t.exception() is not None:
                    raise t.exception()
        return [t.result() for t in tasks]
    finally:
        for t in [*tasks, watcher]:
            if t is not None:
                t.cancel()
        await asyncio.gather(*tasks, *([watcher] if watcher else []), return_exceptions=True)


@dataclass
class SlotUse:
    """How a page load used the measurement slot: ``alone`` when it had the CPU to itself
    (no other page load and no other audit's collect, capture or axe) from start to end."""

    alone: bool = False


class MeasureSlot:
    """Page loads measured one at a time: paint timings (FCP, LCP) are facts about the
    page, not about our own other audits competing for the same cores.

    A reader-writer gate on the engine's event loop: a page load (:meth:`load`) is the
    writer and waits for the CPU-heavy steps of other audits (:meth:`work`: collect,
    captures, axe, checks) to finish; those wait while a load is running or waiting.
    Every wait is bounded (``wait``) and so is holding the slot (``hold``), so a slow site
    delays the other audits by at most ``hold`` seconds and nothing can deadlock.
    """

    def __init__(self, wait: float, hold: float) -> None:
        self.wait, self.hold = wait, hold
        self._loading = False
        self._loads_waiting = 0
        self._workers = 0
        self._changed: asyncio.Event | None = None

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
        self._changed = asyncio.Event()

    async def _until(self, ready: Any, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready():
            if self._changed is None:
                self._changed = asyncio.Event()
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                return bool(ready())
        return True

    @asynccontextmanager
    async def load(self) -> AsyncIterator[SlotUse]:
        """Hold the slot for one page load (yields how alone it was, known at the end)."""
        use = SlotUse()
        self._loads_waiting += 1
        try:
            got = await self._until(lambda: not self._loading and not self._workers, self.wait)
        finally:
            self._loads_waiting -= 1
        if not got:
            self._notify()
            yield use
            return
        self._loading = True
        state = {"held": True, "expired": False}

        def release(expired: bool = False) -> None:
            if state["held"]:
                state["held"], state["expired"] = False, expired
                self._loading = False
                self._notify()

        timer = asyncio.get_running_loop().call_later(self.hold, release, True)
        try:
            yield use
        finally:
            timer.cancel()
            use.alone = not state["expired"]
            release()

    @asynccontextmanager
    async def work(self) -> AsyncIterator[None]:
        """A CPU-heavy step: waits (bounded) while a page load runs or waits for the slot."""
        await self._until(lambda: not self._loading and not self._loads_waiting,
                          self.wait + self.hold)
        self._workers += 1
        try:
            yield
        finally:
            self._workers -= 1
            self._notify()


class AuditRun:
    """State of one audit: its proxy, contexts and collected data."""

    def __init__(
        self,
        browser: Browser,
        config: br.EngineConfig,
        policy: TargetPolicy,
        url: str,
        lead: dict[str, Any] | None = None,
        *,
        parallel: bool = True,
        slot: MeasureSlot | None = None,
    ) -> None:
        self.browser, self.config, self.policy, self.url = browser, config, policy, url
        self.parallel = parallel
        self.slot = slot or MeasureSlot(config.measure_wait, config.measure_hold)
        self.lead = lead or {}
        self.proxy = AuditProxy(
            policy,
            max_requests=config.max_requests,
            max_bytes=config.max_bytes,
            max_connections=config.max_connections,
        )
        self.contexts: list[BrowserContext] = []
        self.recorders: dict[str, br.PageRecorder] = {}
        self.timings: dict[str, int] = {}
        self.healthy = True
        self.loads_done = 0
        self._loaded: asyncio.Event | None = None

    async def run(self) -> AuditResult:
        """Passes, checks and document; raises AuditError when the site cannot be audited.

        A site broken for every visitor (:class:`SiteDown`) is a finished audit: its
        document has ``status`` "site_down", the evidence and what a visitor sees.
        """
        fetched_at, start = now_iso(), time.perf_counter()
        await self.proxy.start()
        self._loaded = asyncio.Event()
        navigated: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        try:
            desktop, mobile, server = await first_error(
                *self._passes(navigated), self._server(navigated), watch=self._watch_budget()
            )
        except SiteDown as exc:
            return await self.site_down(exc, fetched_at, start)
        except AuditError as exc:
            refined = self.refine(exc)
            nxdomain = self._nxdomain_down(refined)
            if nxdomain is not None:
                return await self.site_down(nxdomain, fetched_at, start)
            raise refined from exc
        finally:
            if not navigated.done():
                navigated.cancel()
        passes = {"desktop": desktop, "mobile": mobile}
        t = time.perf_counter()
        async with self.slot.work():
            result = await asyncio.to_thread(self._finish, passes, server, fetched_at)
        self.timings["checks_and_screenshots"] = _ms(t)
        self.timings["total"] = _ms(start)
        result.document["timings"] = dict(self.timings)
        return result

    def _passes(self, navigated: asyncio.Future[str]) -> list[Any]:
        """Both form factors at once when the engine is quiet (latency); one after the other
        when other audits run (CPU is saturated anyway, and it halves live renderers)."""
        if self.parallel:
            return [self._pass("desktop", navigated), self._pass("mobile", None)]
        first: asyncio.Future[PassResult] = asyncio.get_running_loop().create_future()

        async def desktop() -> PassResult:
            result = await self._pass("desktop", navigated)
            first.set_result(result)
            return result

        async def mobile() -> PassResult:
            await first
            return await self._pass("mobile", None)

        return [desktop(), mobile()]

    async def close(self) -> bool:
        """Close contexts and proxy; False when a context would not close (browser unhealthy)."""
        for ctx in list(self.contexts):
            await self._close_context(ctx)
        await self.proxy.close()
        return self.healthy

    async def _close_context(self, ctx: BrowserContext) -> bool:
        if ctx in self.contexts:
            self.contexts.remove(ctx)
        try:
            await asyncio.wait_for(ctx.close(), 5)
            return True
        except Exception:  # noqa: BLE001 - a hung renderer: the engine resets the browser
            log.warning("audit context did not close cleanly", exc_info=True)
            self.healthy = False
            return False

    async def _pass(self, ff: str, navigated: asyncio.Future[str] | None) -> PassResult:
        cfg, start = self.config, time.perf_counter()
        context = await br.new_audit_context(self.browser, ff, cfg, self.proxy.server)
        self.contexts.append(context)
        page = await context.new_page()
        rec = self.recorders[ff] = br.PageRecorder()
        br.harden_page(page, rec)
        cdp = await rec.attach(page)
        try:
            async with self.slot.load() as use:
                nav = await br.navigate(page, self.url, cfg, rec)
        except AuditError as exc:
            cert = self._certificate_down(exc, rec)
            if cert is None:
                raise
            await self._capture_into(cert, page, ff)
            raise cert from exc
        finally:
            self._load_done()
        nav["measured_alone"] = use.alone
        down = await self._check_response(nav, page)
        if down is not None:
            await self._capture_into(down, page, ff)
            raise down
        if navigated is not None and not navigated.done():
            navigated.set_result(nav["url"])
        timings = {"navigate": _ms(start)}
        t = time.perf_counter()
        async with self.slot.work():
            data = await collect.collect_page(page, cfg.element_limit, cfg.step_timeout)
        timings["collect"] = _ms(t)
        t = time.perf_counter()
        full_scale = cfg.full_page_scale_mobile if ff == "mobile" else cfg.full_page_scale_desktop
        async with self.slot.work():
            raw = await screenshots.capture(
                cdp,
                data,
                scale=cfg.mobile_scale if ff == "mobile" else 1.0,
                full_scale=full_scale,
                max_height=cfg.max_full_page_height,
                quality=cfg.image_quality,
                timeout=cfg.step_timeout,
            )
        timings["capture"] = _ms(t)
        captured = (t, time.perf_counter())
        result = PassResult(nav, data, raw, rec, timings=timings)
        # Late layout shifts (until 1 s after load, as Lighthouse): read before axe, whose
        # scrolling would hide them; the screenshots' own shifts are left out.
        await collect.late_layout_shift(page, data, cfg.step_timeout, captured)
        if ff == collect.AXE_FORM_FACTOR and cfg.run_axe:
            t = time.perf_counter()
            try:
                async with self.slot.work():
                    result.axe = await collect.run_axe(page, max(cfg.axe_timeout, cfg.step_timeout))
            except Exception as exc:  # noqa: BLE001 - axe failing leaves its checks not_checked
                log.warning("axe failed: %s", exc)
                result.axe_error = f"axe-core did not complete: {str(exc)[:150]}"
            timings["axe"] = _ms(t)
        await self._close_context(context)  # free the renderer's memory before post-processing
        timings["total"] = _ms(start)
        self.timings[ff] = timings["total"]
        if ff == "desktop":
            self.timings["navigate"] = timings["navigate"]
        return result

    async def _watch_budget(self) -> None:
        """End the audit as soon as a budget is exceeded or the page keeps reloading."""
        while not self.proxy.stats.get("budget_exceeded"):
            if any(br.reload_count(r) >= MAX_RELOADS for r in self.recorders.values()):
                raise AuditError(
                    "navigation_loop",
                    f"The page reloaded itself {MAX_RELOADS} times while loading.",
                )
            await asyncio.sleep(0.1)
        raise self.refine(AuditError("budget_exceeded"))

    def _load_done(self) -> None:
        self.loads_done += 1
        if self.loads_done >= len(FORMS) and self._loaded is not None:
            self._loaded.set()

    async def _server(self, navigated: asyncio.Future[str]) -> dict[str, Any]:
        """Server-side fetches of the final URL: the server response time first, once our
        browser has finished loading pages from the site (its requests would slow a small
        server down), then robots.txt, sitemap and the https checks."""
        final_url = await navigated
        t = time.perf_counter()
        if self._loaded is not None:
            try:
                await asyncio.wait_for(self._loaded.wait(), self.config.navigation_timeout)
            except TimeoutError:
                log.info("measuring the server response time while a page still loads")
        response_time = await asyncio.to_thread(
            measure_response_time, final_url, self.policy,
            samples=self.config.response_time_samples, timeout=self.config.fetch_timeout,
            user_agent=br.DESKTOP_UA)
        out = await collect.fetch_server_side(
            final_url, self.policy, self.config.fetch_timeout, self.config.fetch_max_bytes
        )
        out["response_time"] = response_time
        self.timings["server_fetches"] = _ms(t)
        return out

    def refine(self, exc: AuditError) -> AuditError:
        """Explain a generic network failure with what the proxy saw (blocked, refused …)."""
        stats = self.proxy.stats
        if stats.get("budget_exceeded"):
            return AuditError(
                "budget_exceeded",
                f"The page exceeded the audit's {stats['budget_exceeded']} budget.",
            )
        if exc.code not in ("connection_failed", "connection_refused", "timeout"):
            return exc
        hosts = {urlsplit(d["url"]).hostname for r in self.recorders.values() for d in r.documents}
        hosts.add(urlsplit(self.url).hostname)
        for entry in stats.get("blocked", []):
            if entry.get("host") in hosts:
                return AuditError(entry.get("code") or "blocked_address", entry.get("reason"))
        for entry in stats.get("errors", []):
            if entry.get("host") in hosts:
                reason = str(entry.get("reason", ""))
                code = (
                    "connection_refused"
                    if "111" in reason or "refused" in reason.lower()
                    else "connection_failed"
                )
                return AuditError(code, f"{entry['host']}:{entry.get('port')}: {reason}"[:200])
        return exc

    async def _check_response(self, nav: dict[str, Any], page: Any) -> SiteDown | None:
        """A proxy refusal or a refused visit is an error code, not a scored audit; a home
        page answering 404, 410 or 5xx to a browser is a site-down candidate (confirmed with
        retries by :meth:`site_down`), unless it is a bot-protection challenge."""
        blocked = nav["headers"].get("x-pitchfast-blocked")
        if blocked:
            raise (
                self.refine(AuditError("connection_failed"))
                if blocked == "connect_failed"
                else AuditError(blocked, self._block_reason(blocked))
            )
        if self.proxy.stats.get("budget_exceeded"):
            raise self.refine(AuditError("budget_exceeded"))
        status = int(nav["status"])
        if status < 400:
            return None
        # 5xx, 408 and 429 may pass; other 4xx (403, 401 …) will not fix themselves.
        code = "http_error" if status >= 500 or status in (408, 429) else "http_client_error"
        if status not in DOWN_STATUSES and status < 500:
            raise AuditError(code, f"The server answered HTTP {status}.")
        challenge = await self._challenge(nav, page)
        if challenge:
            raise AuditError(code, f"The server answered HTTP {status} with a bot-protection "
                                   f"challenge ({challenge}): the audit browser was refused.")
        return SiteDown(
            "http_status",
            "",
            {"status": status, "reason": _phrase(status), "url": nav["url"],
             "server": str(nav["headers"].get("server") or "")[:100] or None,
             "redirects": list(nav.get("redirects") or [])[:10]},
            final_url=nav["url"],
            http_status=status,
        )

    async def _challenge(self, nav: dict[str, Any], page: Any) -> str | None:
        """What marks this error page as a CDN or bot-protection challenge, if anything."""
        if nav["headers"].get("cf-mitigated"):
            return "cf-mitigated: " + str(nav["headers"]["cf-mitigated"])[:40]
        try:
            title = str(await asyncio.wait_for(page.title(), self.config.step_timeout))
        except Exception:  # noqa: BLE001 - no title: judge by the status alone
            return None
        match = CHALLENGE_TITLE.search(title[:300])
        return f"page titled \"{match.group(0)}\"" if match else None

    def _certificate_down(self, exc: AuditError, rec: br.PageRecorder) -> SiteDown | None:
        """A certificate the browser refuses is a site every visitor finds broken (other TLS
        failures, and ours, stay a ``tls_error``)."""
        found = _NET_ERROR.search(exc.message or "")
        if exc.code != "tls_error" or not found or not found.group(1).startswith("ERR_CERT_"):
            return None
        net_error = found.group(1)
        url = rec.documents[-1]["url"] if rec.documents else self.url
        host = urlsplit(url).hostname or ""
        return SiteDown(
            "certificate",
            "",
            {"host": host, "url": url, "browser_error": net_error,
             "explanation": CERT_ERRORS.get(net_error, "the certificate is not valid")},
            final_url=url,
        )

    def _nxdomain_down(self, exc: AuditError) -> SiteDown | None:
        """The home page (or a redirect hop of it) is on a name that does not exist."""
        if exc.code != "dns_failure":
            return None
        hosts = {urlsplit(d["url"]).hostname for r in self.recorders.values() for d in r.documents}
        hosts.add(urlsplit(self.url).hostname)
        for entry in self.proxy.stats.get("blocked", []):
            if entry.get("nxdomain") and entry.get("host") in hosts:
                return nxdomain_down(str(entry["host"]), self.url)
        return None

    # ------------------------------------------------------------------ site down

    async def site_down(
        self, down: SiteDown, fetched_at: str | None = None, start: float | None = None
    ) -> AuditResult:
        """The finished audit of a site that is down: confirm it (an error status must
        persist over retries), gather the evidence, show what a visitor sees."""
        fetched_at, start = fetched_at or now_iso(), start or time.perf_counter()
        if not self.proxy.server:
            await self.proxy.start()
        if down.kind == "http_status":
            await self._confirm_status(down)
        elif down.kind == "certificate":
            await self._certificate_evidence(down)
        down.detail = down.detail or _down_detail(down)
        t = time.perf_counter()
        for ff in FORMS:
            if ff not in down.raws:
                raw = await self._visitor_view(ff, down)
                if raw is not None:
                    down.raws[ff] = raw
        shots = await asyncio.to_thread(
            screenshots.site_down_screenshots, down.raws, thumb_width=self.config.thumbnail_width
        )
        self.timings["screenshots"] = _ms(t)
        self.timings["total"] = _ms(start)
        doc = site_down_document(
            url=self.url,
            final_url=down.final_url,
            fetched_at=fetched_at,
            rubric_version=RUBRIC_VERSION,
            kind=down.kind,
            detail=down.detail,
            evidence=down.evidence,
            screenshots=shots,
            timings=dict(self.timings),
            http_status=down.http_status,
        )
        return AuditResult(doc, shots)

    async def _confirm_status(self, down: SiteDown) -> None:
        """Ask again, directly, after a pause: a server that recovers is not down (the audit
        fails with ``http_error`` and the run is retried later)."""
        url = down.final_url or self.url
        attempts: list[dict[str, Any]] = [{"status": down.http_status, "by": "browser"}]
        begin = time.monotonic()
        for delay in self.config.down_retry_delays:
            await asyncio.sleep(delay)
            try:
                status, _ = await asyncio.to_thread(
                    time_to_headers, url, self.policy, timeout=self.config.fetch_timeout,
                    user_agent=br.DESKTOP_UA)
            except (FetchError, TargetError) as exc:
                attempts.append({"error": exc.code, "after_s": round(time.monotonic() - begin)})
                continue
            attempts.append({"status": status, "after_s": round(time.monotonic() - begin, 1)})
            if status < 400:
                raise AuditError(
                    "http_error",
                    f"The server answered HTTP {down.http_status}, then HTTP {status} "
                    f"{time.monotonic() - begin:.0f} s later: it is unstable, not down.",
                )
        down.evidence["attempts"] = attempts
        down.evidence["over_s"] = round(time.monotonic() - begin, 1)

    async def _certificate_evidence(self, down: SiteDown) -> None:
        """What a TLS client says about the certificate (expired, self-signed …)."""
        try:
            await asyncio.to_thread(guarded_fetch, str(down.evidence["url"]), self.policy,
                                    method="HEAD", timeout=self.config.fetch_timeout,
                                    max_redirects=0)
        except FetchError as exc:
            if exc.code == "tls_error" and exc.tls:
                down.evidence["verify_error"] = str(exc.tls.get("error") or "")[:200] or None
        except TargetError:
            pass

    async def _capture_view(self, page: Any) -> dict[str, Any]:
        async with self.slot.work():
            return await screenshots.capture_view(
                page, quality=self.config.image_quality, timeout=self.config.step_timeout)

    async def _capture_into(self, down: SiteDown, page: Any, ff: str) -> None:
        """Keep what this pass's visitor sees (:meth:`site_down` looks again if this fails)."""
        try:
            down.raws[ff] = await self._capture_view(page)
        except Exception:  # noqa: BLE001 - captured afresh later
            log.info("capturing the %s error view failed; trying again later", ff,
                     exc_info=True)

    async def _visitor_view(self, ff: str, down: SiteDown) -> dict[str, Any] | None:
        """A fresh look at what a visitor sees at this form factor: the error page or the
        certificate warning, or for a name that does not exist a card saying so."""
        context = await br.new_audit_context(self.browser, ff, self.config, self.proxy.server)
        self.contexts.append(context)
        try:
            page = await context.new_page()
            rec = br.PageRecorder()
            br.harden_page(page, rec)
            if down.kind == "nxdomain":
                await page.set_content(nxdomain_card(down), wait_until="load")
            else:
                try:
                    await br.navigate(page, self.url, self.config, rec)
                except AuditError:
                    pass  # the browser's own error page (certificate warning) is the view
            return await self._capture_view(page)
        except Exception:  # noqa: BLE001 - a missing picture never hides a dead site
            log.warning("could not capture the %s view of a site that is down", ff,
                        exc_info=True)
            return None
        finally:
            await self._close_context(context)

    def _block_reason(self, code: str) -> str | None:
        for entry in self.proxy.stats.get("blocked", []):
            if entry.get("code") == code:
                reason: str | None = entry.get("reason")
                return reason
        return None

    def _finish(
        self, passes: dict[str, PassResult], server: dict[str, Any], fetched_at: str
    ) -> AuditResult:
        desktop = passes["desktop"]
        final_url = desktop.nav["url"]
        data = self._audit_data(passes, server, final_url)
        t = time.perf_counter()
        findings = run_checks(data)
        scores = score(findings)
        self.timings["checks"] = _ms(t)
        t = time.perf_counter()
        shots = screenshots.build_screenshots(
            {ff: p.raw for ff, p in passes.items()},
            findings,
            thumb_width=self.config.thumbnail_width,
            top=self.config.annotate_top,
            quality=self.config.image_quality,
        )
        self.timings["screenshots"] = _ms(t)
        doc = build_document(
            url=self.url,
            final_url=final_url,
            fetched_at=fetched_at,
            rubric_version=RUBRIC_VERSION,
            scores=scores,
            metrics=data["metrics"],
            findings=findings,
            contacts=data["contacts"],
            screenshots=shots,
            timings=self.timings,
            extra={
                "platform": data["platform"],
                "js_libraries": data["js_libraries"],
                "http_status": desktop.nav["status"],
                "redirects": desktop.nav["redirects"],
                "accessibility": axe_summary(passes[collect.AXE_FORM_FACTOR].axe),
                "pass_timings": {ff: p.timings for ff, p in passes.items()},
                "proxy": {
                    k: self.proxy.stats.get(k)
                    for k in ("requests", "bytes_in", "bytes_out", "connections")
                },
                "screenshot_truncated": {ff: p.raw["truncated"] for ff, p in passes.items()},
                # Direct requests of the root document: samples, median, spread (ms).
                "server_response_time": server.get("response_time"),
                "measured_alone": {ff: p.nav.get("measured_alone") for ff, p in passes.items()},
            },
        )
        return AuditResult(doc, shots)

    def _audit_data(
        self, passes: dict[str, PassResult], server: dict[str, Any], final_url: str
    ) -> dict[str, Any]:
        desktop = passes["desktop"]
        pages = {ff: p.page for ff, p in passes.items()}
        metrics = {
            ff: {
                **p.page.get("perf", {}),
                **p.recorder.summary(),
                "dom_size": p.page.get("dom_size"),
                "load_fired": p.nav["load_fired"],
                "page_height": p.page.get("doc_height"),
            }
            for ff, p in passes.items()
        }
        console = {
            "count": desktop.recorder.error_count,
            "errors": desktop.recorder.console_errors,
            "details": desktop.recorder.error_details,
            "exceptions": desktop.recorder.exception_count,
        }
        data: dict[str, Any] = {
            "url": self.url,
            "final_url": final_url,
            "nav": desktop.nav,
            **pages,
            "network": {ff: list(p.recorder.responses.values()) for ff, p in passes.items()},
            "console": console,
            "axe": passes[collect.AXE_FORM_FACTOR].axe,
            "axe_error": passes[collect.AXE_FORM_FACTOR].axe_error,
            "server": server,
            "metrics": metrics,
            "lead": self.lead,
            "platform": detect_platform(desktop.page),
            "js_libraries": detect_libraries(desktop.page),
        }
        # The agency's country (settings) reads national phone numbers; leads carry none.
        data["contacts"] = extract_contacts(pages, final_url, region=self.lead.get("region"))
        return data


def _phrase(status: int) -> str:
    """The standard reason phrase of a status (ours, never the site's text)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Server error" if status >= 500 else "Error"


def nxdomain_down(host: str, url: str) -> SiteDown:
    """Site down: ``host`` (the home page's, or a redirect hop's) does not exist in DNS."""
    return SiteDown("nxdomain", "", {"host": host, "url": url, "dns": "NXDOMAIN"})


def _down_detail(down: SiteDown) -> str:
    """One plain sentence with the evidence, for the audit page and the pitch."""
    ev = down.evidence
    if down.kind == "http_status":
        attempts = ev.get("attempts") or []
        tries = f" (asked {len(attempts)} times over {ev.get('over_s', 0):g} s)" if len(
            attempts) > 1 else ""
        return (f"Every visitor of {ev.get('url')} gets an error page: the server answers "
                f"HTTP {ev.get('status')} {ev.get('reason')}{tries}.")
    if down.kind == "certificate":
        why = ev.get("explanation") or "the certificate is not valid"
        extra = f"; {ev['verify_error']}" if ev.get("verify_error") else ""
        return (f"Browsers show \"Your connection is not private\" instead of "
                f"{ev.get('host')}: {why} ({ev.get('browser_error')}{extra}).")
    return (f"{ev.get('host')} does not exist in DNS (NXDOMAIN): every visitor gets "
            f"\"This site can't be reached\".")


def nxdomain_card(down: SiteDown) -> str:
    """The card shown for a name that does not exist: what a visitor's browser says."""
    host = html.escape(str(down.evidence.get("host") or ""))
    url = html.escape(str(down.evidence.get("url") or ""))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{host}</title>
<style>
body{{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
color:#202124;background:#fff}}
main{{max-width:600px;margin:0 auto;padding:14vh 24px 24px}}
.icon{{width:72px;height:72px;border-radius:12px;background:#f1f3f4;display:flex;
align-items:center;justify-content:center;font-size:40px;color:#5f6368}}
h1{{font-size:26px;font-weight:500;margin:32px 0 16px}}
p{{font-size:15px;line-height:1.6;color:#5f6368;margin:0 0 12px}}
code{{font-size:12px;color:#5f6368;text-transform:uppercase}}
.note{{margin-top:40px;padding:12px 14px;border-left:4px solid #d93025;background:#fce8e6;
color:#3c4043;font-size:14px}}
</style></head><body><main>
<div class="icon" aria-hidden="true">&#9888;</div>
<h1>This site can&rsquo;t be reached</h1>
<p>Check if there is a typo in <strong>{host}</strong>.</p>
<p><code>DNS_PROBE_FINISHED_NXDOMAIN</code></p>
<p class="note">What every visitor of <strong>{url}</strong> sees: the domain name
<strong>{host}</strong> does not exist.</p>
</main></body></html>"""
