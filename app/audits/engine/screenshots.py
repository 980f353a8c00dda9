"""Screenshots: JPEG straight from Chromium (CDP), Pillow thumbnails and annotated crops.

Capturing JPEG in Chromium avoids PNG encoding (the dominant cost of a naive audit) and a
Pillow re-encode; WebP is only used for thumbnails because it cannot hold images taller
than 16,383 px. Box coordinates are CSS pixels in page space, as collected in the page.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from app.audits.engine.document import Finding, Screenshot

log = logging.getLogger(__name__)

RED = (225, 29, 72)
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
MOBILE_CHECKS = {"target-size", "font-size", "horizontal-scroll", "tap-to-call"}
MAX_CROP_CSS = 1400


async def capture(
    cdp: Any,
    pg: dict[str, Any],
    *,
    scale: float,
    full_scale: float,
    max_height: int,
    quality: int,
    timeout: float,
) -> dict[str, Any]:
    """Viewport and (height-capped) full-page JPEGs via ``Page.captureScreenshot``."""
    vw, vh = int(pg["viewport_width"]), int(pg["viewport_height"])
    height = max(vh, min(int(pg.get("doc_height") or vh), max_height))
    # A zoomed-out page (no viewport meta on mobile): capture what the visitor sees.
    zoom = float(pg.get("visual_scale") or 1.0)
    scale, full_scale = scale * zoom, full_scale * zoom

    async def shot(h: int, s: float, beyond: bool) -> bytes:
        params = {
            "format": "jpeg",
            "quality": quality,
            "captureBeyondViewport": beyond,
            "clip": {"x": 0, "y": 0, "width": vw, "height": h, "scale": s},
        }
        res = await asyncio.wait_for(cdp.send("Page.captureScreenshot", params), timeout)
        return base64.b64decode(res["data"])

    viewport = await shot(vh, scale, False)
    full = await shot(height, full_scale, True)
    return {
        "viewport": viewport,
        "full": full,
        "full_scale": full_scale,
        "scale": scale,
        "height_css": height,
        "truncated": int(pg.get("doc_height") or 0) > max_height,
    }


async def capture_view(page: Any, *, quality: int, timeout: float) -> dict[str, Any]:
    """What a visitor sees in the first screen (an error page, a certificate warning, a
    rendered card): one viewport JPEG at the device's pixel ratio. Through Playwright, not
    our CDP session: a browser error page replaces the target that session was on."""
    data = await page.screenshot(type="jpeg", quality=quality, timeout=timeout * 1000)
    return {"viewport": data}


def site_down_screenshots(
    raws: dict[str, dict[str, Any]], *, thumb_width: int
) -> list[Screenshot]:
    """The stored images of a site-down audit: viewport and thumbnail per form factor."""
    shots: list[Screenshot] = []
    for ff in ("desktop", "mobile"):
        raw = raws.get(ff)
        if not raw:
            continue
        w, h = _size(raw["viewport"])
        shots.append(Screenshot(f"{ff}-viewport.jpg", "image/jpeg", w, h, raw["viewport"],
                                kind="viewport", form_factor=ff))
        data, w, h = thumbnail(raw["viewport"], thumb_width)
        shots.append(Screenshot(f"{ff}-thumb.webp", "image/webp", w, h, data, kind="thumbnail",
                                form_factor=ff))
    return shots


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def thumbnail(jpeg: bytes, width: int) -> tuple[bytes, int, int]:
    """A small WebP from a JPEG, decoded in draft mode (DCT scaling) so it costs ~ms."""
    with Image.open(io.BytesIO(jpeg)) as src:
        size = (width, max(1, round(src.height * width / src.width)))
        src.draft("RGB", size)
        im = src.convert("RGB").resize(size, Image.Resampling.BILINEAR)
        out = io.BytesIO()
        im.save(out, "WEBP", quality=70, method=0)
        return out.getvalue(), im.width, im.height


def _boxes(f: Finding) -> list[dict[str, Any]]:
    ev = f.evidence or {}
    elements = ev.get("elements")
    items = elements if isinstance(elements, list) else []
    return [
        e["box"]
        for e in items
        if isinstance(e, dict)
        and isinstance(e.get("box"), dict)
        and e["box"].get("width", 0) > 0
        and e["box"].get("height", 0) > 0
    ][:12]


def pick_annotations(findings: list[Finding], top: int) -> list[tuple[Finding, str]]:
    """The top failing findings that point at elements (or the missing-CTA viewport)."""
    cands = [
        f
        for f in findings
        if f.outcome in ("fail", "warn")
        and (_boxes(f) or (f.id == "cta-above-fold" and f.evidence.get("viewport")))
    ]
    cands.sort(key=lambda f: (f.outcome != "fail", SEVERITY_RANK.get(f.severity, 5)))
    out = []
    for f in cands[:top]:
        if f.id == "cta-above-fold":
            out.append((f, f.evidence["missing"][0]))
        else:
            ff = f.evidence.get("form_factor") or ("mobile" if f.id in MOBILE_CHECKS else "desktop")
            out.append((f, str(ff)))
    return out


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def annotate(raw: dict[str, Any], finding: Finding, ff: str, quality: int) -> Screenshot | None:
    """Boxes drawn over a crop of the full-page capture (or the viewport for a missing CTA)."""
    cta = finding.id == "cta-above-fold"
    src, scale = (raw["viewport"], raw["scale"]) if cta else (raw["full"], raw["full_scale"])
    boxes = [finding.evidence["viewport"][ff]] if cta else _boxes(finding)
    boxes = [b for b in boxes if b.get("y", 0) < raw["height_css"]]
    if not boxes:
        return None
    with Image.open(io.BytesIO(src)) as opened:
        im = opened.convert("RGB")
        top = 0 if cta else max(0, min(b["y"] for b in boxes) - 60)
        bottom = min(
            im.height / scale, max(top + 300 / scale, max(b["y"] + b["height"] for b in boxes) + 60)
        )
        bottom = min(bottom, top + MAX_CROP_CSS)
        crop = im.crop((0, int(top * scale), im.width, int(bottom * scale)))
    draw = ImageDraw.Draw(crop)
    font = _font(max(14, int(16 * scale)))
    width = max(3, int(3 * scale))
    for n, b in enumerate(boxes, 1):
        x0, y0 = b["x"] * scale, (b["y"] - top) * scale
        x1, y1 = x0 + b["width"] * scale, y0 + b["height"] * scale
        if y0 > crop.height:
            continue
        pad = -width if cta else width  # the viewport frame is drawn inside the image
        draw.rectangle((x0 - pad, y0 - pad, x1 + pad - 1, y1 + pad - 1), outline=RED, width=width)
        label = finding.title if cta else str(n)
        tb = draw.textbbox((0, 0), label, font=font)
        lx = max(0, x0 - pad)
        ly = y0 + 2 * width if cta else max(0, y0 - width - (tb[3] - tb[1]) - 8)
        draw.rectangle((lx, ly, lx + tb[2] - tb[0] + 10, ly + tb[3] - tb[1] + 8), fill=RED)
        draw.text((lx + 5 - tb[0], ly + 4 - tb[1]), label, fill="white", font=font)
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=quality, optimize=False)
    return Screenshot(
        f"{ff}-annotated-{finding.id}.jpg",
        "image/jpeg",
        crop.width,
        crop.height,
        out.getvalue(),
        kind="annotated",
        form_factor=ff,
    )


def build_screenshots(
    raws: dict[str, dict[str, Any]],
    findings: list[Finding],
    *,
    thumb_width: int,
    top: int,
    quality: int,
) -> list[Screenshot]:
    """All stored images for an audit: viewport, full page, thumbnails, annotated crops."""
    shots: list[Screenshot] = []
    for ff, raw in raws.items():
        for kind in ("viewport", "full"):
            w, h = _size(raw[kind])
            shots.append(
                Screenshot(
                    f"{ff}-{kind}.jpg", "image/jpeg", w, h, raw[kind], kind=kind, form_factor=ff
                )
            )
        data, w, h = thumbnail(raw["viewport"], thumb_width)
        shots.append(
            Screenshot(
                f"{ff}-thumb.webp", "image/webp", w, h, data, kind="thumbnail", form_factor=ff
            )
        )
    for finding, ff in pick_annotations(findings, top):
        if ff not in raws:
            continue
        try:
            shot = annotate(raws[ff], finding, ff, quality)
        except Exception:  # noqa: BLE001 - an annotation is a nicety, never a failure
            log.exception("annotating %s failed", finding.id)
            continue
        if shot:
            shots.append(shot)
    return shots
