"""Data collection: one in-page evaluate per form factor, axe-core, and server-side fetches."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from app.audits.document import AuditError

log = logging.getLogger(__name__)

# Our own catalogue implements these; axe's copies would duplicate ids in the document.
AXE_DISABLED = (
    "image-alt",
    "heading-order",
    "html-has-lang",
    "html-lang-valid",
    "target-size",
    "meta-viewport",
    "meta-viewport-large",
    "region",
    "document-title",
)
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
AXE_BEST_PRACTICE = (
    "landmark-one-main",
    "empty-heading",
    "landmark-unique",
    "aria-allowed-role",
    "presentation-role-conflict",
    "meta-viewport-large",
)

AXE_RUN_JS = """async (a) => {
  const rules = axe.getRules(a.tags).map((r) => r.ruleId)
    .filter((id) => !a.skip.includes(id)).concat(a.extra);
  const r = await axe.run(document, {...a.opts, runOnly: {type: 'rule', values: rules}});
  const box = (sel) => { try { const e = document.querySelector(sel); if (!e) return null;
    const b = e.getBoundingClientRect(); return {x: Math.round(b.left + scrollX),
    y: Math.round(b.top + scrollY), width: Math.round(b.width), height: Math.round(b.height)};
  } catch (e) { return null; } };
  return {version: axe.version, passes: r.passes.map(p => p.id),
    incomplete: r.incomplete.map(p => ({id: p.id, impact: p.impact, help: p.help})),
    violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      description: v.description, help_url: v.helpUrl, count: v.nodes.length,
      nodes: v.nodes.slice(0, 8).map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
        summary: (n.failureSummary || '').slice(0, 300),
        box: typeof n.target[0] === 'string' ? box(n.target[0]) : null}))}))};
}"""


@functools.cache
def collect_js() -> str:
    """The in-page collector source (one async function)."""
    return (Path(__file__).with_name("collect.js")).read_text(encoding="utf-8")


@functools.cache
def axe_source() -> tuple[str, str]:
    """axe-core's source and version, from the axe-playwright-python wheel."""
    import axe_playwright_python

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
    return await evaluate_stable(page, collect_js(), {"limit": limit}, timeout)


async def run_axe(page: Page, timeout: float) -> dict[str, Any]:
    """Inject axe-core (evaluate bypasses the page's CSP) and run the selected rules."""
    source, version = axe_source()
    # A plain expression is parsed once; wrapping it in a function costs a second parse.
    await evaluate_stable(page, source + "\n;true", None, timeout)
    arg = {
        "tags": list(AXE_TAGS),
        "skip": [*AXE_DISABLED, *AXE_SKIPPED],
        "extra": [r for r in AXE_BEST_PRACTICE if r not in AXE_DISABLED],
        "opts": {
            "resultTypes": ["violations"],
            "iframes": False,
            "elementRef": False,
            "ancestry": False,
            "xpath": False,
        },
    }
    result = await evaluate_stable(page, AXE_RUN_JS, arg, timeout)
    result["version"] = result.get("version") or version
    return result


# ---------------------------------------------------------------- server-side fetches


async def _fetch(url: str, policy: Any, **kw: Any) -> Any:
    from app.audits import fetch as fetch_mod

    fn = fetch_mod.guarded_fetch
    if inspect.iscoroutinefunction(fn):
        return await fn(url, policy, **kw)
    return await asyncio.to_thread(fn, url, policy, **kw)


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
