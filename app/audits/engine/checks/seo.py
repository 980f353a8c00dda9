"""SEO checks. An id borrowed from Lighthouse (or axe-core, which Lighthouse runs) means
exactly what it means there, read from Lighthouse 12's audit sources; our own advice has
our own ids (``title-length``, ``meta-description-length``, ``single-h1``)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from app.audits.engine.checks.accessibility import AXE_FORM_FACTOR
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
    warn,
)
from app.audits.engine.checks.langs import primary_subtag_valid

CAT = "seo"
# Lighthouse's link-text block lists (core/audits/seo/link-text.js), by language.
NON_DESCRIPTIVE_LINK_TEXTS: dict[str, frozenset[str]] = {
    "en": frozenset({
        "click here", "click this", "go", "here", "information", "learn more", "more",
        "more info", "more information", "right here", "read more", "see more", "start",
        "this",
    }),
    "ja": frozenset(
        {"ここをクリック", "こちらをクリック", "リンク", "続きを読む", "続く", "全文表示"}
    ),
    "es": frozenset({
        "click aquí", "click aqui", "clicka aquí", "clicka aqui", "pincha aquí", "pincha aqui",
        "aquí", "aqui", "más", "mas", "más información", "más informacion", "mas información",
        "mas informacion", "este", "enlace", "este enlace", "empezar",
    }),
    "pt": frozenset({"clique aqui", "ir", "mais informação", "mais informações", "mais",
                     "veja mais"}),
    "ko": frozenset({"여기", "여기를 클릭", "클릭", "링크", "자세히", "자세히 보기", "계속", "이동",
                     "전체 보기"}),
    "sv": frozenset({"här", "klicka här", "läs mer", "mer", "mer info", "mer information"}),
    "de": frozenset({"klicke hier", "hier klicken", "hier", "mehr", "siehe", "dies", "das",
                     "weiterlesen"}),
    "ta": frozenset({
        "அடுத்த பக்கம்", "மறுபக்கம்", "முந்தைய பக்கம்", "முன்பக்கம்", "மேலும் அறிக",
        "மேலும் தகவலுக்கு", "மேலும் தரவுகளுக்கு", "தயவுசெய்து இங்கே அழுத்தவும்",
        "இங்கே கிளிக் செய்யவும்",
    }),
    "fa": frozenset({
        "اطلاعات بیشتر", "اطلاعات", "این", "اینجا بزنید", "اینجا کلیک کنید", "اینجا", "برو",
        "بیشتر بخوانید", "بیشتر بدانید", "بیشتر", "شروع",
    }),
}
TITLE_RANGE = (20, 60)
DESCRIPTION_RANGE = (80, 160)
BUSINESS_TYPES = re.compile(
    r"(LocalBusiness|Organization|Store|Restaurant|Dentist|Physician|Plumber|Electrician|"
    r"Service|Shop|Salon|Cafe|CafeOrCoffeeShop|Bakery|Bar|Hotel|Attorney|Contractor|Agency|"
    r"Clinic|Gym|Center|Office|Dealer|Repair|Locksmith|Roofing|HVACBusiness|Spa|Pharmacy)$"
)


def _axe_or_none(data: AuditData, rule: str) -> tuple[str, dict[str, Any] | None] | None:
    return axe_verdict(data, rule)


@check("document-title", CAT, "high")
def document_title(data: AuditData) -> Any:
    """axe-core's document-title (as Lighthouse runs it): a non-empty ``document.title``."""
    verdict = _axe_or_none(data, "document-title")
    title = ((data.get(AXE_FORM_FACTOR) or data.get("desktop") or {}).get("title") or "").strip()
    ev: dict[str, Any] = {"value": title} if title else {}
    if verdict is None:  # axe did not run: the same rule, read from our own collector
        pg = page(data)
        title = (pg.get("title") or "").strip()
        ev = {"value": title, "measured_by": "collector (axe-core did not run)"} if title else {}
        verdict = ("pass", None) if title else ("violation", None)
    if verdict[0] == "violation":
        return fail("The page has no title in search results", "<title> is missing or empty.")
    return ok("The page has a title", **ev)


