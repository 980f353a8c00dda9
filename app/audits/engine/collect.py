"""Data collection: one in-page evaluate per form factor, axe-core, and server-side fetches."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import axe_playwright_python
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from app.audits.engine.checks.accessibility import AXE_FORM_FACTOR as AXE_FORM_FACTOR
from app.audits.engine.document import AuditError
from app.audits.engine.fetch import guarded_fetch

log = logging.getLogger(__name__)

# Not run: region (every piece of content in a landmark) has little pitch value and is noisy;
# meta-viewport-large is a best practice Lighthouse does not run either.
AXE_DISABLED = ("meta-viewport-large", "region")
# Costly rules with little pitch value on small-business sites (measured: on a 1,500-element
# page label-content-name-mismatch alone costs a third of color-contrast).
AXE_SKIPPED = (
    "label-content-name-mismatch",
    "image-redundant-alt",
    "hidden-content",
    "frame-focusable-content",
    "accesskeys",
    "identical-links-same-purpose",
)
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
# Best-practice rules (outside the WCAG tags) that Lighthouse runs, plus two of ours.
AXE_BEST_PRACTICE = (
    "landmark-one-main",
    "empty-heading",
    "landmark-unique",
    "aria-allowed-role",
    "presentation-role-conflict",
    "heading-order",
    "aria-dialog-name",
    "aria-treeitem-name",
    "aria-text",
    "skip-link",
    "tabindex",
    "table-duplicate-name",
)

AXE_RUN_JS = """async (a) => {
  /*DESCRIBE*/
  const rules = axe.getRules(a.tags).map((r) => r.ruleId)
    .filter((id) => !a.skip.includes(id)).concat(a.extra.filter((id) => !a.skip.includes(id)));
  const x0 = scrollX, y0 = scrollY;
  const r = await axe.run(document, {...a.opts, runOnly: {type: 'rule', values: rules}});
  scrollTo(x0, y0);  // axe scrolls; boxes below are page coordinates either way
  const el = (t) => { try { return typeof t === 'string' ? document.querySelector(t) : null; }
    catch (e) { return null; } };
  const box = (e) => { if (!e) return null; const b = e.getBoundingClientRect();
    return {x: Math.round(b.left + scrollX), y: Math.round(b.top + scrollY),
    width: Math.round(b.width), height: Math.round(b.height)}; };
  const node = (n) => { const e = el(n.target[0]); return {target: n.target.join(' '),
    html: n.html.slice(0, 200), summary: (n.failureSummary || '').slice(0, 300),
    box: box(e), description: e ? describe(e) : null}; };
  return {version: axe.version, passes: r.passes.map(p => p.id),
    inapplicable: r.inapplicable.map(p => p.id),
    incomplete: r.incomplete.map(p => ({id: p.id, impact: p.impact, help: p.help,
      count: p.nodes.length, error: p.error ? String(p.error.message || p.error) : null})),
    violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      description: v.description, help_url: v.helpUrl, count: v.nodes.length,
      nodes: v.nodes.slice(0, 8).map(node)}))};
}"""


@functools.cache
def describe_js() -> str:
    """``describe(el)``: the human name of an element (shared by the collector and axe run)."""
    return (Path(__file__).with_name("describe.js")).read_text(encoding="utf-8")


@functools.cache
def collect_js() -> str:
    """The in-page collector source (one async function)."""
    source = (Path(__file__).with_name("collect.js")).read_text(encoding="utf-8")
    return source.replace("/*DESCRIBE*/", describe_js(), 1)


@functools.cache
def axe_run_js() -> str:
    """The axe run (one async function), with ``describe`` for the failing elements."""
    return AXE_RUN_JS.replace("/*DESCRIBE*/", describe_js(), 1)


@functools.cache
def axe_source() -> tuple[str, str]:
    """axe-core's source and version, from the axe-playwright-python wheel."""
    path = Path(axe_playwright_python.__file__).with_name("axe.min.js")
    text = path.read_text(encoding="utf-8")
    m = re.search(r"axe v([\d.]+)", text[:200])
    return text, (m.group(1) if m else "unknown")


async def evaluate_stable(page: Page, script: str, arg: Any, timeout: float) -> Any:
    """Evaluate, retrying when a navigation destroys the context; bounded by ``timeout``."""
    for attempt in range(3):
        try:
            return await asyncio.wait_for(page.evaluate(script, arg), timeout)
        except TimeoutError as exc:
            raise AuditError(
                "page_unresponsive", "The page's scripts stopped responding while being audited."
            ) from exc
        except PlaywrightError as exc:
            msg = str(exc)
            if "context was destroyed" not in msg and "navigat" not in msg:
                raise
            log.info("page navigated during collection (attempt %d)", attempt + 1)
            await _wait_load(page, timeout / 3)
    raise AuditError("navigation_loop")


