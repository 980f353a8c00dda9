"""Conversion checks: what a local business loses customers over."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from app.audits.engine.checks.base import (
    AuditData,
    NotChecked,
    check,
    element,
    fail,
    info,
    ok,
    page,
    warn,
)

CAT = "conversion"
CTA_RE = re.compile(
    r"\b(call|phone|book|booking|contact|quote|estimate|schedule|appointment|order|buy|shop|"
    r"reserve|reservation|enquire|inquire|get started|sign up|subscribe|request|hire|visit us|"
    r"directions|donate|apply|join|free trial|get in touch|message us|whatsapp)\b",
    re.I,
)
BOOKING_RE = re.compile(
    r"calendly|booksy|fresha|opentable|resy|acuityscheduling|setmore|"
    r"square\.site|squareup\.com/appointments|simplybook|zocdoc|/book",
    re.I,
)
ADDRESS_RE = re.compile(
    r"\b\d{1,5}\s+[\w .'-]{2,40}\b(street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|"
    r"way|court|ct|place|pl|square|sq|parkway|pkwy|highway|hwy|strasse|straße|rue|via)\b\.?"
    r"|\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b"  # UK postcode
    r"|\b[A-Z]{2}\s+\d{5}(-\d{4})?\b",  # US state + ZIP
    re.I,
)
MAP_RE = re.compile(
    r"google\.[a-z.]+/maps|maps\.google|maps\.apple|openstreetmap|bing\.com/maps|"
    r"mapbox|goo\.gl/maps|maps\.app\.goo\.gl",
    re.I,
)
HOURS_RE = re.compile(
    r"\b(opening hours|open hours|business hours|hours of operation|our hours|öffnungszeiten|"
    r"horaires)\b|\b(mon|monday|tue|tuesday|wed|thu|fri|sat|sun)[a-z]*\.?\s*[-–:to ]+\s*"
    r"(\d{1,2}(:\d\d)?\s*(am|pm)?|fri|sat|sun)",
    re.I,
)
REVIEW_RE = re.compile(
    r"\b(reviews?|testimonials?|rated|rating|stars?|what our (customers|clients)"
    r" say|trustpilot|google reviews|yelp)\b",
    re.I,
)
PRIVACY_RE = re.compile(r"privacy|datenschutz|confidentialit|privacidad", re.I)
COPYRIGHT_RE = re.compile(
    r"(?:©|&copy;|\(c\)|copyright)\s*(?:\d{4}\s*[-–]\s*)?((?:19|20)\d{2})", re.I
)


def _contacts(data: AuditData) -> dict[str, Any]:
    contacts: dict[str, Any] | None = data.get("contacts")
    if contacts is None:
        raise NotChecked("contacts not extracted")
    return contacts


@check("phone-visible", CAT, "high")
def phone_visible(data: AuditData) -> Any:
    """A phone number on the page."""
    phones = _contacts(data).get("phones", [])
    if phones:
        return ok(
            "Visitors can find a phone number",
            ", ".join(str(p.get("display") or p["value"]) for p in phones[:3]),
            phones=[{"number": p.get("display") or p["value"], "found_in": p.get("source")}
                    for p in phones[:3]],
        )
    return fail("Visitors cannot find a phone number", "No phone number on the page.")


@check("contact-method", CAT, "high")
def contact_method(data: AuditData) -> Any:
    """A contact form, mailto: or booking link."""
    pg = page(data)
    forms = [
        f
        for f in pg.get("forms", [])
        if sum(1 for fld in f.get("fields", []) if not fld.startswith(("hidden", "submit"))) >= 2
    ]
    mailto = [
        lk for lk in pg.get("links", []) if (lk.get("raw_href") or "").lower().startswith("mailto:")
    ]
    booking = [lk for lk in pg.get("links", []) if BOOKING_RE.search(lk.get("href") or "")]
    booking += [{"href": src} for src in pg.get("iframes", []) if BOOKING_RE.search(src)]
    if forms or mailto or booking:
        return ok(
            "Visitors can get in touch online",
            forms=len(forms),
            mailto=len(mailto),
            booking=[b.get("href") for b in booking[:3]],
        )
    contact_page = _contacts(data).get("contact_page")
    if contact_page:
        return warn(
            "Getting in touch takes an extra click",
            "No form, email link or booking link here; a contact page is linked.",
            contact_page=contact_page.get("url"),
        )
    return fail(
        "Visitors have no easy way to get in touch online",
        "No contact form, mailto: link or booking link.",
    )


def _ctas(pg: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        c
        for c in pg.get("ctas", [])
        if CTA_RE.search(c.get("text") or "")
        or (c.get("href") or "").lower().startswith(("tel:", "mailto:"))
    ]


@check("cta-above-fold", CAT, "high")
def cta_above_fold(data: AuditData) -> Any:
    """A clear call to action in the first viewport, desktop and mobile."""
    found = {ff: _ctas(page(data, ff)) for ff in ("desktop", "mobile")}
    missing = [ff for ff, ctas in found.items() if not ctas]
    ev: dict[str, Any] = {
        ff: [element(c, text=c.get("text")) for c in ctas[:3]] for ff, ctas in found.items()
    }
    if not missing:
        return ok("A clear call to action is visible straight away", **ev)
    viewport = {
        ff: {
            "x": 0,
            "y": 0,
            "width": page(data, ff).get("viewport_width"),
            "height": page(data, ff).get("viewport_height"),
        }
        for ff in missing
    }
    return fail(
        "No clear call to action when the page opens"
        + ("" if len(missing) == 2 else f" on {missing[0]}"),
        f"No call/book/contact/quote button or link in the first screen ({', '.join(missing)}).",
        missing=missing,
        viewport=viewport,
        **ev,
    )


@check("address-visible", CAT, "medium")
def address_visible(data: AuditData) -> Any:
    """An address or a map (compared with the lead's address when known)."""
    pg = page(data)
    text = pg.get("text", "")
    maps = [src for src in pg.get("iframes", []) if MAP_RE.search(src)]
    maps += [lk["href"] for lk in pg.get("links", []) if MAP_RE.search(lk.get("href") or "")]
    match = ADDRESS_RE.search(text)
    found = pg.get("address_tags") or ([match.group(0)] if match else [])
    lead = (data.get("lead") or {}).get("address")
    if lead and lead.lower()[:12] in text.lower():
        return ok("The business address is on the page", matches_lead=True, address=lead)
    if found or maps:
        return ok(
            "Visitors can see where the business is",
            address=found[:2],
            maps=maps[:2],
            matches_lead=None if not lead else False,
        )
    return fail("Visitors cannot see where the business is", "No address and no map on the page.")


@check("opening-hours", CAT, "info")
def opening_hours(data: AuditData) -> Any:
    """Opening hours shown (info)."""
    pg = page(data)
    ld = str(pg.get("jsonld", ""))
    m = HOURS_RE.search(pg.get("text", ""))
    if m or "openingHours" in ld:
        return ok("Opening hours are shown", example=m.group(0) if m else "JSON-LD openingHours")
    return info("No opening hours on the page")


@check("trust-signals", CAT, "info")
def trust_signals(data: AuditData) -> Any:
    """Reviews/testimonials and a privacy policy link (info)."""
    pg = page(data)
    reviews = REVIEW_RE.search(pg.get("text", ""))
    privacy = [
        lk for lk in pg.get("links", []) if PRIVACY_RE.search(f"{lk.get('text')} {lk.get('href')}")
    ]
    ev: dict[str, Any] = {
        "reviews": reviews.group(0) if reviews else None,
        "privacy_policy": privacy[0].get("href") if privacy else None,
    }
    if reviews and privacy:
        return ok("The page shows reviews and a privacy policy", **ev)
    missing = [
        name
        for name, v in (("reviews or testimonials", reviews), ("privacy policy", privacy))
        if not v
    ]
    return info("Few signs visitors can trust the business", "Missing: " + ", ".join(missing), **ev)


@check("stale-copyright", CAT, "info")
def stale_copyright(data: AuditData) -> Any:
    """Footer © year more than a year old (info)."""
    pg = page(data)
    years = [
        int(m.group(1))
        for m in COPYRIGHT_RE.finditer(pg.get("footer_text", "") + " " + pg.get("text", "")[-3000:])
    ]
    if not years:
        return info("No copyright year on the page")
    year, now = max(years), dt.datetime.now(dt.UTC).year
    if now - year > 1:
        return info("The site looks out of date", f"Footer says © {year}.", year=year)
    return ok("The site looks up to date", f"Footer says © {year}.", year=year)


@check("social-links", CAT, "info")
def social_links(data: AuditData) -> Any:
    """Social profiles linked (info)."""
    social = _contacts(data).get("social", [])
    if social:
        return ok("The site links to its social profiles", profiles=social)
    return info("The site links to no social profiles")


@check("platform", CAT, "info")
def platform(data: AuditData) -> Any:
    """Detected CMS / builder / analytics (info)."""
    found = data.get("platform")
    if found is None:
        raise NotChecked("platform not detected")
    names = ", ".join(p["name"] for p in found) or "nothing recognisable"
    return info("Built with: " + names, f"Detected {names}.", platform=found)