@check("title-length", CAT, "low")
def title_length(data: AuditData) -> Any:
    """Ours: one title of about 20–60 characters (what search results show in full)."""
    pg = page(data)
    title = (pg.get("title") or "").strip()
    if not title:
        return not_applicable("No title to measure", "See document-title.")
    lo, hi = TITLE_RANGE
    ev: dict[str, Any] = {"value": title, "length": f"{len(title)} characters"}
    if int(pg.get("title_count") or 1) > 1:
        return warn("The page has more than one title", f"{pg['title_count']} <title> tags.",
                    **ev)
    if not lo <= len(title) <= hi:
        return warn(
            "The page title is too short or too long for search results",
            f"{len(title)} characters; {lo}–{hi} recommended.",
            **ev,
        )
    return ok("The page title has a good length", f"{len(title)} characters.", **ev)


def _descriptions(data: AuditData) -> list[str]:
    return [v for v in page(data).get("meta_description", []) if v is not None]


@check("meta-description", CAT, "medium")
def meta_description(data: AuditData) -> Any:
    """Lighthouse's meta-description: the first ``<meta name=description>`` in ``<head>``
    has non-empty content."""
    values = _descriptions(data)
    if not values:
        return fail("Search results show no summary of the page", "No meta description.")
    desc = values[0].strip()
    if not desc:
        return fail("Search results show no summary of the page", "The meta description is empty.")
    return ok("The page has a search-result summary", value=desc[:300])


@check("meta-description-length", CAT, "low")
def meta_description_length(data: AuditData) -> Any:
    """Ours: one description of about 80–160 characters."""
    values = _descriptions(data)
    desc = values[0].strip() if values else ""
    if not desc:
        return not_applicable("No description to measure", "See meta-description.")
    lo, hi = DESCRIPTION_RANGE
    ev: dict[str, Any] = {"value": desc[:300], "length": f"{len(desc)} characters"}
    if len(values) > 1:
        return warn("The page has several descriptions", f"{len(values)} meta descriptions.",
                    **ev)
    if not lo <= len(desc) <= hi:
        return warn(
            "The search-result summary is too short or too long",
            f"{len(desc)} characters; {lo}–{hi} recommended.",
            **ev,
        )
    return ok("The search-result summary has a good length", f"{len(desc)} characters.", **ev)


