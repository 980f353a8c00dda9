"""Mobile usability checks (measured in the 390 px mobile pass)."""

from __future__ import annotations

import re
from typing import Any

from app.audits.engine.checks.base import (
    AuditData,
    NotChecked,
    axe_elements,
    axe_verdict,
    check,
    element,
    fail,
    info,
    not_applicable,
    ok,
    page,
    px,
    size_px,
)

CAT = "mobile"
MIN_TARGET = 24
#: Lighthouse fails font-size when less than this share of the text is 12 px or more.
LEGIBLE_SHARE = 0.6


_VIEWPORT_PROPS = {
    "width", "height", "initial-scale", "minimum-scale", "maximum-scale", "user-scalable",
    "shrink-to-fit", "viewport-fit", "interactive-widget",
}
_KEYWORDS = {"yes", "no", "device-width", "device-height"}
_SEP = " \n\t\r,;="


def _js_float(value: str) -> float | None:
    """JavaScript's ``parseFloat``: the longest numeric prefix, or None."""
    m = re.match(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)", value)
    return float(m.group(1)) if m else None


def parse_viewport(content: str) -> dict[str, Any]:
    """The properties of a viewport ``content`` as Lighthouse's parser (metaviewport-parser)
    reads them: a number, an accepted keyword, or None for an invalid value."""
    props: dict[str, Any] = {}
    i, n = 0, len(content)
    while i < n:
        while i < n and content[i] in _SEP:
            i += 1
        start = i
        while i < n and content[i] not in _SEP:
            i += 1
        name = content[start:i]
        while i < n and content[i] not in ",;=":
            i += 1
        if i >= n or content[i] in ",;":
            continue
        while i < n and content[i] in " \n\t\r=":
            i += 1
        if i >= n or content[i] in ",;":
            continue
        start = i
        while i < n and content[i] not in _SEP:
            i += 1
        value = content[start:i]
        if name not in _VIEWPORT_PROPS:
            continue
        number, low = _js_float(value), value.lower()
        if number is not None:
            props[name] = number
        elif low in _KEYWORDS or (name == "viewport-fit" and low in ("auto", "cover")):
            props[name] = low
        elif name == "interactive-widget" and low in (
            "overlays-content", "resizes-content", "resizes-visual"
        ):
            props[name] = low
        else:
            props[name] = None
    return props


@check("viewport", CAT, "critical")
def viewport(data: AuditData) -> Any:
    """Lighthouse's viewport: a ``<meta name=viewport>`` in ``<head>`` that sets ``width``
    or an ``initial-scale`` of at least 1. Zoom is judged by axe-core's ``meta-viewport``."""
    values = [v for v in page(data, "mobile").get("viewport", []) if v is not None]
    if not values:
        return fail("The site is not set up for phones", "No <meta name=viewport>.")
    props = parse_viewport(values[0] or "")
    scale = props.get("initial-scale")
    if isinstance(scale, float) and scale < 1:
        return fail(
            "The site is not set up for phones",
            "The viewport's initial-scale is under 1.",
            value=values[0],
        )
    if not (props.get("width") or (isinstance(scale, float) and scale)):
        return fail(
            "The site is not set up for phones",
            "The viewport sets neither width nor initial-scale.",
            value=values[0],
        )
    return ok("The site is set up for phones", value=values[0])


@check("horizontal-scroll", CAT, "high")
def horizontal_scroll(data: AuditData) -> Any:
    """Content fits a 390 px viewport."""
    pg = page(data, "mobile")
    width, vw = int(pg.get("doc_width") or 0), int(pg.get("viewport_width") or 0)
    zoom = float(pg.get("visual_scale") or 1)
    if zoom < 0.99:
        return info(
            "The phone shows a shrunken desktop page instead of scrolling sideways",
            f"No mobile viewport: the {px(width)} wide page is shown at {zoom:.0%} of its size "
            "(see viewport).",
            content_width=px(width),
            layout_width=px(vw),
            zoom=f"{zoom:.0%}",
        )
    if width > vw + 1:
        return fail(
            "The page is wider than a phone screen",
            f"Content is {px(width)} wide on a {px(vw)} screen; visitors must scroll sideways.",
            content_width=px(width),
            viewport_width=px(vw),
        )
    return ok("The page fits a phone screen", content_width=px(width), viewport_width=px(vw))


@check("target-size", CAT, "high")
def target_size(data: AuditData) -> Any:
    """axe-core's target-size (WCAG 2.2 SC 2.5.8, as Lighthouse runs it), on the phone:
    each tap target is at least 24 × 24 px or has room around it; inline links exempt."""
    verdict = axe_verdict(data, "target-size")
    if verdict is None:
        raise NotChecked(str(data.get("axe_error") or "axe-core did not run"))
    if verdict[0] == "inapplicable":
        return not_applicable("No buttons or links to tap")
    if verdict[0] == "violation":
        v = verdict[1] or {}
        count = int(v.get("count") or len(v.get("nodes", [])))
        return fail(
            "Buttons and links are too small or too close to tap on a phone",
            f"{count} tap target(s) under {MIN_TARGET} × {MIN_TARGET} px without room around "
            "them.",
            count=count,
            elements=axe_elements(v),
            form_factor="mobile",
        )
    return ok("Buttons and links are easy to tap")


def _mobile_viewport(pg: dict[str, Any]) -> bool:
    """Lighthouse's "mobile-optimized" viewport (the same rule as ``viewport``)."""
    values = [v for v in pg.get("viewport", []) if v is not None]
    if not values:
        return False
    props = parse_viewport(values[0] or "")
    scale = props.get("initial-scale")
    if isinstance(scale, float) and scale < 1:
        return False
    return bool(props.get("width") or (isinstance(scale, float) and scale))


@check("font-size", CAT, "medium")
def font_size(data: AuditData) -> Any:
    """Lighthouse's font-size (mobile): fails without a mobile viewport (the phone shrinks
    the page), or when less than 60 % of the text is at least 12 CSS px."""
    pg = page(data, "mobile")
    if not _mobile_viewport(pg):
        return fail(
            "Text is too small to read on a phone",
            "No viewport set up for phones: the phone shrinks the whole page (see viewport).",
            form_factor="mobile",
        )
    font = pg.get("font") or {}
    total, small = font.get("total_chars", 0), font.get("small_chars", 0)
    if not total:
        return ok("Text is readable on a phone", "No text to measure.")
    share = small / total
    ev: dict[str, Any] = {
        "small_text": f"{share:.0%}",
        "examples": [
            element(x, size=f"{x.get('size_px', x.get('size'))} px", text=x.get("text"))
            for x in font.get("samples", [])[:5]
        ],
        "form_factor": "mobile",
    }
    if share > 1 - LEGIBLE_SHARE:
        return fail(
            "Most text is too small to read on a phone",
            f"{share:.0%} of the text is under 12 px; at least {LEGIBLE_SHARE:.0%} should be "
            "12 px or more.",
            **ev,
        )
    detail = f"{share:.0%} of the text is under 12 px." if small else ""
    return ok("Text is readable on a phone", detail, **ev)


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
        elements=[
            element(
                i,
                src=(i.get("src") or "")[:200],
                shown_at=size_px(i["box"]["width"], i["box"]["height"]) if i.get("box") else None,
            )
            for i in items[:10]
        ],
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
        return not_applicable("No phone number to tap", "No phone number found on the page.")
    return fail(
        "Phone visitors cannot call with one tap",
        "A phone number is shown but there is no tel: link.",
        phone=phones[0].get("display") or phones[0]["value"],
    )
