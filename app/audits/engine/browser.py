"""Chromium launch, hardened per-audit contexts, and per-page network/console recording."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Playwright, ProxySettings

from app.audits.engine.document import AuditError
from app.audits.engine.proxy import NO_OWN_DNS

log = logging.getLogger(__name__)

CHROMIUM_PATH = "/usr/bin/chromium"
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    # Chromium never resolves names itself: everything goes through our proxy, which does.
    f"--host-resolver-rules={NO_OWN_DNS}",
    # Chromium keeps only the LAST --disable-features switch, so this repeats Playwright's own
    # list (HttpsUpgrades, PaintHolding … ; Playwright 1.65) and adds ours: no background
    # Google traffic, no spare renderer process (memory).
    "--disable-features="
    + ",".join(
        (
            "AvoidUnnecessaryBeforeUnloadCheckSync",
            "DestroyProfileOnBrowserClose",
            "HttpsUpgrades",
            "HttpsFirstBalancedModeAutoEnable",
            "LensOverlay",
            "MediaRouter",
            "PaintHolding",
            "ThirdPartyStoragePartitioning",
            "AvoidCorsURLLoaderRestartOnRedirect",
            "OptimizationHints",
            "NetworkTimeServiceQuerying",
            "AimEnabled",
            "PreconnectToSearch",
            "Translate",
            "AutofillServerCommunication",
            "InterestFeedContentSuggestions",
            "CertificateTransparencyComponentUpdater",
            "SpareRendererForSitePerProcess",
        )
    ),
    "--mute-audio",
    # Chromium's low-memory profile: smaller image-decode and tile caches, a leaner V8 heap.
    # Measured (bench/audit.py, 4 concurrent audits): peak worker memory 1.46-1.57 GB ->
    # 1.18-1.27 GB, the heavy page's renderer 420 MB -> 145 MB; screenshots pixel-identical,
    # throughput unchanged.
    "--enable-low-end-device-mode",
)
MOBILE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36 PitchFastAudit/1.0"
)
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36 PitchFastAudit/1.0"
)


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs; the caller builds it from app config (no Flask here)."""

    allow_targets: frozenset[str] = frozenset()
    chromium_path: str = CHROMIUM_PATH
    audit_timeout: float = 60.0
    navigation_timeout: float = 20.0
    load_grace: float = 4.0
    settle_ms: int = 250
    step_timeout: float = 15.0
    # axe-core on a heavy page while other audits run needs more than step_timeout; the
    # whole-audit watchdog still bounds it.
    axe_timeout: float = 30.0
    max_requests: int = 800
    max_bytes: int = 60_000_000
    max_connections: int = 64
    fetch_timeout: float = 8.0
    fetch_max_bytes: int = 1_000_000
    desktop_viewport: tuple[int, int] = (1366, 768)
    mobile_viewport: tuple[int, int] = (390, 844)
    mobile_scale: float = 2.0
    image_quality: int = 70
    thumbnail_width: int = 360
    max_full_page_height: int = 8000
    full_page_scale_desktop: float = 1.0
    full_page_scale_mobile: float = 1.0
    annotate_top: int = 4
    concurrency: int = 4
    # Run desktop and mobile passes concurrently only while at most this many audits run.
    parallel_below: int = 1
    # Page loads take the engine's measurement slot one at a time (paint timings measured
    # without our own other page loads on the CPU): wait for it at most measure_wait
    # seconds, hold it at most measure_hold seconds.
    measure_wait: float = 10.0
    measure_hold: float = 6.0
    # Server response time: direct requests of the final URL (median and spread).
    response_time_samples: int = 3
    # A home page answering 404/410/5xx is asked again after these pauses (seconds) before
    # the audit calls the site down.
    down_retry_delays: tuple[float, ...] = (1.0, 2.0)
    # A name that does not exist is looked up again after this pause before the site is down.
    nxdomain_recheck: float = 1.0
    run_axe: bool = True
    element_limit: int = 400
    # Injected name resolver for TargetPolicy (tests use a fake one; None = system DNS).
    resolver: Any = field(default=None, compare=False, hash=False)