def _heading_skips(heads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """axe-core's heading-order over collected headings: the first may be any level, each
    later one at most one level deeper than the one before it."""
    seen = [h for h in heads if h.get("sr_visible", True) and h.get("level", -1) != -1]
    return [h for prev, h in zip(seen, seen[1:], strict=False) if h["level"] - prev["level"] > 1]


@check("heading-order", CAT, "medium")
def heading_order(data: AuditData) -> Any:
    """axe-core's heading-order: heading levels only increase by one (skips fail); says
    nothing about how many ``<h1>`` there are (that is ``single-h1``)."""
    verdict = _axe_or_none(data, "heading-order")
    pg = data.get(AXE_FORM_FACTOR) or data.get("desktop") or {}
    heads = pg.get("headings", [])
    outline = [f"h{h['level']}: {h['text'][:60]}" for h in heads[:15] if h.get("level", -1) > 0]
    if verdict is None:
        heads = (data.get(AXE_FORM_FACTOR) or page(data)).get("headings", [])
        skips = _heading_skips(heads)
        if not [h for h in heads if h.get("level", -1) != -1]:
            verdict = ("inapplicable", None)
        else:
            verdict = ("violation", {"nodes": []}) if skips else ("pass", None)
        elements = [element(h) for h in skips[:5]]
    else:
        elements = axe_elements(verdict[1] or {})
    if verdict[0] == "inapplicable":
        return not_applicable("The page has no headings", "Nothing for heading-order to check.")
    if verdict[0] == "violation":
        return fail(
            "Headings skip levels",
            "A heading is more than one level deeper than the heading before it.",
            outline=outline,
            elements=elements,
            form_factor=AXE_FORM_FACTOR,
        )
    return ok("Headings follow a logical order", outline=outline)


@check("single-h1", CAT, "medium")
def single_h1(data: AuditData) -> Any:
    """Ours: exactly one main heading (``<h1>``)."""
    heads = page(data).get("headings", [])
    h1 = [h for h in heads if h.get("tag") in (None, "h1") and h.get("level") == 1
          and h.get("sr_visible", True)]
    if not h1:
        return warn("The page has no main heading", "No <h1> element.")
    if len(h1) > 1:
        return warn(
            "The page has several main headings",
            f"{len(h1)} <h1> elements; one is clearer for visitors and search engines.",
            elements=[element(h) for h in h1[:5]],
        )
    return ok("The page has one main heading", value=h1[0].get("text"))


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



def parse_link_header(value: str) -> list[dict[str, str]]:
    """``Link: <url>; rel="canonical", <url2>; rel=alternate; hreflang=de`` → entries with
    ``uri`` and lower-cased parameter names (RFC 8288, as ``http-link-header`` reads it)."""
    out: list[dict[str, str]] = []
    for m in re.finditer(r"<([^>]*)>((?:\s*;\s*[^;,<]+(?:=(?:\"[^\"]*\"|[^;,]*))?)*)", value):
        entry = {"uri": m.group(1).strip()}
        for pm in re.finditer(r";\s*([^=;,\s]+)\s*(?:=\s*(\"[^\"]*\"|[^;,]*))?", m.group(2)):
            entry[pm.group(1).lower()] = (pm.group(2) or "").strip().strip('"')
        out.append(entry)
    return out[:100]


def link_elements(data: AuditData) -> list[dict[str, Any]]:
    """Lighthouse's LinkElements: ``<link>`` elements (with where they sit) plus the main
    document's ``Link`` headers; ``rel`` lower-cased as a whole."""
    pg = page(data)
    links = [dict(lk) for lk in pg.get("link_elements", [])]
    header = ((data.get("nav") or {}).get("headers") or {}).get("link", "")
    base = str(data.get("final_url") or "")
    for entry in parse_link_header(header) if header else []:
        try:
            href = urljoin(base, entry["uri"]) if entry["uri"] else ""
        except ValueError:
            href = ""
        links.append({"rel": entry.get("rel", "").lower(), "href": href,
                      "href_raw": entry["uri"], "hreflang": entry.get("hreflang", ""),
                      "source": "headers"})
    return links


def _absolute(url: str) -> bool:
    """``new URL(url)`` succeeds without a base (Lighthouse's ``UrlUtils.isValid``)."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url.strip()))


@check("canonical", CAT, "medium")
def canonical(data: AuditData) -> Any:
    """Lighthouse's canonical: ``<link rel=canonical>`` in ``<head>`` and ``Link`` headers
    (those in ``<body>`` are ignored); one absolute address (identical ones count once),
    not pointing at another hreflang alternate, nor at the site's root from a deeper page."""
    links = [lk for lk in link_elements(data) if lk.get("source") != "body"]
    canon = [lk for lk in links if lk.get("rel") == "canonical" and lk.get("href_raw")]
    hreflang_urls = {lk["href"] for lk in links
                     if lk.get("rel") == "alternate" and lk.get("href") and lk.get("hreflang")}
    body_only = [lk for lk in page(data).get("link_elements", [])
                 if lk.get("rel") == "canonical" and lk.get("source") == "body"]
    ignored: dict[str, Any] = (
        {"ignored_in_body": [lk.get("href_raw") for lk in body_only[:3]]} if body_only else {}
    )
    relative = [lk for lk in canon if not _absolute(lk["href_raw"])]
    if relative:
        return fail("The canonical address is not a full web address",
                    f"rel=canonical is relative: {relative[0]['href_raw'][:200]}",
                    value=relative[0]["href_raw"][:300])
    unique = list(dict.fromkeys(lk["href"] for lk in canon if lk.get("href")))
    if not unique:
        return ok("No canonical address declared (fine for a single page)", **ignored)
    if len(unique) > 1:
        return fail("The page declares several different canonical addresses",
                    "Conflicting rel=canonical URLs.", values=unique[:5])
    target, base = urlsplit(unique[0]), urlsplit(str(data.get("final_url") or ""))
    final = str(data.get("final_url") or "")
    if final in hreflang_urls and unique[0] in hreflang_urls and final != unique[0]:
        return fail("The canonical address points to another language version",
                    "It names a different hreflang alternate of this page.", value=unique[0])
    same_origin = (target.scheme, target.netloc) == (base.scheme, base.netloc)
    if same_origin and target.path in ("", "/") and base.path not in ("", "/"):
        return fail("The canonical address points to the home page",
                    "Search engines are told this page is a copy of the home page.",
                    value=unique[0])
    return ok("The canonical address is set correctly", value=unique[0], **ignored)


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
    """axe-core's image-alt (as Lighthouse runs it): every ``<img>`` a screen reader sees has
    an ``alt``, ``aria-label``, ``aria-labelledby`` or ``title``, or is presentational."""
    verdict = _axe_or_none(data, "image-alt")
    if verdict is None:
        raise NotChecked(str(data.get("axe_error") or "axe-core did not run"))
    if verdict[0] == "inapplicable":
        return not_applicable("No images on the page")
    if verdict[0] == "violation":
        v = verdict[1] or {}
        count = int(v.get("count") or len(v.get("nodes", [])))
        return fail(
            "Some images have no description for search engines and screen readers",
            f"{count} image(s) without alt text.",
            count=count,
            elements=axe_elements(v),
            form_factor=AXE_FORM_FACTOR,
        )
    return ok("All images have descriptions")



def _same_page(href: str, page_url: str) -> bool:
    """Lighthouse's ``equalWithExcludedFragments``: the same URL but for the #fragment."""
    return href.split("#", 1)[0] == page_url.split("#", 1)[0]


def _vague(link: dict[str, Any]) -> bool:
    term = str(link.get("lh_text") if link.get("lh_text") is not None else link.get("text") or "")
    term = term.strip().lower()
    if not term:
        return False
    lang = link.get("text_lang")
    if lang:
        texts = NON_DESCRIPTIVE_LINK_TEXTS.get(str(lang).split("-")[0])
        return bool(texts and term in texts)
    return any(term in texts for texts in NON_DESCRIPTIVE_LINK_TEXTS.values())


@check("link-text", CAT, "low")
def link_text(data: AuditData) -> Any:
    """Lighthouse's link-text: links whose whole text is on its non-descriptive list for the
    link's language ("click here", "read more", "mehr" …). Skipped as Lighthouse skips them:
    no href, ``rel=nofollow``, ``javascript:`` and ``mailto:`` links, and links to this same
    page (with or without a ``#fragment``)."""
    pg = page(data)
    page_url = str(pg.get("url") or data.get("final_url") or "")
    judged = [
        lk for lk in pg.get("links", [])
        if lk.get("href")
        and "nofollow" not in str(lk.get("rel") or "").lower().split()
        and not str(lk["href"]).lower().startswith(("javascript:", "mailto:"))
        and not _same_page(str(lk["href"]), page_url)
    ]
    vague = [lk for lk in judged if _vague(lk)]
    if vague:
        return fail(
            'Some links say "click here" instead of where they lead',
            f"{len(vague)} link(s) with non-descriptive text.",
            count=len(vague),
            elements=[element(lk, href=lk.get("href")) for lk in vague[:10]],
        )
    return ok("Links describe where they lead", count=len(judged))



def _uncrawlable(lk: dict[str, Any], page_url: str) -> bool:
    """Lighthouse's crawlable-anchors rule for one ``<a>``."""
    raw = re.sub(r"\s", "", str(lk.get("raw_href") or ""))
    if lk.get("role"):
        return False
    if raw.startswith("mailto:"):
        return False
    if raw == "" and lk.get("id"):
        return False  # <a id=…> as a named anchor
    if raw.startswith("file:"):
        return True
    if lk.get("name"):
        return False
    if not lk.get("has_href", lk.get("raw_href") is not None) and not lk.get("href_assoc"):
        # A placeholder <a> without href: only a problem when script makes it act as a link.
        return bool(lk.get("listener") or lk.get("onclick"))
    if lk.get("href") in ("", None) and lk.get("has_href", True):
        return True
    if re.search(r"javascript:void(\(|)0(\)|)", raw):
        return True
    try:
        urljoin(page_url, raw)
    except ValueError:
        return True
    return False


@check("crawlable-anchors", CAT, "low")
def crawlable_anchors(data: AuditData) -> Any:
    """Lighthouse's crawlable-anchors: ``javascript:void(0)`` and ``file:`` hrefs, empty or
    unparsable hrefs, and href-less links that script makes clickable."""
    pg = page(data)
    page_url = str(pg.get("url") or data.get("final_url") or "")
    bad = [lk for lk in pg.get("links", []) if _uncrawlable(lk, page_url)]
    if bad:
        return fail(
            "Some links cannot be followed by search engines",
            f"{len(bad)} link(s) without a real web address.",
            count=len(bad),
            elements=[element(lk, href=lk.get("raw_href")) for lk in bad[:10]],
        )
    return ok("Links can be followed by search engines")



@check("html-has-lang", CAT, "medium")
def html_has_lang(data: AuditData) -> Any:
    """axe-core's html-has-lang: ``<html>`` has a non-empty ``lang``."""
    verdict = _axe_or_none(data, "html-has-lang")
    lang = (page(data).get("lang") or "").strip()
    if verdict is None:
        verdict = ("pass", None) if lang else ("violation", None)
    if verdict[0] == "violation":
        return fail(
            "The page does not say which language it is in", "<html> has no lang attribute."
        )
    return ok("The page declares its language", value=lang or None)



@check("html-lang-valid", CAT, "low")
def html_lang_valid(data: AuditData) -> Any:
    """axe-core's html-lang-valid: the primary subtag of ``<html lang>`` is a registered
    language (script and region are not checked)."""
    lang = (page(data).get("lang") or "").strip()
    verdict = _axe_or_none(data, "html-lang-valid")
    if verdict is None:
        if not lang:
            raise NotChecked("no lang attribute")
        verdict = ("pass", None) if primary_subtag_valid(lang) else ("violation", None)
    if verdict[0] == "inapplicable":
        raise NotChecked("no lang attribute")
    if verdict[0] == "violation":
        return fail("The page language code is invalid", f'lang="{lang}"', value=lang)
    return ok("The page language is valid", value=lang or None)


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
    ev: dict[str, Any] = {
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
    """Lighthouse's hreflang: each ``<link rel=alternate hreflang>`` in ``<head>`` or ``Link``
    header (``<body>`` ones are ignored) has a known language (or ``x-default``) and an
    absolute http(s) href. A page without any passes."""
    tags = [
        lk for lk in link_elements(data)
        if lk.get("rel") == "alternate" and lk.get("hreflang") and lk.get("source") != "body"
    ]
    bad = []
    for t in tags:
        reasons = []
        lang = str(t["hreflang"])
        if lang.lower() != "x-default" and not primary_subtag_valid(lang):
            reasons.append("unknown language code")
        if not str(t.get("href_raw") or "").lower().startswith(("http:", "https:")):
            reasons.append("relative address")
        if reasons:
            bad.append({"hreflang": lang, "href": t.get("href_raw"), "where": t.get("source"),
                        "problem": ", ".join(reasons)})
    if bad:
        return fail(
            "Some language alternates are invalid",
            f"{len(bad)} invalid hreflang link(s).",
            examples=bad[:5],
        )
    if not tags:
        return ok("No language alternates declared (nothing to check)")
    return ok("Language alternates are valid", count=len(tags))


