"""Platform (CMS, builder, analytics) and JavaScript library detection from page data."""

from __future__ import annotations

import re
from typing import Any

# name -> (kind, pattern over generator + script/stylesheet URLs + globals)
SIGNATURES: dict[str, tuple[str, str]] = {
    "WordPress": ("cms", r"wp-content|wp-includes|wordpress"),
    "Wix": ("builder", r"wixstatic|parastorage|wixbisession|\bwix\.com"),
    "Squarespace": ("builder", r"squarespace"),
    "Shopify": ("commerce", r"cdn\.shopify|\bshopify\b"),
    "Webflow": ("builder", r"webflow"),
    "GoDaddy Website Builder": ("builder", r"godaddy|img1\.wsimg\.com"),
    "Weebly": ("builder", r"weebly|editmysite"),
    "Joomla": ("cms", r"joomla|/media/jui/"),
    "Drupal": ("cms", r"drupal|/sites/default/files"),
    "Elementor": ("builder", r"elementor"),
    "Divi": ("builder", r"/themes/divi|et_pb_"),
    "WooCommerce": ("commerce", r"woocommerce"),
    "Duda": ("builder", r"dudamobile|multiscreensite"),
    "Google Analytics": (
        "analytics",
        r"google-analytics\.com|googletagmanager\.com/gtag|\bga\b|\bgtag\b",
    ),
    "Google Tag Manager": ("analytics", r"googletagmanager\.com/gtm|\bdatalayer\b"),
    "Meta Pixel": ("analytics", r"connect\.facebook\.net|\bfbq\b"),
    "Hotjar": ("analytics", r"hotjar|\bhj\b"),
    "HubSpot": ("marketing", r"hs-scripts|hubspot|_hsq"),
    "Calendly": ("booking", r"calendly"),
    "Next.js": ("framework", r"/_next/|__next"),
}


def _haystack(pg: dict[str, Any]) -> str:
    parts = pg.get("generator", []) + pg.get("scripts", []) + pg.get("stylesheets", [])
    parts += pg.get("globals", []) + pg.get("iframes", [])
    return " ".join(str(p) for p in parts if p).lower()


def detect_platform(pg: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Recognised platforms with their kind and what gave them away."""
    if not pg:
        return []
    hay = _haystack(pg)
    found = []
    for name, (kind, rx) in SIGNATURES.items():
        m = re.search(rx, hay)
        if m:
            found.append({"name": name, "kind": kind, "evidence": m.group(0)})
    for gen in pg.get("generator", [])[:3]:
        if gen and not any(f["name"].lower() in gen.lower() for f in found):
            found.append({"name": gen[:60], "kind": "generator", "evidence": "meta generator"})
    return found


def detect_libraries(pg: dict[str, Any] | None) -> list[dict[str, Any]]:
    """JavaScript libraries and versions seen in the page (no vulnerability claims)."""
    if not pg:
        return []
    libs = [
        {"name": name, "version": None if v == "detected" else v}
        for name, v in (pg.get("libs") or {}).items()
        if v
    ]
    names = {lib["name"] for lib in libs}
    for src in pg.get("scripts", []):
        m = re.search(
            r"/(jquery|bootstrap|vue|react|angular|lodash|moment)[.-]?(\d+\.\d+(\.\d+)?)?",
            src,
            re.I,
        )
        if m and m.group(1).lower() not in names:
            names.add(m.group(1).lower())
            libs.append({"name": m.group(1).lower(), "version": m.group(2)})
    return libs
