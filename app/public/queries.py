"""Public links: tokens, lookups and the read model of the prospect's page.

The token is ``HMAC-SHA256(SECRET_KEY, "public-link:<id>:<version>")`` in URL-safe base64
(43 characters, 256 bits): staff can copy it again at any time, outreach can put it in
emails, and only its SHA-256 is stored. Unknown, revoked and expired tokens are the same
``None`` after the same work (one indexed lookup by hash).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select, text

from app.audits.engine.scoring import PITCH_WEIGHT
from app.extensions import db
from app.models import Audit, AuditStatus, PublicLink
from app.models.base import utcnow
from app.public import plain
from app.ratelimit import Decision
from app.untrusted import clean_text, safe_url

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
#: Hashed in place of a malformed token, so every miss costs one lookup.
_MISS = "0" * 43


def token_for(link: PublicLink) -> str:
    """The link's current token (256 bits, URL-safe); the link must have an id."""
    if link.id is None:
        raise ValueError("the link has no id yet: flush it first")
    key = str(current_app.config["SECRET_KEY"]).encode()
    msg = f"public-link:{link.id}:{link.version}".encode()
    digest = hmac.new(key, msg, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def hash_token(token: str) -> str:
    """What is stored and looked up: the token's SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def is_live(link: PublicLink | None, now: datetime | None = None) -> bool:
    """Published, not revoked, not expired, and still showing an audit."""
    if link is None or link.published_at is None or link.revoked_at is not None:
        return False
    if link.audit_id is None:
        return False
    now = now or utcnow()
    return link.expires_at is None or link.expires_at > now


def link_for_lead(lead_id: int) -> PublicLink | None:
    """The lead's link (live or not), if it ever had one."""
    return db.session.scalar(select(PublicLink).where(PublicLink.lead_id == lead_id))


def links_for_leads(lead_ids: list[int]) -> dict[int, PublicLink]:
    """``{lead_id: link}`` for these leads (bounded by the caller's page)."""
    if not lead_ids:
        return {}
    rows = db.session.scalars(select(PublicLink).where(PublicLink.lead_id.in_(lead_ids)))
    return {row.lead_id: row for row in rows}


def link_for_token(token: str) -> PublicLink | None:
    """The live link this token opens, or None (unknown, malformed, revoked, expired)."""
    shaped = isinstance(token, str) and TOKEN_RE.fullmatch(token) is not None
    wanted = hash_token(token if shaped else _MISS)
    link = db.session.scalar(select(PublicLink).where(PublicLink.token_hash == wanted))
    if not shaped or link is None or not is_live(link):
        return None
    # Constant-time confirmation of what the index found.
    return link if hmac.compare_digest(link.token_hash, wanted) else None


@dataclass(frozen=True)
class LiveLink:
    """What the page needs to know about a live link before it renders (one light read)."""

    id: int
    lead_id: int
    audit_id: int
    version: int
    published_at: datetime


_LIVE_COLUMNS = (PublicLink.id, PublicLink.lead_id, PublicLink.audit_id, PublicLink.version,
                 PublicLink.published_at, PublicLink.revoked_at, PublicLink.expires_at,
                 PublicLink.token_hash)
_LIVE_SQL = text(
    "SELECT id, lead_id, audit_id, version, published_at, revoked_at, expires_at, token_hash "
    "FROM public_links WHERE token_hash = :h").columns(*_LIVE_COLUMNS)


def live_link_for_token(token: str) -> LiveLink | None:
    """:func:`link_for_token` as plain values (no ORM object): the hot path of the page."""
    shaped = isinstance(token, str) and TOKEN_RE.fullmatch(token) is not None
    wanted = hash_token(token if shaped else _MISS)
    # A plain statement on a pooled connection of its own: a third of the cost of the ORM
    # path, on the one query every page view makes (bench/public_page.py).
    with db.engine.connect() as conn:
        row = conn.execute(_LIVE_SQL, {"h": wanted}).first()
    if not shaped or row is None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    if row.published_at is None or row.revoked_at is not None or row.audit_id is None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    return LiveLink(row.id, row.lead_id, row.audit_id, row.version, row.published_at)


def public_url(link: PublicLink) -> str:
    """The absolute address a prospect opens (``PUBLIC_BASE_URL`` + ``/r/<token>``)."""
    base = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}/r/{token_for(link)}"