# Chromium never proxies loopback by default; "<-loopback>" removes that implicit bypass so
# loopback targets (tests, allowlisted local sites) also pass through our proxy. Playwright
# turns ``bypass`` into ``--proxy-bypass-list``.
BYPASS = "<-loopback>"
# The launch-level proxy is a dead loopback port: a context created without our proxy fails
# closed instead of reaching the network.
FAIL_CLOSED_PROXY: ProxySettings = {"server": "http://127.0.0.1:9", "bypass": BYPASS}


async def launch_browser(pw: Playwright, config: EngineConfig) -> Browser:
    """Launch the one Chromium this worker process reuses."""
    return await pw.chromium.launch(
        executable_path=config.chromium_path,
        args=list(LAUNCH_ARGS),
        headless=True,
        proxy=FAIL_CLOSED_PROXY,
        handle_sigint=False,
        handle_sigterm=False,
        handle_sighup=False,
    )


def context_options(form_factor: str, config: EngineConfig, proxy_server: str) -> dict[str, Any]:
    """Keyword arguments for ``browser.new_context`` for one form factor."""
    common: dict[str, Any] = {
        "proxy": {"server": proxy_server, "bypass": BYPASS},
        "service_workers": "block",
        "accept_downloads": False,
        "ignore_https_errors": False,
        "java_script_enabled": True,
        "bypass_csp": False,
        "locale": "en-US",
    }
    if form_factor == "mobile":
        w, h = config.mobile_viewport
        return {
            **common,
            "viewport": {"width": w, "height": h},
            "screen": {"width": w, "height": h},
            "is_mobile": True,
            "has_touch": True,
            "device_scale_factor": config.mobile_scale,
            "user_agent": MOBILE_UA,
        }
    w, h = config.desktop_viewport
    return {
        **common,
        "viewport": {"width": w, "height": h},
        "device_scale_factor": 1,
        "user_agent": DESKTOP_UA,
    }


async def new_audit_context(
    browser: Browser,
    form_factor: str,
    config: EngineConfig,
    proxy_server: str,
) -> BrowserContext:
    """A fresh, hardened context: popups closed, dialogs dismissed, downloads refused."""
    context = await browser.new_context(**context_options(form_factor, config, proxy_server))
    context.set_default_timeout(config.step_timeout * 1000)
    context.set_default_navigation_timeout(config.navigation_timeout * 1000)
    context.on("page", _on_new_page)
    return context


def _on_new_page(page: Page) -> None:
    # The first page of a context is ours; later ones are popups (window.open, target=_blank).
    if page.context.pages and page.context.pages[0] is not page:
        log.info("closing popup %s", page.url)
        asyncio.ensure_future(_quiet(page.close()))


def harden_page(page: Page, recorder: PageRecorder) -> None:
    """Dismiss every dialog (alert/confirm/prompt/beforeunload) and note downloads."""
    page.on("dialog", lambda d: asyncio.ensure_future(_quiet(d.dismiss())))
    page.on("download", lambda d: recorder.note_download(d.url))
    page.on("pageerror", lambda e: recorder.note_error(str(e), exception=True, stack=e.stack))
    page.on("console", lambda m: recorder.note_console(m.type, m.text, m.location))


async def _quiet(coro: Any) -> None:
    try:
        await coro
    except Exception:  # noqa: BLE001 - page already gone; nothing to do
        log.debug("ignored error while closing", exc_info=True)


