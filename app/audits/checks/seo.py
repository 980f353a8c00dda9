"""SEO checks (Lighthouse ids where Lighthouse has the audit)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from app.audits.checks.base import (
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

CAT = "seo"
LANG_RE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")
VAGUE_LINKS = {
    "click here",
    "here",
    "click",
    "read more",
    "more",
    "learn more",
    "link",
    "this",
    "go",
    "start",
    "right here",
    "continue",
    "details",
    "more info",
    "click this",
    "this page",
    "en savoir plus",
    "hier",
    "mehr",
    "weiterlesen",
}
BUSINESS_TYPES = re.compile(
    r"(LocalBusiness|Organization|Store|Restaurant|Dentist|Physician|Plumber|Electrician|"
    r"Service|Shop|Salon|Cafe|CafeOrCoffeeShop|Bakery|Bar|Hotel|Attorney|Contractor|Agency|"
    r"Clinic|Gym|Center|Office|Dealer|Repair|Locksmith|Roofing|HVACBusiness|Spa|Pharmacy)$"
)


@check("document-title", CAT, "high")
def document_title(data: AuditData) -> Any:
    """Present, single, 20–60 characters."""
    pg = page(data)
    title = (pg.get("title") or "").strip()
    if not title:
        return fail("The page has no title in search results", "<title> is missing or empty.")
    ev = {"value": title, "length": len(title)}
    if pg.get("title_count", 1) > 1:
        return warn("The page has more than one title", f"{pg['title_count']} <title> tags.", **ev)
    if not 20 <= len(title) <= 60:
        return warn(
            "The page title is too short or too long for search results",
            f"{len(title)} characters; 20–60 recommended.",
            **ev,
        )
    return ok("The page has a good title", **ev)


@check("meta-description", CAT, "medium")
def meta_description(data: AuditData) -> Any:
    """Present, 80–160 characters."""
    values = [v for v in page(data).get("meta_description", []) if v is not None]
    if not values or not values[0].strip():
        return fail(
            "Search results show no summary of the page", "No meta description (or it is empty)."
        )
    desc = values[0].strip()
    ev = {"value": desc[:300], "length": len(desc)}
    if len(values) > 1:
        return warn("The page has several descriptions", f"{len(values)} meta descriptions.", **ev)
    if not 80 <= len(desc) <= 160:
        return warn(
            "The search-result summary is too short or too long",
            f"{len(desc)} characters; 80–160 recommended.",
            **ev,
        )
    return ok("The page has a good search-result summary", **ev)


@check("heading-order", CAT, "medium")
def heading_order(data: AuditData) -> Any:
    """A single H1 and no skipped heading levels."""
    heads = page(data).get("headings", [])
    h1 = [h for h in heads if h["level"] == 1]
    outline = [f"h{h['level']}: {h['text'][:60]}" for h in heads[:15]]
    if not h1:
        return fail("The page has no main heading", "No <h1> element.", outline=outline)
    if len(h1) > 1:
        return warn(
            "The page has several main headings",
            f"{len(h1)} <h1> elements.",
            outline=outline,
            elements=[element(h) for h in h1[:5]],
        )
    skips = [h for prev, h in zip(heads, heads[1:], strict=False) if h["level"] > prev["level"] + 1]
    if skips:
        return warn(
            "Headings skip levels",
            f"{len(skips)} heading(s) skip a level.",
            outline=outline,
            elements=[element(h, text=h["text"]) for h in skips[:5]],
        )
    return ok("Headings are well structured", outline=outline)


@check("is-crawlable", CAT, "critical")
def is_crawlable(data: AuditData) -> Any:
    """Not blocked by robots meta, X-Robots-Tag or robots.txt."""
    pg = page(data)
    metas = [m for m in pg.get("robots", []) if m and re.search(r"noindex|none", m, re.I)]
    header = ((data.get("nav") or {}).get("headers") or {}).get("x-robots-tag", "")
    if metas:
        return fail(
            "Search engines are told not to list this page",
            "robots meta tag contains noindex.",
            value=metas[0],
        )
    if re.search(r"noindex|none", header, re.I):
        return fail(
            "Search engines are told not to list this page",
            "X-Robots-Tag header contains noindex.",
            header="X-Robots-Tag",
            value=header,
        )
    robots = (data.get("server") or {}).get("robots_parsed") or {}
    if robots.get("present") and robots.get("allowed") is False:
        return fail(
            "robots.txt blocks search engines from this page",
            "robots.txt disallows the audited URL.",
            url=data.get("final_url"),
        )
    return ok("Search engines may list this page")


@check("robots-txt", CAT, "low")
def robots_txt(data: AuditData) -> Any:
    """robots.txt, when present, is valid."""
    robots = (data.get("server") or {}).get("robots_parsed")
    if robots is None or robots.get("error"):
        raise NotChecked("robots.txt could not be fetched")
    status = robots.get("status")
    if status and status >= 500:
        return fail("robots.txt returns a server error", f"HTTP {status}", status=status)
    if not robots.get("present"):
        return ok("No robots.txt (search engines crawl everything)", status=status)
    if robots.get("invalid_count"):
        return fail(
            "robots.txt contains invalid lines",
            f"{robots['invalid_count']} line(s) are not valid directives.",
            lines=robots["invalid_lines"],
        )
    return ok("robots.txt is valid")


@check("canonical", CAT, "medium")
def canonical(data: AuditData) -> Any:
    """A single, absolute canonical on the same site."""
    links = [c for c in page(data).get("canonical", []) if c]
    if not links:
        return ok("No canonical address declared (fine for a single page)")
    if len(links) > 1:
        return fail("The page declares several canonical addresses", values=links[:5])
    link = links[0]
    if not re.match(r"^https?://", link):
        return warn("The canonical address is relative", value=link)
    final_host = urlsplit(str(data.get("final_url") or "")).hostname
    if urlsplit(link).hostname != final_host:
        return warn("The canonical address points to another site", value=link)
    return ok("The canonical address is set correctly", value=link)


@check("sitemap", CAT, "info")
def sitemap(data: AuditData) -> Any:
    """A sitemap via robots.txt or /sitemap.xml."""
    server = data.get("server")
    if not server:
        raise NotChecked("server-side fetches unavailable")
    listed = (server.get("robots_parsed") or {}).get("sitemaps") or []
    sm = server.get("sitemap") or {}
    if listed:
        return ok("A sitemap helps search engines find every page", sitemaps=listed)
    if sm.get("status") == 200 and re.search(r"<(urlset|sitemapindex)", sm.get("body", "")[:2000]):
        return ok("A sitemap helps search engines find every page", url=sm.get("url"))
    return info("No sitemap found", "None in robots.txt and no /sitemap.xml.")


@check("image-alt", CAT, "high")
def image_alt(data: AuditData) -> Any:
    """Images have alt text."""
    imgs = [i for i in page(data).get("images", []) if i.get("visible")]
    missing = [
        i for i in imgs if i.get("alt") is None and i.get("role") not in ("presentation", "none")
    ]
    if not imgs:
        return info("No images on the page")
    if missing:
        return fail(
            "Some images have no description for search engines and screen readers",
            f"{len(missing)} of {len(imgs)} image(s) have no alt attribute.",
            count=len(missing),
            elements=[element(i, src=i.get("src", "")[:200]) for i in missing[:10]],
        )
    return ok("All images have descriptions", count=len(imgs))


@check("link-text", CAT, "low")
def link_text(data: AuditData) -> Any:
    """Descriptive link text."""
    links = page(data).get("links", [])
    vague = [
        lk for lk in links if lk.get("text", "").strip().lower().strip(".!»›→ ") in VAGUE_LINKS
    ]
    if vague:
        return fail(
            'Some links say "click here" instead of where they lead',
            f"{len(vague)} link(s) with non-descriptive text.",
            count=len(vague),
            elements=[element(lk, text=lk["text"], href=lk.get("href")) for lk in vague[:10]],
        )
    return ok("Links describe where they lead", count=len(links))


@check("crawlable-anchors", CAT, "low")
def crawlable_anchors(data: AuditData) -> Any:
    """Links have a crawlable href."""
    bad = [
        lk
        for lk in page(data).get("links", [])
        if (lk.get("raw_href") or "").strip().lower().startswith("javascript:")
        or (lk.get("raw_href") is None and lk.get("onclick"))
    ]
    if bad:
        return fail(
            "Some links cannot be followed by search engines",
            f"{len(bad)} link(s) without a real href.",
            count=len(bad),
            elements=[element(lk, href=lk.get("raw_href")) for lk in bad[:10]],
        )
    return ok("Links can be followed by search engines")


@check("html-has-lang", CAT, "medium")
def html_has_lang(data: AuditData) -> Any:
    """<html lang> is present."""
    lang = (page(data).get("lang") or "").strip()
    if not lang:
        return fail(
            "The page does not say which language it is in", "<html> has no lang attribute."
        )
    return ok("The page declares its language", value=lang)


@check("html-lang-valid", CAT, "low")
def html_lang_valid(data: AuditData) -> Any:
    """<html lang> is a valid BCP 47 tag."""
    lang = (page(data).get("lang") or "").strip()
    if not lang:
        raise NotChecked("no lang attribute")
    if LANG_RE.match(lang):
        return ok("The page language is valid", value=lang)
    return fail("The page language code is invalid", f'lang="{lang}"', value=lang)


@check("thin-content", CAT, "medium")
def thin_content(data: AuditData) -> Any:
    """At least 200 words of visible text."""
    words = int(page(data).get("word_count") or 0)
    if words < 200:
        return warn(
            "The page has very little text for search engines to read",
            f"{words} words of visible text; 200+ recommended.",
            words=words,
        )
    return ok("The page has enough text", words=words)


def _ld_items(data: AuditData) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = list(page(data).get("jsonld", []))
    while stack and len(out) < 100:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            out.append(item)
            stack.extend(v for v in item.values() if isinstance(v, list | dict))
    return out


def _types(item: dict[str, Any]) -> list[str]:
    t = item.get("@type", [])
    return [str(x) for x in (t if isinstance(t, list) else [t])]


@check("structured-data", CAT, "medium")
def structured_data(data: AuditData) -> Any:
    """LocalBusiness (or subtype) JSON-LD with name, address, telephone."""
    items = _ld_items(data)
    biz = [i for i in items if any(BUSINESS_TYPES.search(t) for t in _types(i))]
    if not biz:
        return warn(
            "Search engines get no business details (name, address, phone)",
            "No LocalBusiness JSON-LD found.",
            types=sorted({t for i in items for t in _types(i)}),
        )
    best = max(biz, key=lambda i: sum(bool(i.get(k)) for k in ("name", "address", "telephone")))
    missing = [k for k in ("name", "address", "telephone") if not best.get(k)]
    if missing:
        return warn(
            "Business details for search engines are incomplete",
            "Missing: " + ", ".join(missing),
            type=_types(best),
            missing=missing,
        )
    return ok("Search engines get the business details", type=_types(best))


@check("social-preview", CAT, "info")
def social_preview(data: AuditData) -> Any:
    """og:title / og:image / twitter:card."""
    pg = page(data)
    og = pg.get("og") or {}
    ev = {
        "og_title": og.get("title"),
        "og_image": og.get("image"),
        "twitter_card": pg.get("twitter_card"),
    }
    if og.get("title") and og.get("image"):
        return ok("Links shared on social media show a preview", **ev)
    return info(
        "Links shared on social media show no proper preview",
        "og:title and og:image are needed.",
        **ev,
    )


@check("hreflang", CAT, "low")
def hreflang(data: AuditData) -> Any:
    """Valid hreflang annotations, only where present."""
    tags = page(data).get("hreflang", [])
    if not tags:
        return info("No language alternates declared")
    bad = [
        t
        for t in tags
        if not (t.get("lang") == "x-default" or LANG_RE.match(t.get("lang") or ""))
        or not re.match(r"^https?://", t.get("href") or "")
    ]
    if bad:
        return fail(
            "Some language alternates are invalid",
            f"{len(bad)} invalid hreflang link(s).",
            examples=bad[:5],
        )
    return ok("Language alternates are valid", count=len(tags))