async def _wait_load(page: Page, timeout: float) -> None:
    try:
        await page.wait_for_load_state("load", timeout=timeout * 1000)
    except PlaywrightError:
        log.debug("load state not reached", exc_info=True)


async def collect_page(page: Page, limit: int, timeout: float) -> dict[str, Any]:
    """Run the collector: DOM, SEO, links, images, targets, text and Performance API data."""
    data: dict[str, Any] = await evaluate_stable(page, collect_js(), {"limit": limit}, timeout)
    return data


# Cumulative layout shift as Lighthouse and Core Web Vitals define it: the largest session
# window (shifts at most 1 s apart, a window at most 5 s long), observed until at least 1 s
# after the load event (Lighthouse's pause after load; it may watch longer while the network
# or CPU is busy). Waits at most ``a.max_wait_ms`` for that. Nobody types or taps during an
# audit, so "recent input" can only be our own screenshot (Chromium counts the resize of a
# full-page capture as input): shifts during the capture are left out, those after it count.
LAYOUT_SHIFT_JS = """async (a) => {
  const t0 = performance.now();
  const skipFrom = t0 - a.capture_from_ago_ms - 30, skipTo = t0 - a.capture_to_ago_ms + 30;
  const nav = performance.getEntriesByType('navigation')[0];
  const until = (nav && nav.loadEventEnd ? nav.loadEventEnd : a.collected_at) + a.after_load_ms;
  const wait = Math.max(0, Math.min(a.max_wait_ms, until - t0));
  if (wait) await new Promise((r) => setTimeout(r, wait));
  // Shifts are scored when a frame is rendered: ask for two (bounded: a page that renders
  // no frames just answers with what it has).
  await Promise.race([new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))),
                      new Promise((r) => setTimeout(r, 200))]);
  // Layout shifts are not in the performance timeline: a buffered observer replays them.
  const shifts = await new Promise((resolve) => {
    const out = [];
    try {
      const po = new PerformanceObserver((l) => out.push(...l.getEntries()));
      po.observe({ type: 'layout-shift', buffered: true });
      setTimeout(() => { out.push(...po.takeRecords()); po.disconnect(); resolve(out); }, 30);
    } catch (e) { resolve(out); }
  });
  let cls = 0, win = 0, start = 0, last = 0, skipped = 0;
  for (const e of shifts) {
    if (e.startTime >= skipFrom && e.startTime <= skipTo) { skipped++; continue; }
    if (e.startTime - last > 1000 || e.startTime - start > 5000) { win = 0; start = e.startTime; }
    win += e.value; last = e.startTime; cls = Math.max(cls, win);
  }
  return {cls: Math.round(cls * 1000) / 1000, waited_ms: Math.round(wait), skipped};
}"""
AFTER_LOAD_MS = 1000


async def late_layout_shift(
    page: Page, data: dict[str, Any], timeout: float, capture: tuple[float, float] | None = None
) -> None:
    """Read CLS again, at least a second after ``load``: layout shifts keep coming after the
    collect (a late banner, web fonts, images without a size) and Lighthouse counts them.
    ``capture``: when our screenshots were taken (``perf_counter`` start and end); shifts
    then are ours, not the page's. Usually costs nothing (the screenshots take that long);
    updates ``data["perf"]["cls"]`` and keeps the first reading as ``cls_at_collect``."""
    perf = data.get("perf")
    if not isinstance(perf, dict) or perf.get("collected_at") is None:
        return
    now = time.perf_counter()
    start, end = capture or (now, now)
    arg = {"collected_at": perf["collected_at"], "after_load_ms": AFTER_LOAD_MS,
           "max_wait_ms": AFTER_LOAD_MS, "capture_from_ago_ms": (now - start) * 1000,
           "capture_to_ago_ms": (now - end) * 1000}
    try:
        # At most a second of waiting: a page that stopped responding is not waited for.
        late = await asyncio.wait_for(page.evaluate(LAYOUT_SHIFT_JS, arg), min(timeout, 3.0))
    except (PlaywrightError, TimeoutError):
        log.debug("late layout-shift read failed", exc_info=True)
        return
    if isinstance(late, dict) and isinstance(late.get("cls"), int | float):
        perf["cls_at_collect"] = perf.get("cls")
        perf["cls"] = max(float(late["cls"]), float(perf.get("cls") or 0))
        perf["cls_waited_ms"] = late.get("waited_ms")