# --------------------------------------------------------------------- the page's read model
#: (lowest score, letter, band) — grades, not false precision: lab timings vary.
GRADES = ((90, "A", "good"), (75, "B", "good"), (60, "C", "fair"), (40, "D", "poor"),
          (0, "F", "poor"))
CATEGORY_LABELS = {
    "speed": "Speed", "mobile": "Mobile", "seo": "Search (SEO)",
    "accessibility": "Accessibility", "security": "Security", "conversion": "Getting in touch",
}
COMPARE_WORDS = {
    "overall": "scored better overall than", "speed": "is faster than",
    "mobile": "works better on phones than", "seo": "is easier to find on Google than",
    "accessibility": "is more accessible than", "security": "is more secure than",
    "conversion": "makes it easier to get in touch than",
}
OUTCOME_RANK = {"fail": 0, "warn": 1}
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
#: Checks that describe the site rather than judge it: never listed as "what is good".
NOT_PRAISE = frozenset({"platform", "js-libraries", "dom-size", "render-blocking-resources"})
SHOT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
TOP_PROBLEMS = 5


def grade(score: Any) -> dict[str, str] | None:
    """``{"letter", "band"}`` for a 0–100 score, None when there is none."""
    if not isinstance(score, int | float) or isinstance(score, bool):
        return None
    for low, letter, band in GRADES:
        if score >= low:
            return {"letter": letter, "band": band}
    return {"letter": "F", "band": "poor"}


def _present(audit: Audit) -> set[str]:
    """Storage keys of the audit's screenshots that still exist: upkeep removes old
    full-size captures from ``audit.screenshots`` (never from the frozen snapshot)."""
    index = audit.screenshots if isinstance(audit.screenshots, dict) else {}
    return {str(m["key"]) for m in index.values() if isinstance(m, dict) and m.get("key")}


def _shots(audit: Audit) -> dict[str, dict[str, Any]]:
    """Screenshots of the audit's snapshot by name: only well-formed names whose stored
    file is still there (so the page never shows an image that would 404)."""
    snapshot = audit.snapshot if isinstance(audit.snapshot, dict) else {}
    present = _present(audit)
    out: dict[str, dict[str, Any]] = {}
    for meta in snapshot.get("screenshots") or []:
        if not isinstance(meta, dict) or str(meta.get("key") or "") not in present:
            continue
        name = str(meta.get("name") or "")
        if SHOT_NAME.fullmatch(name):
            out[name] = meta
    return out


def shot_for(link: PublicLink, audit: Audit, name: str) -> dict[str, Any] | None:
    """The screenshot ``name`` of the link's published audit, if the snapshot has it."""
    if not SHOT_NAME.fullmatch(name or "") or audit.id != link.audit_id:
        return None
    return _shots(audit).get(name)