@dataclass
class PageRecorder:
    """Network responses (via CDP, with encoded sizes), document hops, console errors."""

    responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    error_details: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    exception_count: int = 0
    downloads: list[str] = field(default_factory=list)
    main_frame: str | None = None

    async def attach(self, page: Page) -> Any:
        """Open a CDP session on ``page`` and start recording."""
        cdp = await page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._on_request)
        cdp.on("Network.responseReceived", self._on_response)
        cdp.on("Network.loadingFinished", self._on_finished)
        await cdp.send("Network.enable", {"maxTotalBufferSize": 0, "maxResourceBufferSize": 0})
        return cdp

    def note_console(self, kind: str, text: str, location: Mapping[str, Any] | None) -> None:
        """A console message: errors count, a missing /favicon.ico too (every browser asks
        for the site icon by itself, and Lighthouse's errors-in-console counts it)."""
        if kind != "error":
            return
        self.note_error(text, where=location)

    def note_error(
        self,
        text: str,
        exception: bool = False,
        *,
        where: Mapping[str, Any] | None = None,
        stack: str | None = None,
    ) -> None:
        """Record a console error or uncaught exception, with the resource and script line
        it came from (``console_errors`` keeps the messages, ``error_details`` the places)."""
        self.error_count += 1
        self.exception_count += int(exception)
        if len(self.console_errors) < 10:
            self.console_errors.append(text[:300])
            self.error_details.append(_error_place(text, exception, where, stack))

    def note_download(self, url: str) -> None:
        """Record a download attempt (refused by the context)."""
        self.downloads.append(url)

    def _on_request(self, p: dict[str, Any]) -> None:
        if p.get("type") != "Document":
            return
        if self.main_frame is None:
            self.main_frame = p.get("frameId")
        if p.get("frameId") != self.main_frame:
            return
        hop = {"url": p["request"]["url"], "redirect_status": None}
        if p.get("redirectResponse"):
            hop["redirect_status"] = p["redirectResponse"].get("status")
        if len(self.documents) < 60:
            self.documents.append(hop)

    def _on_response(self, p: dict[str, Any]) -> None:
        if len(self.responses) >= 1500:
            return
        r = p["response"]
        headers = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
        self.responses[p["requestId"]] = {
            "url": r.get("url", "")[:500],
            "status": r.get("status"),
            "type": p.get("type"),
            "mime": r.get("mimeType"),
            "headers": _keep_headers(headers),
            "from_cache": bool(r.get("fromDiskCache")),
            "bytes": 0,
            "protocol": r.get("protocol"),
            "security": r.get("securityState"),
        }

    def _on_finished(self, p: dict[str, Any]) -> None:
        rec = self.responses.get(p["requestId"])
        if rec is not None:
            rec["bytes"] = int(p.get("encodedDataLength") or 0)

    def summary(self) -> dict[str, Any]:
        """Totals for the metrics section."""
        recs = list(self.responses.values())
        return {"requests": len(recs), "bytes": sum(r["bytes"] for r in recs)}


_STACK_FRAME = re.compile(r"\(?((?:https?|file|blob):[^\s()]+?):(\d+):(\d+)\)?\s*$", re.M)


def _error_place(
    text: str, exception: bool, where: Mapping[str, Any] | None, stack: str | None
) -> dict[str, Any]:
    """{message, kind, url, line, column}: where a console error or exception came from.

    Console messages carry a location (for "Failed to load resource" it is the failing
    resource itself); an uncaught exception's place is the first frame of its stack.
    Lines are 1-based as people read them (CDP's are 0-based)."""
    out: dict[str, Any] = {"message": text[:300], "kind": "exception" if exception else "console"}
    url, line, col = None, None, None
    if where:
        url = str(where.get("url") or "") or None
        raw_line = where.get("lineNumber")
        line = int(raw_line) + 1 if isinstance(raw_line, int) and raw_line >= 0 else None
        raw_col = where.get("columnNumber")
        col = int(raw_col) + 1 if isinstance(raw_col, int) and raw_col >= 0 else None
    if stack and not url:
        m = _STACK_FRAME.search(stack)
        if m:
            url, line, col = m.group(1), int(m.group(2)), int(m.group(3))
    if text.startswith("Failed to load resource"):
        out["kind"], line, col = "resource", None, None  # the URL is the failing resource
    out.update({"url": (url or "")[:500] or None, "line": line, "column": col})
    return out


