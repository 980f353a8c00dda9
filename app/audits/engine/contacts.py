"""Contact extraction from collected page data: emails, phones, contact page, social profiles.

Every contact records where it was found (``source``: mailto, tel, text, obfuscated,
json-ld, link) so staff can verify it. Pure functions, no browser needed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

import phonenumbers

EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b")
OBFUSCATED_RE = re.compile(
    r"\b([A-Za-z0-9._%+-]{1,64})\s*[\[\(\{<]\s*(?:at|@)\s*[\]\)\}>]\s*"
    r"([A-Za-z0-9-]{1,63}(?:\s*[\[\(\{<]\s*(?:dot|\.)\s*[\]\)\}>]\s*[A-Za-z0-9-]{1,63})+)",
    re.I,
)
SPACED_AT_RE = re.compile(
    r"\b([A-Za-z0-9._%+-]{1,64})\s+(?:at)\s+([A-Za-z0-9-]{1,63}(?:\s+dot\s+[A-Za-z]{2,24})+)\b"
)
PHONE_RE = re.compile(
    r"(?<![\w/.-])(\+?\d{1,3}[\s.-]?)?(\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,5}){1,4}(?!\w|[/.-]\d)"
)
SOCIAL = {
    "facebook": r"(^|\.)facebook\.com$|(^|\.)fb\.com$",
    "instagram": r"(^|\.)instagram\.com$",
    "linkedin": r"(^|\.)linkedin\.com$",
    "x": r"(^|\.)(twitter|x)\.com$",
    "youtube": r"(^|\.)youtube\.com$|^youtu\.be$",
    "tiktok": r"(^|\.)tiktok\.com$",
    "pinterest": r"(^|\.)pinterest\.[a-z.]+$",
    "yelp": r"(^|\.)yelp\.[a-z.]+$",
    "google": r"^(g\.page|maps\.app\.goo\.gl|business\.google\.com)$",
}
SHARE_PATH = re.compile(r"/(sharer|share|intent|plugins|dialog)[/.?]", re.I)
CONTACT_WORDS = re.compile(r"\b(contact|get in touch|kontakt|contacto|enquir|reach us)", re.I)
IGNORED_EMAIL_DOMAINS = ("example.com", "sentry.io", "wixpress.com", "domain.com")


def _add(bucket: dict[str, dict[str, Any]], value: str, source: str, where: str) -> None:
    if value and value not in bucket:
        bucket[value] = {"value": value, "source": source, "where": where}


def normalize_phone(raw: str, region: str | None = None) -> str | None:
    """A phone number in one canonical form, or None when it cannot be one.

    With the ``phonenumbers`` library: E.164 (``+442079460958``) for a number written
    internationally, or nationally in ``region`` (ISO 3166 code, from the agency's
    settings: leads carry no country) when it is a valid number there. Otherwise (no region,
    or not valid in it, such as a fictional 555 number) a national number keeps its digits
    (``5551234567``), so the same number is still found once."""
    parsed = _parse_phone(raw, region)
    if parsed is not None:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"\D", "", raw)
    if not 7 <= len(digits) <= 15:
        return None
    if re.fullmatch(r"(19|20)\d{2}", digits[:4]) and len(digits) == 8:
        return None  # a date such as 20240101
    if raw.strip().startswith("+"):
        return None  # international, yet not a possible number anywhere
    return digits


def _parse_phone(raw: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    text = raw.strip()
    if not text.startswith("+") and not region:
        return None
    try:
        parsed = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(parsed):
        return parsed
    # Written with +country: trust the country, if the length is possible there.
    return parsed if text.startswith("+") and phonenumbers.is_possible_number(parsed) else None


def display_phone(value: str, region: str | None = None) -> str:
    """How people write the number: national format in the agency's own country,
    international elsewhere (``+44 20 7946 0958``); digits as found without a region."""
    try:
        parsed = phonenumbers.parse(value, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return value
    home = region and phonenumbers.region_code_for_number(parsed) == region.upper()
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL if home else (
        phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return str(phonenumbers.format_number(parsed, fmt))


def _valid_email(email: str) -> bool:
    low = email.lower()
    return not low.endswith(IGNORED_EMAIL_DOMAINS) and not re.search(
        r"\.(png|jpe?g|gif|webp|svg)$", low
    )


def _from_links(
    links: list[dict[str, Any]],
    emails: dict[str, Any],
    phones: dict[str, Any],
    where: str,
    region: str | None = None,
) -> None:
    for link in links:
        href = (link.get("raw_href") or "").strip()
        low = href.lower()
        if low.startswith("mailto:"):
            addr = unquote(href[7:].split("?", 1)[0]).strip()
            if EMAIL_RE.fullmatch(addr) and _valid_email(addr):
                _add(emails, addr.lower(), "mailto", link.get("selector") or where)
        elif low.startswith("tel:"):
            num = normalize_phone(unquote(href[4:]), region)
            if num:
                _add(phones, num, "tel", link.get("selector") or where)


def _from_text(
    text: str,
    emails: dict[str, Any],
    phones: dict[str, Any],
    where: str,
    region: str | None = None,
) -> None:
    for m in EMAIL_RE.finditer(text):
        if _valid_email(m.group(0)):
            _add(emails, m.group(0).lower(), "text", where)
    for rx in (OBFUSCATED_RE, SPACED_AT_RE):
        for m in rx.finditer(text):
            domain = re.sub(
                r"\s*[\[\(\{<]?\s*(?:dot|\.)\s*[\]\)\}>]?\s*", ".", m.group(2), flags=re.I
            )
            addr = f"{m.group(1)}@{domain}".lower()
            if EMAIL_RE.fullmatch(addr):
                _add(emails, addr, "obfuscated", where)
    if region:
        # In running text only numbers valid for their country count (no prices, dates).
        matcher = phonenumbers.PhoneNumberMatcher(
            text[:30000], region.upper(), leniency=phonenumbers.Leniency.VALID, max_tries=200
        )
        for match in matcher:
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            _add(phones, e164, "text", where)
        return
    for m in PHONE_RE.finditer(text):
        raw = m.group(0)
        if len(re.findall(r"[\s.()-]", raw)) == 0 and not raw.startswith("+"):
            continue  # a bare run of digits is an id or a price, not a phone number
        num = normalize_phone(raw)
        if num:
            _add(phones, num, "text", where)


def _from_jsonld(
    items: list[Any], emails: dict[str, Any], phones: dict[str, Any], region: str | None = None
) -> None:
    stack = list(items)
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key == "email" and isinstance(value, str):
                    addr = value.removeprefix("mailto:").strip().lower()
                    if EMAIL_RE.fullmatch(addr):
                        _add(emails, addr, "json-ld", "script[type=application/ld+json]")
                elif key == "telephone" and isinstance(value, str):
                    num = normalize_phone(value, region)
                    if num:
                        _add(phones, num, "json-ld", "script[type=application/ld+json]")
                elif isinstance(value, list | dict):
                    stack.append(value)


def web_url(href: object) -> str | None:
    """``href`` if it is a plain absolute http(s) URL with a host, else None.

    Everything a page links to is hostile: ``javascript://facebook.com/x%0Aalert(1)`` has a
    social network's host but is script. Only http(s) with no whitespace, control
    characters or credentials is kept (the app checks again when it shows a URL)."""
    if not isinstance(href, str) or not href or len(href) > 2048:
        return None
    if any(c.isspace() or ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in href) or "\\" in href:
        return None
    try:
        parts = urlsplit(href)
        parts.port  # noqa: B018  (raises ValueError for a malformed port)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return href


def social_network(url: str) -> str | None:
    """The social network a profile URL belongs to, or None (share buttons excluded,
    and anything that is not a plain http(s) URL)."""
    if web_url(url) is None:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    if SHARE_PATH.search(parts.path + "?") or parts.path in ("", "/"):
        return None
    for name, rx in SOCIAL.items():
        if re.search(rx, host):
            return name
    return None


def _contact_page(links: list[dict[str, Any]], site_host: str) -> dict[str, Any] | None:
    for link in links:
        href = web_url(link.get("href"))
        if href is None:
            continue
        host = urlsplit(href).hostname or ""
        text = f"{link.get('text', '')} {link.get('label', '')}"
        if host == site_host and (CONTACT_WORDS.search(text) or re.search(r"/contact", href, re.I)):
            return {
                "url": href,
                "text": (link.get("text") or "")[:80],
                "where": link.get("selector"),
            }
    return None


def extract_contacts(
    pages: dict[str, dict[str, Any]], final_url: str, region: str | None = None
) -> dict[str, Any]:
    """Emails, phones, contact page and social profiles from desktop/mobile page data.

    Phones are normalised (see :func:`normalize_phone`; ``region`` is the agency's default
    country) and listed once each, with ``display`` in the form people write them."""
    emails: dict[str, dict[str, Any]] = {}
    phones: dict[str, dict[str, Any]] = {}
    social: dict[str, dict[str, Any]] = {}
    site_host = urlsplit(final_url).hostname or ""
    contact_page = None
    for ff, pg in pages.items():
        if not pg:
            continue
        links = pg.get("links", [])
        _from_links(links, emails, phones, ff, region)
        _from_jsonld(pg.get("jsonld", []), emails, phones, region)
        _from_text(pg.get("text", ""), emails, phones, f"{ff} page text", region)
        for link in links:
            net = social_network(link.get("href") or "")
            if net and net not in social:
                social[net] = {"network": net, "url": link["href"], "where": link.get("selector")}
        contact_page = contact_page or _contact_page(links, site_host)
    for entry in phones.values():
        entry["display"] = display_phone(entry["value"], region)
    return {
        "emails": list(emails.values())[:20],
        "phones": list(phones.values())[:20],
        "contact_page": contact_page,
        "social": list(social.values()),
    }
