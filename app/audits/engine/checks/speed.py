"""Speed checks from Performance API data and recorded network responses, both form factors."""

from __future__ import annotations

import re
from typing import Any

from app.audits.engine.checks.base import (
    AuditData,
    NotChecked,
    check,
    element,
    fail,
    info,
    kb,
    ms,
    not_applicable,
    ok,
    page,
    size_px,
    warn,
)

CAT = "speed"
FORMS = ("desktop", "mobile")
TEXT_MIME = re.compile(r"text/|javascript|json|xml|svg")
STATIC_TYPES = {"Script", "Stylesheet", "Image", "Font"}
MB = 1024 * 1024


def _file(url: str) -> str:
    """The file name a business owner would recognise in a URL."""
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name[:80] or url[:80]


def _metric(data: AuditData, key: str) -> dict[str, float]:
    values = {ff: (data.get("metrics") or {}).get(ff, {}).get(key) for ff in FORMS}
    values = {ff: v for ff, v in values.items() if v is not None}
    if not values:
        raise NotChecked(f"{key} not measured")
    return values


def _threshold(
    data: AuditData,
    key: str,
    warn_at: float,
    fail_at: float | None,
    unit: str,
    titles: tuple[str, str, str],
) -> Any:
    values = _metric(data, key)
    worst_ff = max(values, key=lambda ff: values[ff])
    worst = values[worst_ff]
    shown = {ff: ms(v) if unit.strip() == "ms" else f"{v}{unit}" for ff, v in values.items()}
    ev = {"values": values, "unit": unit, "worst": worst_ff, "measured": shown,
          # for "what changed": the pass/problem boundary this value is compared with
          "metric": {"value": worst, "unit": unit.strip(), "threshold": warn_at}}
    detail = ", ".join(f"{ff} {v}" for ff, v in shown.items())
    if fail_at is not None and worst > fail_at:
        return fail(titles[2], detail, **ev)
    if worst > warn_at:
        return (warn if fail_at is not None else fail)(titles[1], detail, **ev)
    return ok(titles[0], detail, **ev)


#: Lighthouse's server-response-time fails at 600 ms and more (it passes below).
SERVER_RESPONSE_MS = 600


@check("server-response-time", CAT, "medium")
def server_response_time(data: AuditData) -> Any:
    """The root document answers within 600 ms, as Lighthouse measures it (request sent to
    response headers received), from direct requests outside the browser: the median of
    repeated requests, with their spread as evidence."""
    measured = (data.get("server") or {}).get("response_time") or {}
    samples = [int(v) for v in measured.get("samples_ms") or []]
    if not samples:
        errors = "; ".join(measured.get("errors") or [])
        raise NotChecked("the server response time could not be measured"
                         + (f" ({errors[:200]})" if errors else ""))
    median, spread = int(measured["median_ms"]), int(measured["spread_ms"])
    detail = (f"The home page's server answered in {ms(median)} (median of {len(samples)} "
              f"requests, which ranged over {ms(spread)}).")
    ev = {
        "url": measured.get("url"),
        "samples_ms": samples,
        "median_ms": median,
        "spread_ms": spread,
        "threshold_ms": SERVER_RESPONSE_MS,
        "measured": ms(median),
        # What "what changed" compares: a move across the threshold counts only beyond
        # max(10 %, this spread).
        "metric": {"value": median, "unit": "ms", "threshold": SERVER_RESPONSE_MS,
                   "spread": spread},
    }
    if median >= SERVER_RESPONSE_MS:
        return fail("The server is slow to answer", detail, **ev)
    return ok("The server answers quickly", detail, **ev)


@check("largest-contentful-paint", CAT, "high")
def lcp(data: AuditData) -> Any:
    """Main content visible within 2.5 s (warn) / 4 s (fail)."""
    return _threshold(
        data,
        "lcp",
        2500,
        4000,
        " ms",
        (
            "The main content appears quickly",
            "The main content appears slowly",
            "The main content takes too long to appear",
        ),
    )


@check("cumulative-layout-shift", CAT, "medium")
def cls(data: AuditData) -> Any:
    """Layout shift under 0.1 (warn) / 0.25 (fail)."""
    return _threshold(
        data,
        "cls",
        0.1,
        0.25,
        "",
        (
            "The page stays stable while loading",
            "The page jumps around while loading",
            "The page jumps around a lot while loading",
        ),
    )


@check("first-contentful-paint", CAT, "medium")
def fcp(data: AuditData) -> Any:
    """First content within 1.8 s (warn) / 3 s (fail)."""
    return _threshold(
        data,
        "fcp",
        1800,
        3000,
        " ms",
        (
            "Something appears on screen quickly",
            "The screen stays blank for a while",
            "The screen stays blank for too long",
        ),
    )


def _responses(data: AuditData) -> list[dict[str, Any]]:
    net = data.get("network") or {}
    recs: list[dict[str, Any]] | None = net.get("mobile") or net.get("desktop")
    if not recs:
        raise NotChecked("no network data")
    return recs