_KEEP = (
    "content-type",
    "content-encoding",
    "cache-control",
    "expires",
    "etag",
    "last-modified",
    "content-length",
    "strict-transport-security",
    "x-frame-options",
    "content-security-policy",
    "x-robots-tag",
    "location",
    "server",
    "x-powered-by",
    "x-pitchfast-blocked",
    "link",
    "cf-mitigated",
)


def _keep_headers(headers: dict[str, str]) -> dict[str, str]:
    # Link headers can carry canonical/hreflang after long preload lists.
    return {k: headers[k][: 2000 if k == "link" else 300] for k in _KEEP if k in headers}


_NET_CODES = (
    ("ERR_NAME_NOT_RESOLVED", "dns_failure"),
    ("ERR_NAME_RESOLUTION_FAILED", "dns_failure"),
    ("ERR_CONNECTION_REFUSED", "connection_refused"),
    ("ERR_CERT_", "tls_error"),
    ("ERR_SSL_", "tls_error"),
    ("ERR_BAD_SSL", "tls_error"),
    ("ERR_TOO_MANY_REDIRECTS", "too_many_redirects"),
    ("Download is starting", "download"),
    ("ERR_CONNECTION_TIMED_OUT", "timeout"),
    ("ERR_TIMED_OUT", "timeout"),
    ("Timeout", "navigation_timeout"),
    ("Target crashed", "browser_crash"),
    ("Page crashed", "browser_crash"),
    ("has been closed", "browser_crash"),
    ("ERR_", "connection_failed"),
)


def classify_navigation_error(message: str, recorder: PageRecorder) -> str:
    """Map a Playwright navigation error (net::ERR_… text) to one of our error codes."""
    if recorder.downloads:
        return "download"
    for needle, code in _NET_CODES:
        if needle in message:
            if code == "too_many_redirects" and _has_loop(recorder):
                return "redirect_loop"
            if code == "navigation_timeout" and reload_count(recorder) >= 3:
                return "navigation_loop"
            return code
    return "connection_failed"


def reload_count(recorder: PageRecorder) -> int:
    """Main-frame document loads that were not redirects (reload/JS navigation loops)."""
    return sum(1 for d in recorder.documents if d["redirect_status"] is None) - 1


def _has_loop(recorder: PageRecorder) -> bool:
    urls = [d["url"] for d in recorder.documents]
    return len(urls) != len(set(urls))


async def navigate(
    page: Page, url: str, config: EngineConfig, recorder: PageRecorder
) -> dict[str, Any]:
    """Open ``url``: DOMContentLoaded within the navigation limit, then load within a grace.

    A hung sub-resource (tracking pixel) must not fail the audit, so ``load`` is awaited
    best-effort; a document that never parses is a ``navigation_timeout``.
    """
    try:
        response = await page.goto(
            url, wait_until="domcontentloaded", timeout=config.navigation_timeout * 1000
        )
    except Exception as exc:  # noqa: BLE001 - every navigation failure gets a code
        code = classify_navigation_error(str(exc), recorder)
        # The net error name tells a broken certificate (site down) from other TLS trouble.
        raise AuditError(
            code, _first_line(str(exc)) if code in ("connection_failed", "tls_error") else None
        ) from exc
    if response is None:
        raise AuditError("connection_failed", "The page returned no response.")
    load_ok = True
    try:
        await page.wait_for_load_state("load", timeout=config.load_grace * 1000)
    except Exception:  # noqa: BLE001 - slow sub-resources are reported, not fatal
        load_ok = False
    if config.settle_ms:
        await page.wait_for_timeout(config.settle_ms)
    chain: list[str] = []
    req = response.request.redirected_from
    while req is not None and len(chain) < 30:
        chain.insert(0, req.url)
        req = req.redirected_from
    headers = await response.all_headers()
    return {
        "status": response.status,
        "url": response.url,
        "redirects": chain,
        "headers": _keep_headers(headers),
        "load_fired": load_ok,
    }


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "navigation failed"
    return line[:200]
