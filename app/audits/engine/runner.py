"""The audit engine: one Chromium per worker process, a fresh context per audit.

``AuditEngine`` owns a daemon thread running an asyncio loop with async Playwright and one
browser. ``engine.audit(url)`` is blocking and thread-safe: N worker threads get N
concurrent audits on the one browser (bounded by ``config.concurrency``). A crashed or
wedged browser is relaunched for the next audit. No Flask here: callers pass the config.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

from playwright.async_api import Browser, Playwright, async_playwright

from app.audits.engine.browser import EngineConfig, launch_browser
from app.audits.engine.document import (
    AuditError,
    AuditResult,
    SiteDown,
    error_document,
    is_transient,
    now_iso,
)
from app.audits.engine.netguard import NameNotFound, TargetError, TargetPolicy, normalize_url
from app.audits.engine.pipeline import AuditRun, MeasureSlot, nxdomain_down
from app.audits.engine.scoring import RUBRIC_VERSION

__all__ = [
    "AuditEngine",
    "AuditResult",
    "EngineConfig",
    "config_from_mapping",
    "get_engine",
    "is_transient",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
#: How long (in audit time limits) an audit may wait for one of the engine's places.
QUEUE_LIMIT_FACTOR = 10


def config_from_mapping(cfg: Mapping[str, Any], **overrides: Any) -> EngineConfig:
    """Build an EngineConfig from app config keys (AUDIT_ALLOW_TARGETS, AUDIT_TIMEOUT_SECONDS)."""
    targets = cfg.get("AUDIT_ALLOW_TARGETS") or []
    if isinstance(targets, str):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    kw: dict[str, Any] = {"allow_targets": frozenset(targets)}
    if cfg.get("AUDIT_TIMEOUT_SECONDS"):
        kw["audit_timeout"] = float(cfg["AUDIT_TIMEOUT_SECONDS"])
    if cfg.get("AUDIT_CONCURRENCY"):
        kw["concurrency"] = int(cfg["AUDIT_CONCURRENCY"])
    kw.update(overrides)
    return EngineConfig(**kw)


class AuditEngine:
    """Thread-safe, blocking audits on one shared Chromium."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.pid = os.getpid()
        self._loop = asyncio.new_event_loop()
        self._loop.set_default_executor(
            ThreadPoolExecutor(max_workers=32, thread_name_prefix="audit-io")
        )
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="audit-engine", daemon=True
        )
        self._thread.start()
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._lock: asyncio.Lock | None = None
        self._sem: asyncio.Semaphore | None = None
        self._slot = MeasureSlot(self.config.measure_wait, self.config.measure_hold)
        self._closed = False
        self._active = 0

    # ------------------------------------------------------------------ public API
    def audit(
        self, url: str, *, timeout: float | None = None, lead: dict[str, Any] | None = None
    ) -> AuditResult:
        """Audit ``url``; always returns a result (``status`` is ``ok``, ``site_down`` or an
        error code)."""
        if self._closed:
            raise RuntimeError("audit engine is closed")
        limit = timeout or self.config.audit_timeout
        started = threading.Event()
        fut = asyncio.run_coroutine_threadsafe(self._audit(url, limit, lead, started), self._loop)
        try:
            # The watchdog inside ends the audit `limit` seconds after it got one of the
            # engine's `concurrency` places (waiting for one is not the site's fault: with
            # more worker threads than places, a busy worker would time audits out); these
            # bounds only guard the guard.
            if started.wait(QUEUE_LIMIT_FACTOR * limit + 30):
                return fut.result(limit + 30)
            raise concurrent.futures.TimeoutError
        except concurrent.futures.TimeoutError:
            fut.cancel()
            return AuditResult(error_document(url, "timeout", None, rubric_version=RUBRIC_VERSION))

    def with_browser(
        self, fn: Callable[[Browser], Awaitable[T]], *, timeout: float
    ) -> T:
        """Run ``await fn(browser)`` on the engine's loop with its one shared Chromium (the
        public pages' PDFs are printed this way: no second browser in the worker)."""
        if self._closed:
            raise RuntimeError("audit engine is closed")

        async def call() -> T:
            return await asyncio.wait_for(fn(await self._ensure_browser()), timeout)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout + 30)

    def close(self) -> None:
        """Close the browser and stop the engine thread."""
        if self._closed:
            return
        self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(20)
        except Exception:  # noqa: BLE001 - closing anyway
            log.warning("audit engine shutdown was not clean", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # ------------------------------------------------------------------ internals
    async def _audit(self, url: str, limit: float, lead: dict[str, Any] | None,
                     started: threading.Event | None = None) -> AuditResult:
        try:
            return await self._audit_one(url, limit, lead, started)
        finally:
            if started is not None:
                started.set()  # ended before its place (a refused URL …): the result is ready

    async def _audit_one(self, url: str, limit: float, lead: dict[str, Any] | None,
                         started: threading.Event | None) -> AuditResult:
        self._sem = self._sem or asyncio.Semaphore(self.config.concurrency)
        start, fetched_at = time.perf_counter(), now_iso()
        try:
            target = self._check_target(url)
        except AuditError as exc:
            return self._error(url, exc, fetched_at, start)
        policy = TargetPolicy(self.config.allow_targets, resolver=self.config.resolver, logger=log)
        try:
            down = await self._resolve(policy, target)
        except TargetError as exc:
            return self._error(target[0], AuditError(exc.code, exc.message), fetched_at, start)
        async with self._sem:
            # The time limit starts now: waiting for a place is not the audited site's time.
            start, fetched_at = time.perf_counter(), now_iso()
            if started is not None:
                started.set()
            self._active += 1
            try:
                result = await self._run(target[0], policy, limit, lead, fetched_at, start, down)
                if result.status == "browser_crash":
                    # A browser killed since the last audit may still look connected until
                    # Playwright notices; it has been reset now, so try once on a fresh one
                    # (within the same time limit).
                    log.warning("retrying %s once on a relaunched browser", target[0])
                    result = await self._run(
                        target[0], policy, limit, lead, fetched_at, start, down)
                return result
            finally:
                self._active -= 1

    async def _resolve(self, policy: TargetPolicy, target: tuple[str, str, int]) -> SiteDown | None:
        """Check the target's address before any browser work. A name that does not exist
        (asked twice, a second apart) is a site that is down; other refusals raise."""
        try:
            await asyncio.to_thread(policy.check, *target[1:])
            return None
        except NameNotFound:
            await asyncio.sleep(self.config.nxdomain_recheck)
        try:
            await asyncio.to_thread(policy.check, *target[1:])
            return None
        except NameNotFound as exc:
            log.info("audit of %s: %s", target[0], exc.message)
            return nxdomain_down(exc.host, target[0])

    def _check_target(self, url: str) -> tuple[str, str, int]:
        try:
            normalized = normalize_url(url, self.config.allow_targets)
        except TargetError as exc:
            raise AuditError(exc.code, exc.message) from exc
        parts = urlsplit(normalized)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return normalized, parts.hostname or "", port

    async def _run(
        self,
        url: str,
        policy: TargetPolicy,
        limit: float,
        lead: dict[str, Any] | None,
        fetched_at: str,
        start: float,
        down: SiteDown | None = None,
    ) -> AuditResult:
        remaining = max(1.0, limit - (time.perf_counter() - start))
        try:
            browser = await self._ensure_browser()
        except Exception as exc:  # noqa: BLE001
            log.exception("browser launch failed")
            return self._error(
                url,
                AuditError("browser_crash", f"Chromium failed to start: {exc}"),
                fetched_at,
                start,
            )
        parallel = self._active <= self.config.parallel_below
        run = AuditRun(browser, self.config, policy, url, lead, parallel=parallel,
                       slot=self._slot)
        try:
            async with asyncio.timeout(remaining):
                result = await (run.site_down(down) if down is not None else run.run())
            result.document["fetched_at"] = fetched_at
            return result
        except TimeoutError:
            return self._error(
                url,
                run.refine(
                    AuditError("timeout", f"The audit did not finish within {limit:.0f} s.")
                ),
                fetched_at,
                start,
            )
        except AuditError as exc:
            return self._error(url, exc, fetched_at, start)
        except Exception as exc:  # noqa: BLE001 - map, log, never propagate to the worker
            return self._error(url, self._unexpected(exc, browser), fetched_at, start)
        finally:
            healthy = await run.close()
            if not healthy or not browser.is_connected():
                await self._reset_browser()

    def _unexpected(self, exc: Exception, browser: Browser) -> AuditError:
        text = str(exc)
        if not browser.is_connected() or "crash" in text.lower() or "closed" in text.lower():
            log.warning("browser crashed during audit: %s", text[:200])
            return AuditError("browser_crash", text.splitlines()[0][:200] if text else None)
        log.exception("audit failed unexpectedly")
        return AuditError("internal_error", f"{type(exc).__name__}: {text[:200]}")

    def _error(self, url: str, exc: AuditError, fetched_at: str, start: float) -> AuditResult:
        log.info("audit of %s ended with %s: %s", url, exc.code, exc.message)
        total = round((time.perf_counter() - start) * 1000)
        return AuditResult(
            error_document(
                url,
                exc.code,
                exc.message,
                rubric_version=RUBRIC_VERSION,
                fetched_at=fetched_at,
                timings={"total": total},
            )
        )

    async def _ensure_browser(self) -> Browser:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                log.warning("audit browser disconnected; relaunching")
                await self._reset_browser_locked()
            if self._pw is None:
                self._pw = await async_playwright().start()
            self._browser = await launch_browser(self._pw, self.config)
            log.info("audit browser launched (Chromium %s)", self._browser.version)
            return self._browser

    async def _reset_browser(self) -> None:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            await self._reset_browser_locked()

    async def _reset_browser_locked(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            try:
                await asyncio.wait_for(browser.close(), 10)
                return
            except Exception:  # noqa: BLE001 - fall through to stopping the driver
                log.warning("browser.close() failed; stopping the Playwright driver")
        if self._pw is not None:
            pw, self._pw = self._pw, None
            try:
                await asyncio.wait_for(pw.stop(), 10)
            except Exception:  # noqa: BLE001
                log.exception("stopping Playwright failed")

    async def _shutdown(self) -> None:
        await self._reset_browser()
        if self._pw is not None:
            await self._pw.stop()
            self._pw = None


_ENGINES: dict[EngineConfig, AuditEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(config: EngineConfig | None = None) -> AuditEngine:
    """The process-wide engine for ``config`` (a new one after a fork)."""
    config = config or EngineConfig()
    with _ENGINES_LOCK:
        engine = _ENGINES.get(config)
        if engine is None or engine.pid != os.getpid() or engine._closed:
            engine = _ENGINES[config] = AuditEngine(config)
        return engine