async def run_axe(page: Page, timeout: float) -> dict[str, Any]:
    """Inject axe-core (evaluate bypasses the page's CSP) and run the selected rules."""
    source, version = axe_source()
    # A plain expression is parsed once; wrapping it in a function costs a second parse.
    await evaluate_stable(page, source + "\n;true", None, timeout)
    arg = {
        "tags": list(AXE_TAGS),
        "skip": [*AXE_DISABLED, *AXE_SKIPPED],
        "extra": list(AXE_BEST_PRACTICE),
        "opts": {
            "resultTypes": ["violations"],
            "iframes": False,
            "elementRef": False,
            "ancestry": False,
            "xpath": False,
        },
    }
    result: dict[str, Any] = await evaluate_stable(page, axe_run_js(), arg, timeout)
    result["version"] = result.get("version") or version
    return result


# ---------------------------------------------------------------- server-side fetches


async def _fetch(url: str, policy: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(guarded_fetch, url, policy, **kw)


async def _safe_fetch(url: str, policy: Any, **kw: Any) -> dict[str, Any]:
    try:
        res = await _fetch(url, policy, **kw)
    except Exception as exc:  # noqa: BLE001 - any failure means "could not check"
        return {
            "url": url,
            "error": getattr(exc, "code", type(exc).__name__),
            "message": str(getattr(exc, "message", exc))[:200],
        }
    body = res.body if isinstance(res.body, bytes | bytearray) else b""
    return {
        "url": url,
        "final_url": res.final_url,
        "status": res.status,
        "headers": {str(k).lower(): str(v) for k, v in dict(res.headers or {}).items()},
        "body": body.decode("utf-8", "replace"),
        "redirects": list(res.redirects or []),
        "tls": res.tls,
    }


async def fetch_server_side(
    final_url: str, policy: Any, timeout: float, max_bytes: int
) -> dict[str, Any]:
    """robots.txt, sitemap, http→https redirect and TLS data, fetched through the guard."""
    parts = urlsplit(final_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    kw = {"max_bytes": max_bytes, "timeout": timeout, "max_redirects": 5, "method": "GET"}
    http_url = "http://" + parts.netloc + (parts.path or "/")
    jobs = {
        "robots": _safe_fetch(urljoin(origin, "/robots.txt"), policy, **kw),
        "sitemap": _safe_fetch(urljoin(origin, "/sitemap.xml"), policy, **kw),
        # Browsers ask for /favicon.ico by themselves, often after we stop listening; a 404
        # there is a console error Lighthouse counts (see errors-in-console).
        "favicon": _safe_fetch(
            urljoin(origin, "/favicon.ico"), policy, **{**kw, "max_bytes": 200_000}
        ),
    }
    if parts.scheme == "https":
        jobs["http"] = _safe_fetch(http_url, policy, **{**kw, "method": "HEAD"})
        jobs["https"] = _safe_fetch(final_url, policy, **{**kw, "method": "HEAD"})
    values = await asyncio.gather(*jobs.values())
    out = dict(zip(jobs, values, strict=True))
    out["robots_parsed"] = parse_robots(out["robots"], final_url)
    return out


_ROBOTS_FIELDS = {
    "user-agent",
    "disallow",
    "allow",
    "sitemap",
    "crawl-delay",
    "host",
    "noindex",
    "clean-param",
    "request-rate",
    "visit-time",
}


def parse_robots(fetched: dict[str, Any], page_url: str) -> dict[str, Any]:
    """Validity, crawlability of ``page_url`` and sitemap lines of a fetched robots.txt."""
    if fetched.get("error") or fetched.get("status") != 200:
        return {"present": False, "status": fetched.get("status"), "error": fetched.get("error")}
    text = fetched.get("body", "")
    if "<html" in text[:500].lower():
        return {"present": False, "status": 200, "html": True}
    bad = []
    sitemaps = []
    for n, line in enumerate(text.splitlines()[:2000], 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep or key.strip().lower() not in _ROBOTS_FIELDS:
            bad.append({"line": n, "text": line[:100]})
        elif key.strip().lower() == "sitemap":
            sitemaps.append(value.strip())
    rp = RobotFileParser()
    rp.parse(text.splitlines())
    allowed = rp.can_fetch("Googlebot", page_url) and rp.can_fetch("*", page_url)
    return {
        "present": True,
        "status": 200,
        "invalid_lines": bad[:10],
        "invalid_count": len(bad),
        "allowed": allowed,
        "sitemaps": sitemaps[:10],
    }