def _image(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    if not meta:
        return None
    w, h = meta.get("width"), meta.get("height")
    if not isinstance(w, int) or not isinstance(h, int) or w <= 0 or h <= 0:
        return None
    return {"name": meta["name"], "width": w, "height": h,
            "form_factor": str(meta.get("form_factor") or "desktop")}


def _crops(shots: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Annotated crops by check id (names ``<form factor>-annotated-<check id>.<ext>``)."""
    out: dict[str, dict[str, Any]] = {}
    for name, meta in shots.items():
        if meta.get("kind") != "annotated":
            continue
        stem = name.rsplit(".", 1)[0]
        for ff in ("desktop", "mobile"):
            prefix = f"{ff}-annotated-"
            if stem.startswith(prefix):
                image = _image(meta)
                if image and (stem[len(prefix):] not in out or ff == "mobile"):
                    out[stem[len(prefix):]] = image
    return out


def _examples(evidence: Any) -> list[str]:
    if not isinstance(evidence, dict):
        return []
    out: list[str] = []
    for key in ("elements", "examples", "large_images"):
        items = evidence.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and item.get("description"):
                    out.append(clean_text(str(item["description"]))[:140])
    return out[:3]


def _problems(checks: list[dict[str, Any]],
              crops: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    failing = [c for c in checks if isinstance(c, dict) and c.get("outcome") in OUTCOME_RANK]
    failing.sort(key=lambda c: (OUTCOME_RANK[str(c["outcome"])],
                                SEVERITY_RANK.get(str(c.get("severity")), 5),
                                -PITCH_WEIGHT.get(str(c.get("category")), 1.0),
                                str(c.get("id"))))
    out = []
    for c in failing[:TOP_PROBLEMS]:
        cid, cat = str(c.get("id") or ""), str(c.get("category") or "")
        text, effort = plain.why(cid, cat)
        out.append({"title": clean_text(str(c.get("title") or cid))[:200], "why": text,
                    "effort": effort, "category": CATEGORY_LABELS.get(cat, cat.title()),
                    "serious": c.get("outcome") == "fail", "crop": crops.get(cid),
                    "examples": _examples(c.get("evidence"))})
    return out


def _good(checks: list[dict[str, Any]]) -> list[str]:
    passing = [c for c in checks if isinstance(c, dict) and c.get("outcome") == "pass"
               and str(c.get("id")) not in NOT_PRAISE and c.get("category") != "accessibility"]
    passing.sort(key=lambda c: (SEVERITY_RANK.get(str(c.get("severity")), 5), str(c.get("id"))))
    titles: list[str] = []
    for c in passing:
        title = clean_text(str(c.get("title") or ""))[:200]
        if title and title not in titles:
            titles.append(title)
    return titles[:6]


def _comparisons(peers: Any) -> dict[str, Any] | None:
    if not isinstance(peers, dict) or not isinstance(peers.get("categories"), dict):
        return None
    who = clean_text(str(peers.get("niche") or "")) or "businesses"
    where = clean_text(str(peers.get("city") or ""))
    lines = []
    for cat, words in COMPARE_WORDS.items():
        row = peers["categories"].get(cat)
        if isinstance(row, dict) and isinstance(row.get("total"), int) and row["total"] >= 5:
            lines.append(f"{words} {row.get('beaten', 0)} of {row['total']} {who}")
    if not lines:
        return None
    return {"lines": lines[:4], "where": where, "who": who}


def agency_profile() -> dict[str, Any]:
    """The agency's public details, cleaned (cached like the brand, see
    settings.queries.cached_many; recomputed only when the stored values change)."""
    from app.settings.queries import AGENCY_DEFAULTS, cached_many

    keys = {k: AGENCY_DEFAULTS[k] for k in PUBLIC_AGENCY_KEYS if k in AGENCY_DEFAULTS}
    values = cached_many(keys)
    stamp = tuple(sorted((k, str(v)) for k, v in values.items()))
    cache: dict[str, Any] = current_app.extensions.setdefault("public_agency", {})
    if cache.get("stamp") != stamp:
        cache["profile"], cache["stamp"] = _clean_profile(keys, values), stamp
    return dict(cache["profile"])


def _clean_profile(keys: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: clean_text(str(values.get(k) or ""),
                                         keep_newlines=k == "postal_address")[:500]
                           for k in keys if k != "logo_file"}
    out["has_logo"] = bool(values.get("logo_file"))
    out["logo_file"] = values.get("logo_file")
    for k in ("website", "booking_url"):
        out[k] = safe_url(out.get(k) or "") or ""
    out["tel"] = "".join(c for c in out.get("agency_phone") or "" if c.isdigit() or c == "+")
    if "@" not in (out.get("agency_email") or "") or any(
            c in out["agency_email"] for c in "?&/:<>\"' "):
        out["agency_email"] = ""
    return out


#: Settings a public page may show (never sender or internal values).
PUBLIC_AGENCY_KEYS = ("agency_name", "postal_address", "brand_colour", "logo_file",
                      "agency_phone", "agency_email", "website", "booking_url")


def page_view(link: PublicLink) -> dict[str, Any] | None:
    """Everything the prospect's page shows, from the published audit's frozen snapshot
    and what was frozen on the link at publish time; None when the audit is gone."""
    audit = db.session.get(Audit, link.audit_id) if link.audit_id else None
    if audit is None:
        return None
    snap = audit.snapshot if isinstance(audit.snapshot, dict) else {}
    frozen = link.frozen or {}
    shots = _shots(audit)
    by_kind: dict[str, dict[str, Any]] = {}
    for meta in shots.values():
        if meta.get("kind") == "viewport":
            by_kind.setdefault(str(meta.get("form_factor") or "desktop"), meta)
    checks = [c for c in (snap.get("checks") or []) if isinstance(c, dict)]
    found_scores, found_down = snap.get("scores"), snap.get("site_down")
    scores: dict[str, Any] = found_scores if isinstance(found_scores, dict) else {}
    down: dict[str, Any] = found_down if isinstance(found_down, dict) else {}
    site_down = audit.status == AuditStatus.SITE_DOWN
    return {
        "business": clean_text(str(frozen.get("business_name") or "Your business"))[:300],
        "site": _site_label(audit.final_url or audit.url),
        "audited_on": audit.finished_at,
        "site_down": {"title": clean_text(str(down.get("title") or "Your website is down")),
                      "detail": clean_text(str(down.get("detail") or ""))[:600],
                      "kind": str(down.get("kind") or "")} if site_down else None,
        "overall": None if site_down else grade(scores.get("overall")),
        "grades": [] if site_down else [
            {"key": k, "label": label, **g} for k, label in CATEGORY_LABELS.items()
            if (g := grade(scores.get(k)))],
        "problems": [] if site_down else _problems(checks, _crops(shots)),
        "good": [] if site_down else _good(checks),
        "desktop": _image(by_kind.get("desktop")),
        "mobile": _image(by_kind.get("mobile")),
        "peers": None if site_down else _comparisons(frozen.get("peers")),
    }


def _site_label(url: str | None) -> str:
    """The audited site's host, as people write it (no scheme, no path)."""
    if not url:
        return ""
    host = urlsplit(url).hostname or ""
    return clean_text(host.removeprefix("www."))[:253]


#: Mail-security scanners fetch a link within seconds of its email being delivered.
SCANNER_SECONDS = 60
BOT_UA = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scanner|preview|fetch|headless|phantom|curl|wget|"
    r"python|java/|go-http|okhttp|axios|node-fetch|libwww|httpclient|facebookexternalhit|"
    r"whatsapp|telegram|slack|discord|skype|linkedin|pinterest|embedly|proofpoint|mimecast|"
    r"barracuda|safelinks|safebrowsing|google-safety|microsoft office|ms-office|outlook-ios|"
    r"pitchfastaudit|lighthouse|pagespeed|gtmetrix|monitor|uptime|check",
    re.I,
)


