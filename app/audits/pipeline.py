"""One audit, start to finish, on an already-running browser (used by ``AuditEngine``).

Order: URL and target check (no browser for a bad or blocked URL) → one AuditProxy →
desktop and mobile passes concurrently (navigate, one collect evaluate, JPEG captures; axe
on desktop only) with server-side fetches once the final URL is known → checks, scores,
screenshots in a worker thread → the document. Every context and the proxy are closed in
``finally``; the caller's watchdog bounds the whole thing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, BrowserContext

from app.audits import browser as br
from app.audits import collect, screenshots
from app.audits.checks import run_checks
from app.audits.checks.accessibility import axe_summary
from app.audits.checks.platform import detect_libraries, detect_platform
from app.audits.contacts import extract_contacts
from app.audits.document import AuditError, AuditResult, build_document, now_iso
from app.audits.netguard import TargetPolicy
from app.audits.proxy import AuditProxy
from app.audits.scoring import RUBRIC_VERSION, score

log = logging.getLogger(__name__)
FORMS = ("desktop", "mobile")
MAX_RELOADS = 8


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
                    raise t.exception()  # type: ignore[misc]
        return [t.result() for t in tasks]
    finally:
        for t in [*tasks, watcher]:
            if t is not None:
                t.cancel()
        await asyncio.gather(*tasks, *([watcher] if watcher else []), return_exceptions=True)


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
    ) -> None:
        self.browser, self.config, self.policy, self.url = browser, config, policy, url
        self.parallel = parallel
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

    async def run(self) -> AuditResult:
        """Passes, checks and document; raises AuditError when the site cannot be audited."""
        fetched_at, start = now_iso(), time.perf_counter()
        await self.proxy.start()
        navigated: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        try:
            desktop, mobile, server = await first_error(
                *self._passes(navigated), self._server(navigated), watch=self._watch_budget()
            )
        except AuditError as exc:
            raise self.refine(exc) from exc
        finally:
            if not navigated.done():
                navigated.cancel()
        passes = {"desktop": desktop, "mobile": mobile}
        t = time.perf_counter()
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
        nav = await br.navigate(page, self.url, cfg, rec)
        self._check_response(nav)
        if navigated is not None and not navigated.done():
            navigated.set_result(nav["url"])
        timings = {"navigate": _ms(start)}
        t = time.perf_counter()
        data = await collect.collect_page(page, cfg.element_limit, cfg.step_timeout)
        timings["collect"] = _ms(t)
        t = time.perf_counter()
        full_scale = cfg.full_page_scale_mobile if ff == "mobile" else cfg.full_page_scale_desktop
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
        result = PassResult(nav, data, raw, rec, timings=timings)
        if ff == "desktop" and cfg.run_axe:
            t = time.perf_counter()
            try:
                result.axe = await collect.run_axe(page, cfg.step_timeout)
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

    async def _server(self, navigated: asyncio.Future[str]) -> dict[str, Any]:
        final_url = await navigated
        t = time.perf_counter()
        out = await collect.fetch_server_side(
            final_url, self.policy, self.config.fetch_timeout, self.config.fetch_max_bytes
        )
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

    def _check_response(self, nav: dict[str, Any]) -> None:
        """A proxy refusal or an HTTP error page is an error code, not a scored audit."""
        blocked = nav["headers"].get("x-pitchfast-blocked")
        if blocked:
            raise (
                self.refine(AuditError("connection_failed"))
                if blocked == "connect_failed"
                else AuditError(blocked, self._block_reason(blocked))
            )
        if self.proxy.stats.get("budget_exceeded"):
            raise self.refine(AuditError("budget_exceeded"))
        if nav["status"] >= 400:
            # 5xx, 408 and 429 may pass; other 4xx (404, 410, 403 …) will not fix themselves.
            code = "http_error" if nav["status"] >= 500 or nav["status"] in (408, 429) else (
                "http_client_error")
            raise AuditError(code, f"The server answered HTTP {nav['status']}.")

    def _block_reason(self, code: str) -> str | None:
        for entry in self.proxy.stats.get("blocked", []):
            if entry.get("code") == code:
                return entry.get("reason")
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
                "accessibility": axe_summary(desktop.axe),
                "pass_timings": {ff: p.timings for ff, p in passes.items()},
                "proxy": {
                    k: self.proxy.stats.get(k)
                    for k in ("requests", "bytes_in", "bytes_out", "connections")
                },
                "screenshot_truncated": {ff: p.raw["truncated"] for ff, p in passes.items()},
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
            "exceptions": desktop.recorder.exception_count,
        }
        data: dict[str, Any] = {
            "url": self.url,
            "final_url": final_url,
            "nav": desktop.nav,
            **pages,
            "network": {ff: list(p.recorder.responses.values()) for ff, p in passes.items()},
            "console": console,
            "axe": desktop.axe,
            "axe_error": desktop.axe_error,
            "server": server,
            "metrics": metrics,
            "lead": self.lead,
            "platform": detect_platform(desktop.page),
            "js_libraries": detect_libraries(desktop.page),
        }
        data["contacts"] = extract_contacts(pages, final_url)
        return data