@check("total-byte-weight", CAT, "medium")
def total_byte_weight(data: AuditData) -> Any:
    """Page under 3 MB; no image over 500 KB."""
    recs = _responses(data)
    total = sum(r["bytes"] for r in recs)
    big = sorted(
        (r for r in recs if r.get("type") == "Image" and r["bytes"] > 500 * 1024),
        key=lambda r: -r["bytes"],
    )
    ev = {
        "bytes": total,
        "size": kb(total),
        "requests": len(recs),
        "large_images": [
            {"description": _file(r["url"]), "size": kb(r["bytes"]), "url": r["url"]}
            for r in big[:5]
        ],
    }
    if total > 3 * MB:
        return fail(
            "The page is heavy to download", f"{kb(total)} in {len(recs)} requests.", **ev
        )
    if big:
        return fail(
            "Some images are very large files",
            f"{len(big)} image(s) over 500 KB; the largest is {kb(big[0]['bytes'])}.",
            **ev,
        )
    return ok("The page is light to download", f"{kb(total)} in {len(recs)} requests.", **ev)


@check("image-delivery", CAT, "medium")
def image_delivery(data: AuditData) -> Any:
    """Images not far larger than displayed, in a modern format."""
    pg = page(data)
    by_url = {r["url"]: r for r in _responses(data) if r.get("type") == "Image"}
    oversized, legacy = [], []
    seen: set[str] = set()
    for img in pg.get("images", []):
        box, nw, nh = (
            img.get("box") or {},
            img.get("natural_width", 0),
            img.get("natural_height", 0),
        )
        rec = by_url.get(img.get("src") or "")
        if not rec or not img.get("visible") or rec["bytes"] < 50_000 or img["src"] in seen:
            continue
        seen.add(img["src"])
        if nw * nh > 4 * max(1, box.get("width", 0) * box.get("height", 0)):
            oversized.append(
                element(
                    img,
                    file_size=kb(rec["bytes"]),
                    natural_size=size_px(nw, nh),
                    shown_at=size_px(box.get("width", 0), box.get("height", 0)),
                    src=img["src"][:200],
                )
            )
        if re.search(r"image/(jpeg|png|gif|bmp)", rec.get("mime") or ""):
            legacy.append(
                {
                    "description": _file(img["src"]),
                    "format": rec.get("mime"),
                    "file_size": kb(rec["bytes"]),
                    "src": img["src"][:200],
                }
            )
    if oversized or legacy:
        return warn(
            "Images could be smaller and faster",
            f"{len(oversized)} oversized, {len(legacy)} not in WebP/AVIF.",
            elements=oversized[:8],
            legacy_format=legacy[:8],
        )
    return ok("Images are delivered efficiently")


@check("uses-text-compression", CAT, "medium")
def text_compression(data: AuditData) -> Any:
    """Text responses compressed with gzip/brotli/zstd."""
    bad = [
        r
        for r in _responses(data)
        if TEXT_MIME.search(r.get("mime") or "")
        and r["bytes"] > 1400
        and not r["headers"].get("content-encoding")
        and r.get("status") == 200
    ]
    if bad:
        return fail(
            "Text files are sent uncompressed",
            f"{len(bad)} response(s) without gzip/brotli.",
            examples=[
                {"description": _file(r["url"]), "size": kb(r["bytes"]), "url": r["url"]}
                for r in bad[:8]
            ],
        )
    return ok("Text files are compressed")


def _cache_state(h: dict[str, str]) -> str:
    cc = h.get("cache-control", "").lower()
    if re.search(r"max-age=([1-9]\d*)", cc) or (h.get("expires") and "no-cache" not in cc):
        return "cached"
    if h.get("etag") or h.get("last-modified"):
        return "revalidate"
    return "none"


@check("cache-headers", CAT, "low")
def cache_headers(data: AuditData) -> Any:
    """Static assets carry caching headers."""
    static = [
        r
        for r in _responses(data)
        if r.get("type") in STATIC_TYPES
        and r.get("status") == 200
        and not r["url"].startswith("data:")
    ]
    if not static:
        return not_applicable("No static files to cache")
    none = [r for r in static if _cache_state(r["headers"]) == "none"]
    reval = [r for r in static if _cache_state(r["headers"]) == "revalidate"]
    ev = {
        "uncached": [r["url"] for r in none[:8]],
        "revalidate_only": [r["url"] for r in reval[:8]],
    }
    if none:
        return fail(
            "Returning visitors download everything again",
            f"{len(none)} of {len(static)} static file(s) have no caching headers.",
            **ev,
        )
    if reval:
        return warn(
            "Static files are re-checked on every visit",
            f"{len(reval)} file(s) only have ETag/Last-Modified.",
            **ev,
        )
    return ok("Static files are cached by browsers")


@check("render-blocking-resources", CAT, "info")
def render_blocking(data: AuditData) -> Any:
    """Blocking CSS/JS in the head (info)."""
    blocking = page(data).get("blocking", [])
    if blocking:
        return info(
            "Some files delay the first paint",
            f"{len(blocking)} blocking stylesheet(s)/script(s) in <head>.",
            urls=blocking[:10],
        )
    return ok("Nothing blocks the first paint")


@check("dom-size", CAT, "info")
def dom_size(data: AuditData) -> Any:
    """Over 1,500 elements (info)."""
    size = int(page(data).get("dom_size") or 0)
    if size > 1500:
        return info(
            "The page is very complex", f"{size} elements; over 1,500 slows phones.", elements=size
        )
    return ok("The page structure is lean", f"{size} elements.", elements=size)
