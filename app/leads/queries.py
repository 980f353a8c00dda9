"""Reading leads: the loader, the lead page, the searchable list, the CSV export.

A list page is one statement that returns the rows *and* the number of matching leads
(a scalar subquery), so a page render costs: the user, the campaign, the rows. A
PostgreSQL search reads its matches once (a materialised CTE) for both the count and the
rows. Sorting on a nullable column (score, city) reads two index ranges in one UNION ALL
so NULLs come last in either direction and no page needs OFFSET. The filter itself is
built in :mod:`app.leads.search`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort
from sqlalchemy import and_, func, or_, select, union_all

from app.extensions import db
from app.leads import dnc
from app.leads.normalize import neutralize_cell
from app.leads.search import SORTS, LeadFilter, conditions, decode_cursor, encode_cursor, fts_terms
from app.models import Activity, Audit, Campaign, Lead, LeadStatus, User
from app.models.states import AUDIT_ONLY_STATUSES, LEAD_TRANSITIONS

PER_PAGE = 50
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
    Lead.site_down,
    Lead.audited_at,
    Lead.latest_audit_id,
    Lead.contact_name,
    Lead.created_at,
)


# -- one lead ----------------------------------------------------------------------------


def get_lead_or_404(lead_id: int) -> Lead:
    """Load a lead (every member may see every lead) or 404."""
    lead: Lead = db.get_or_404(Lead, lead_id)
    return lead


def lead_campaign(lead: Lead) -> Campaign:
    """The campaign a lead belongs to (404 if it vanished)."""
    campaign = db.session.get(Campaign, lead.campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def next_statuses(lead: Lead) -> list[LeadStatus]:
    """Statuses a person may move this lead to (its current one left out)."""
    current = LeadStatus(lead.status)
    allowed = LEAD_TRANSITIONS.get(current, set()) - {current} - AUDIT_ONLY_STATUSES
    return sorted(allowed, key=list(LeadStatus).index)


def lead_page(lead: Lead, limit: int = 50) -> dict[str, Any]:
    """Audit history (oldest first, for the score chart) and activity of a lead."""
    audits = db.session.scalars(
        select(Audit).where(Audit.lead_id == lead.id).order_by(Audit.id.desc()).limit(limit)
    ).all()[::-1]
    feed = db.session.execute(
        select(Activity, User.email)
        .outerjoin(User, User.id == Activity.user_id)
        .where(Activity.subject_type == "lead", Activity.subject_id == lead.id)
        .order_by(Activity.id.desc())
        .limit(limit)
    ).all()
    points = [(a.created_at, a.score) for a in audits if a.score is not None]
    return {
        "audits": audits,
        "feed": feed,
        "score_points": points,
        "dnc": dnc.check(lead.domain, lead.email),
    }


# -- the list of a campaign's leads --------------------------------------------------------


@dataclass
class Page:
    """One page of the list: its rows, the number of matches, cursors to the neighbours."""

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


# -- CSV export ----------------------------------------------------------------------------

HEADER = (
    "business_name",
    "website",
    "domain",
    "email",
    "contact_name",
    "phone",
    "city",
    "address",
    "source",
    "status",
    "score",
    "audited_at",
    "notes",
    "created_at",
)
_COLS = (
    Lead.id,
    Lead.business_name,
    Lead.website_url,
    Lead.domain,
    Lead.email,
    Lead.contact_name,
    Lead.phone,
    Lead.city,
    Lead.address,
    Lead.source,
    Lead.status,
    Lead.score,
    Lead.audited_at,
    Lead.notes,
    Lead.created_at,
)
CHUNK = 2000


def _line(values: list[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(values)
    return buf.getvalue()


def iter_csv(campaign_id: int, f: LeadFilter | None = None) -> Iterator[str]:
    """CSV lines (header first) of the matching leads, read in id-ordered chunks.

    Every text cell starting with ``= + - @``, tab or CR gets a leading ``'`` so a
    spreadsheet shows it instead of evaluating it.
    """
    conds = conditions(campaign_id, f or LeadFilter())
    db.session.rollback()  # the route's read transaction must not span the download
    yield "\ufeff" + _line(list(HEADER))
    last_id = 0
    while True:
        rows = db.session.execute(
            select(*_COLS).where(*conds, Lead.id > last_id).order_by(Lead.id).limit(CHUNK)
        ).all()
        # End the read transaction before yielding: the client may read slowly, and on
        # SQLite an open transaction holds the write lock for the whole download.
        db.session.rollback()
        if not rows:
            return
        for row in rows:
            values = [getattr(v, "value", v) for v in row[1:]]
            values = ["" if v is None else v for v in values]
            values[11] = values[11].isoformat(sep=" ", timespec="seconds") if values[11] else ""
            values[13] = values[13].isoformat(sep=" ", timespec="seconds")
            yield _line([neutralize_cell(v) for v in values])
        last_id = rows[-1].id