def looks_like_bot(user_agent: str) -> bool:
    """Link scanners, previewers, crawlers and scripts (and an empty user agent)."""
    return not user_agent.strip() or BOT_UA.search(user_agent) is not None


def recently_emailed(lead_id: int, now: datetime | None = None) -> bool:
    """An email to this lead went out in the last :data:`SCANNER_SECONDS`: a fetch now is
    far more likely the recipient's mail-security scanner than the person."""
    from app.models import Outreach

    since = (now or utcnow()) - timedelta(seconds=SCANNER_SECONDS)
    found = db.session.scalar(
        select(Outreach.id).where(Outreach.lead_id == lead_id, Outreach.sent_at > since)
        .limit(1))
    return found is not None


def miss_budget(key: str, *, limit: int, window: int) -> Decision:
    """Whether ``key`` may count one more miss, read without writing: the first half of
    :func:`app.ratelimit.hit`, so an address over its budget costs no write lock."""
    from app.models.ratelimit import RateEvent

    now = utcnow()
    count, oldest = db.session.execute(
        select(func.count(RateEvent.id), func.min(RateEvent.at))
        .where(RateEvent.key == key[:300], RateEvent.at >= now - timedelta(seconds=window))
    ).one()
    if int(count or 0) >= limit and oldest is not None:
        wait = (oldest + timedelta(seconds=window) - now).total_seconds()
        return Decision(False, max(1, int(wait + 0.999)))
    return Decision(True)


def visitor_key(link_id: int, address: str, user_agent: str) -> str:
    """A per-link visitor key: an HMAC of address and browser (the raw address is never
    stored, and keys of two links cannot be matched up)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    msg = f"public-visitor:{link_id}:{address}:{user_agent[:300]}".encode("utf-8", "replace")
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def shot_metas(audit: Audit) -> dict[str, dict[str, Any]]:
    """The audit snapshot's screenshots by name (for the staff preview)."""
    return _shots(audit)
