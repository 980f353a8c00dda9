"""Mobile usability checks (measured in the 390 px mobile pass)."""

from __future__ import annotations

import math
import re
from typing import Any

from app.audits.checks.base import AuditData, check, element, fail, info, ok, page, warn

CAT = "mobile"
MIN_TARGET = 24


@check("viewport", CAT, "critical")
def viewport(data: AuditData) -> Any:
    """width=device-width, zoom not disabled."""
    values = [v for v in page(data, "mobile").get("viewport", []) if v]
    if not values:
        return fail("The site is not set up for phones", "No <meta name=viewport>.")
    vp = values[0].lower().replace(" ", "")
    if "width=device-width" not in vp:
        return fail(
            "The site is not set up for phones",
            "The viewport does not use width=device-width.",
            value=values[0],
        )
    m = re.search(r"maximum-scale=([\d.]+)", vp)
    if "user-scalable=no" in vp or "user-scalable=0" in vp or (m and float(m.group(1)) < 2):
        return fail(
            "Visitors cannot zoom in on phones", "The viewport disables zoom.", value=values[0]
        )
    return ok("The site is set up for phones", value=values[0])


@check("horizontal-scroll", CAT, "high")
def horizontal_scroll(data: AuditData) -> Any:
    """Content fits a 390 px viewport."""
    pg = page(data, "mobile")
    width, vw = int(pg.get("doc_width") or 0), int(pg.get("viewport_width") or 0)
    if float(pg.get("visual_scale") or 1) < 0.99:
        return info(
            "The phone shows a shrunken desktop page instead of scrolling sideways",
            "No mobile viewport: the page is zoomed out (see viewport).",
            content_width=width,
            layout_width=vw,
            zoom=pg.get("visual_scale"),
        )
    if width > vw + 1:
        return fail(
            "The page is wider than a phone screen",
            f"Content is {width} px wide on a {vw} px screen; visitors must scroll sideways.",
            content_width=width,
            viewport_width=vw,
        )
    return ok("The page fits a phone screen", content_width=width, viewport_width=vw)


def _center(t: dict[str, Any]) -> tuple[float, float]:
    b = t["box"]
    return b["x"] + b["width"] / 2, b["y"] + b["height"] / 2


def _crowded(t: dict[str, Any], targets: list[dict[str, Any]], zoom: float) -> bool:
    """WCAG 2.5.8 spacing: a 24 px circle around the target's centre touches no other target's."""
    cx, cy = _center(t)
    for o in targets:
        if o is t:
            continue
        ox, oy = _center(o)
        if math.hypot(cx - ox, cy - oy) * zoom < MIN_TARGET:
            return True
    return False


@check("target-size", CAT, "high")
def target_size(data: AuditData) -> Any:
    """Tap targets at least 24×24 px or well spaced (WCAG 2.2 SC 2.5.8)."""
    pg = page(data, "mobile")
    zoom = float(pg.get("visual_scale") or 1)
    targets = [
        {**t, "w": t["w"] * zoom, "h": t["h"] * zoom}
        for t in pg.get("targets", [])
        if not t.get("inline")
    ]
    small = [t for t in targets if t["w"] < MIN_TARGET or t["h"] < MIN_TARGET]
    bad = [t for t in small if _crowded(t, targets[:400], zoom)]
    if not targets:
        return info("No buttons or links to tap")
    if not bad:
        return ok("Buttons and links are easy to tap", count=len(targets), small=len(small))
    ev = {
        "count": len(bad),
        "elements": [
            element(t, text=t.get("text"), size=f"{t['w']:.0f}×{t['h']:.0f}") for t in bad[:10]
        ],
    }
    if len(bad) >= 3:
        return fail(
            "Buttons and links are too small or too close to tap on a phone",
            f"{len(bad)} tap target(s) under {MIN_TARGET} px and crowded.",
            **ev,
        )
    return warn(
        "A few buttons or links are hard to tap on a phone",
        f"{len(bad)} tap target(s) under {MIN_TARGET} px and crowded.",
        **ev,
    )


@check("font-size", CAT, "medium")
def font_size(data: AuditData) -> Any:
    """Most body text at least 12 px on mobile."""
    font = page(data, "mobile").get("font") or {}
    total, small = font.get("total_chars", 0), font.get("small_chars", 0)
    if not total:
        return info("No text to measure")
    share = small / total
    ev = {"small_share": round(share, 3), "examples": font.get("samples", [])[:5]}
    if share > 0.5:
        return fail(
            "Most text is too small to read on a phone",
            f"{share:.0%} of text is under 12 px.",
            **ev,
        )
    if share > 0.2:
        return warn(
            "Some text is too small to read on a phone",
            f"{share:.0%} of text is under 12 px.",
            **ev,
        )
    return ok("Text is readable on a phone", **ev)


def _unsized(pg: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        i
        for i in pg.get("images", [])
        if i.get("visible")
        and not (i.get("width_attr") and i.get("height_attr"))
        and not i.get("css_sized")
        and not (i.get("src") or "").startswith("data:")
    ]


@check("unsized-images", CAT, "low")
def unsized_images(data: AuditData) -> Any:
    """Images have width and height (both form factors)."""
    desktop, mobile = _unsized(data.get("desktop") or {}), _unsized(page(data, "mobile"))
    seen: dict[str, dict[str, Any]] = {}
    for img in mobile + desktop:
        seen.setdefault(img.get("selector") or "", img)
    if not seen:
        return ok("Images reserve their space while loading")
    items = list(seen.values())
    return fail(
        "Images make the page jump while loading",
        f"{len(items)} image(s) without width and height attributes.",
        count=len(items),
        elements=[element(i, src=(i.get("src") or "")[:200]) for i in items[:10]],
    )


@check("tap-to-call", CAT, "high")
def tap_to_call(data: AuditData) -> Any:
    """A phone number on the page is a tel: link on mobile."""
    pg = page(data, "mobile")
    tel = [
        lk for lk in pg.get("links", []) if (lk.get("raw_href") or "").lower().startswith("tel:")
    ]
    phones = (data.get("contacts") or {}).get("phones") or []
    if tel:
        return ok(
            "Phone visitors can call with one tap",
            href=tel[0]["raw_href"],
            elements=[element(tel[0])],
        )
    if not phones:
        return info("No phone number to tap", "No phone number found on the page.")
    return fail(
        "Phone visitors cannot call with one tap",
        "A phone number is shown but there is no tel: link.",
        phone=phones[0]["value"],
    )
