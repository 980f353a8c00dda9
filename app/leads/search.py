"""Search, filters, sorting and keyset pagination of a campaign's leads.

One statement returns a page of rows *and* the number of matching leads (a scalar
subquery), so a page render costs: the user, the campaign, the rows. A PostgreSQL search
reads its matches once (a materialised CTE) for both the count and the rows. Sorting on a
nullable column (score, city) reads two index ranges in one UNION ALL so NULLs come
last in either direction and no page needs OFFSET.
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
from sqlalchemy import and_, func, or_, select, union_all

from app.extensions import db
from app.models import Lead, LeadStatus

#: Columns a list row needs (no ORM objects: nothing can lazy-load).
COLUMNS = (
    Lead.id,
    Lead.business_name,
    Lead.website_url,
    Lead.domain,
    Lead.email,
    Lead.city,
    Lead.status,
    Lead.score,
    Lead.audited_at,
    Lead.latest_audit_id,
    Lead.contact_name,
    Lead.created_at,
)
#: sort name -> (column, nullable?)
SORTS: dict[str, tuple[Any, bool]] = {
    "created": (Lead.id, False),
    "name": (Lead.business_name, False),
    "score": (Lead.score, True),
    "city": (Lead.city, True),
    "status": (Lead.status, False),
}
DEFAULT_SORT = "-created"
PER_PAGE = 50
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


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
    match = search_condition(f.q, drive=not f.city, city=f.city)
    if match is not None:
        conds.append(match)
    return conds


def encode_cursor(segment: int, value: Any, lead_id: int) -> str:
    """Opaque, URL-safe position of a row in the sort order."""
    raw = json.dumps([segment, getattr(value, "value", value), lead_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str | None, sort_key: str) -> tuple[int, Any, int] | None:
    """The position encoded by :func:`encode_cursor`, or None when missing or tampered with."""
    if not token:
        return None
    try:
        seg, value, lead_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError, binascii.Error):
        return None
    if seg not in (0, 1) or not isinstance(lead_id, int) or isinstance(lead_id, bool):
        return None
    expected = {
        "created": (int, type(None)),
        "score": (int, type(None)),
        "name": (str,),
        "city": (str, type(None)),
        "status": (str,),
    }[sort_key]
    if not isinstance(value, expected) or isinstance(value, bool):
        return None
    if sort_key == "status" and value not in {s.value for s in LeadStatus}:
        return None
    return seg, value, lead_id


@dataclass
class Page:
    rows: list[Any]
    total: int | None
    next_cursor: str | None
    prev_cursor: str | None
    filter: LeadFilter


def _beyond(col: Any, id_col: Any, desc: bool, value: Any, lead_id: int) -> Any:
    if col is id_col:
        return id_col < lead_id if desc else id_col > lead_id
    if desc:
        return or_(col < value, and_(col == value, id_col < lead_id))
    return or_(col > value, and_(col == value, id_col > lead_id))


def _source(campaign_id: int, f: LeadFilter) -> tuple[Any, list[Any]]:
    """Where a page reads its rows from, and the conditions still to apply there.

    A PostgreSQL search reads its matches once into a materialised CTE (the GIN lookup and
    the heap recheck of every matched row are the whole cost), then counts and pages from
    it; otherwise the table itself, with every condition.
    """
    conds = conditions(campaign_id, f)
    if f.q and fts_terms(f.q) and db.engine.dialect.name == "postgresql":
        matches = select(*COLUMNS).where(*conds).cte("page_matches").prefix_with("MATERIALIZED")
        return matches, []
    return Lead.__table__, conds


def page(
    campaign_id: int,
    f: LeadFilter,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PER_PAGE,
) -> Page:
    """One page of leads in ``f``'s order after (or before) a cursor: a single SQL statement."""
    key = f.sort_key
    nullable = SORTS[key][1]
    backwards = bool(before) and not after
    cursor = decode_cursor(before if backwards else after, key)
    desc = f.descending != backwards  # walking backwards flips every direction
    src, conds = _source(campaign_id, f)
    col, id_col = src.c[SORTS[key][0].key], src.c.id
    columns = [src.c[c.key] for c in COLUMNS]
    total_sq = select(func.count()).select_from(src).where(*conds).scalar_subquery()
    # segment 0: non-NULL keys; segment 1: NULL keys (ordered by id) — NULLs last.
    segments = [0, 1] if nullable else [0]
    if backwards:
        segments.reverse()
    parts = []
    for seg in segments:
        where = list(conds)
        if nullable:
            where.append(col.is_not(None) if seg == 0 else col.is_(None))
        key_col = col if seg == 0 else id_col
        if cursor is not None:
            pos = segments.index(cursor[0]) if cursor[0] in segments else 0
            if segments.index(seg) < pos:
                continue
            if seg == cursor[0]:
                where.append(_beyond(key_col, id_col, desc, cursor[1], cursor[2]))
        order = [key_col.desc(), id_col.desc()] if desc else [key_col.asc(), id_col.asc()]
        if key_col is id_col:
            order = order[:1]
        parts.append(
            (
                seg,
                select(*columns, sa.literal_column(str(seg)).label("seg"))
                .where(*where)
                .order_by(*order)
                .limit(per_page + 1),
            )
        )
    if len(parts) == 1:
        stmt = parts[0][1].add_columns(total_sq.label("total"))
    else:
        u = union_all(*(select(p.subquery()) for _, p in parts)).subquery()
        seg_order = u.c.seg.desc() if backwards else u.c.seg.asc()
        ukey, uid = u.c[col.key], u.c.id
        order = [ukey.desc(), uid.desc()] if desc else [ukey.asc(), uid.asc()]
        stmt = select(u, total_sq.label("total")).order_by(seg_order, *order).limit(per_page + 1)
    rows = list(db.session.execute(stmt).all())
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    total = rows[0].total if rows else (0 if cursor is None else None)

    def cur(row: Any) -> str:
        return encode_cursor(row.seg, getattr(row, col.key), row.id)

    has_next = more if not backwards else True
    has_prev = (cursor is not None) if not backwards else more
    return Page(
        rows,
        total,
        cur(rows[-1]) if rows and has_next else None,
        cur(rows[0]) if rows and has_prev else None,
        f,
    )


def matching_ids(campaign_id: int, f: LeadFilter, limit: int | None = None) -> list[int]:
    """Ids of every lead matching ``f`` (for bulk actions on a whole filtered view)."""
    stmt = select(Lead.id).where(*conditions(campaign_id, f)).order_by(Lead.id)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))
