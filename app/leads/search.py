"""The filter of a campaign's leads: what a person asked for, turned into SQL conditions
(full text on SQLite's FTS5 or PostgreSQL's ``tsvector``), the sort orders, and the
opaque keyset cursors of a page. :mod:`app.leads.queries` reads the pages with them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from app.edge import MAX_ID
from app.extensions import db
from app.models import Lead, LeadStatus

#: sort name -> (column, nullable?)
SORTS: dict[str, tuple[Any, bool]] = {
    "created": (Lead.id, False),
    "name": (Lead.business_name, False),
    "score": (Lead.score, True),
    "city": (Lead.city, True),
    "status": (Lead.status, False),
}
DEFAULT_SORT = "-created"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
#: Longest cursor token accepted (a real one, for a 300-character name, is under 2,500).
_MAX_CURSOR = 4096


@dataclass
class LeadFilter:
    """What the person asked for; built from the URL so views can be bookmarked."""

    q: str = ""
    statuses: list[str] = field(default_factory=list)
    score_min: int | None = None
    score_max: int | None = None
    audited: str = ""  # "yes" | "no" | ""
    city: str = ""
    has_email: str = ""  # "yes" | "no" | ""
    site_down: str = ""  # "yes" | "no" | "": the latest audit found the site down
    sort: str = DEFAULT_SORT

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-") if self.sort.lstrip("-") in SORTS else "created"

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-") if self.sort.lstrip("-") in SORTS else True

    def is_filtered(self) -> bool:
        return bool(
            self.q
            or self.statuses
            or self.score_min is not None
            or self.score_max is not None
            or self.audited
            or self.city
            or self.has_email
            or self.site_down
        )

    def to_args(self) -> dict[str, Any]:
        """Query-string arguments reproducing this filter (empty values left out)."""
        args: dict[str, Any] = {
            "q": self.q,
            "status": self.statuses,
            "score_min": self.score_min,
            "score_max": self.score_max,
            "audited": self.audited,
            "city": self.city,
            "has_email": self.has_email,
            "site_down": self.site_down,
        }
        if self.sort != DEFAULT_SORT:
            args["sort"] = self.sort
        return {k: v for k, v in args.items() if v not in (None, "", [])}


def fts_terms(q: str) -> list[str]:
    """The words of a search box, at most 8 (punctuation splits words, as in the index)."""
    return _WORD.findall(q.lower())[:8]


def search_condition(q: str, drive: bool = True, city: str = "") -> Any:
    """``leads.id`` matches the full-text query on either database (None when no words).

    ``drive=False`` tells SQLite not to start from the matches (another filter is
    more selective, so it looks each candidate up in the materialised matches instead).
    With a ``city`` filter, SQLite's full-text query also asks for the city's words (the
    index has no column filters with ``detail=none``, so anywhere in the row): the index
    intersects the two, a superset of the exact city match that the caller still
    applies, so a common search word no longer materialises tens of thousands of rows.
    """
    terms = fts_terms(q)
    if not terms:
        return None
    if db.engine.dialect.name == "sqlite":
        match = " ".join(f'"{t}"*' for t in terms)
        match += "".join(f' "{w}"' for w in _city_words(city))
        # A materialised CTE: the match runs once per statement even when the page
        # query uses it three times (rows of each NULL segment, and the count).
        fts = sa.table("leads_search", sa.column("rowid", sa.Integer))
        matches = (
            select(fts.c.rowid)
            .where(sa.literal_column("leads_search").op("MATCH")(sa.bindparam("fts_q", match)))
            .cte("lead_matches")
            .prefix_with("MATERIALIZED")
        )
        lead_id = Lead.id if drive else Lead.id + 0
        return lead_id.in_(select(matches.c.rowid))
    tsq = " & ".join(f"{t}:*" for t in terms)
    return sa.text("leads.search_vector @@ to_tsquery('simple', :fts_q)").bindparams(fts_q=tsq)


def _city_words(city: str) -> list[str]:
    """The city's words as the full-text index stores them, or none when unsure.

    Folded like FTS5's ``unicode61 remove_diacritics 2`` (decompose, drop the marks,
    lower-case); a city that is not plain ASCII after that (another script, where Python's
    and SQLite's folding may differ) adds no words, so the lookup is never narrower than
    the exact city match.
    """
    folded = "".join(
        ch for ch in unicodedata.normalize("NFKD", city) if not unicodedata.combining(ch)
    )
    return fts_terms(folded) if folded.isascii() else []


def _city_variants(city: str) -> set[str]:
    return {city, city.lower(), city.upper(), city.title(), city.capitalize()}


def conditions(campaign_id: int, f: LeadFilter) -> list[Any]:
    """WHERE clauses for a campaign's leads matching ``f``."""
    conds: list[Any] = [Lead.campaign_id == campaign_id]
    if f.statuses:
        conds.append(Lead.status.in_([LeadStatus(s) for s in f.statuses]))
    # With a city (about 1/20 of a campaign) the city index is the better start; "+ 0"
    # keeps SQLite's planner from picking the score index for a wide score range instead.
    score = Lead.score + 0 if f.city else Lead.score
    if f.score_min is not None:
        conds.append(score >= f.score_min)
    if f.score_max is not None:
        conds.append(score <= f.score_max)
    if f.audited == "yes":
        conds.append(Lead.audited_at.is_not(None))
    elif f.audited == "no":
        conds.append(Lead.audited_at.is_(None))
    if f.city:
        conds.append(Lead.city.in_(sorted(_city_variants(f.city))))
    if f.has_email == "yes":
        conds.append(Lead.email.is_not(None))
    elif f.has_email == "no":
        conds.append(Lead.email.is_(None))
    if f.site_down == "yes":
        conds.append(Lead.site_down.is_(True))
    elif f.site_down == "no":
        conds.append(Lead.site_down.is_(False))
    match = search_condition(f.q, drive=not f.city, city=f.city)
    if match is not None:
        conds.append(match)
    return conds


def encode_cursor(segment: int, value: Any, lead_id: int) -> str:
    """Opaque, URL-safe position of a row in the sort order."""
    raw = json.dumps([segment, getattr(value, "value", value), lead_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str | None, sort_key: str) -> tuple[int, Any, int] | None:
    """The position encoded by :func:`encode_cursor`, or None when missing or tampered with.

    A forged cursor never reaches SQL: the segment must match the value (segment 0 holds
    the non-NULL keys, segment 1 the NULL ones, and only nullable sorts have one), integers
    must fit a 64-bit column, text must be short and free of NUL (PostgreSQL refuses it).
    """
    if not token or len(token) > _MAX_CURSOR:
        return None
    try:
        seg, value, lead_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError, RecursionError, binascii.Error):
        return None
    if seg not in (0, 1) or isinstance(seg, bool) or not _is_id(lead_id):
        return None
    if (value is None) != (seg == 1) or (seg == 1 and not SORTS[sort_key][1]):
        return None
    expected = {"created": int, "score": int, "name": str, "city": str, "status": str}[sort_key]
    if value is not None and not _fits(value, expected):
        return None
    if sort_key == "status" and value not in {s.value for s in LeadStatus}:
        return None
    return seg, value, lead_id


def _is_id(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_ID


def _fits(value: Any, expected: type) -> bool:
    """``value`` is of the sort column's type and fits its column."""
    if type(value) is not expected:  # bool is not int here, nor float
        return False
    if isinstance(value, int):
        return -MAX_ID - 1 <= value <= MAX_ID
    return isinstance(value, str) and len(value) <= 1000 and "\x00" not in value
