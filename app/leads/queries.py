"""Reading leads: the loader, the lead page and its live state, the searchable list and
its live rows, the CSV export.

A list page is one statement that returns the rows *and* the number of matching leads
(a scalar subquery), so a page render costs: the user, the campaign, the rows. A
PostgreSQL search reads its matches once (a materialised CTE) for both the count and the
rows. Sorting on a nullable column (score, city) reads two index ranges in one UNION ALL
so NULLs come last in either direction and no page needs OFFSET. The filter itself is
built in :mod:`app.leads.search`.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort
from sqlalchemy import and_, func, or_, select, tuple_, union_all

from app.audits.operations import active_run_ids
from app.audits.queries import HistoryRow, PanelState, history_rows, panel_state
from app.extensions import db
from app.leads import dnc
from app.leads.normalize import neutralize_cell
from app.leads.search import SORTS, LeadFilter, conditions, decode_cursor, encode_cursor, fts_terms
from app.models import Activity, AuditStatus, Campaign, Lead, LeadStatus, User
from app.models.states import manual_targets

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


def move_targets(lead: Lead, *, admin: bool) -> list[LeadStatus]:
    """Statuses a person may move this lead to (its current one left out)."""
    return manual_targets(LeadStatus(lead.status), admin=admin)


@dataclass
class LiveMark:
    """Where a page showing one lead stands: ``version`` changes whenever anything live
    on it does (the lead's status, score or note, its audits and runs, its activity)."""

    lead: Lead
    audit_panel: PanelState
    version: str

    @property
    def active(self) -> bool:
        """An audit of the lead is queued or running."""
        return self.audit_panel.active


@dataclass
class LeadLive(LiveMark):
    """What every page showing one lead keeps live: its audit panel, its audit history
    (newest first) and its activity, with their version."""

    history: list[HistoryRow]
    feed: list[Any]

    @property
    def score_points(self) -> list[tuple[Any, int]]:
        """(date, score) of the successful audits in the history, oldest first."""
        return [
            (row.audit.created_at, row.audit.score)
            for row in reversed(self.history)
            if row.audit.status == AuditStatus.SUCCEEDED and row.audit.score is not None
        ]


def lead_version(lead: Lead, audit_panel: PanelState) -> str:
    """A short token of everything live on a lead's pages (two small reads: the newest
    activity about the lead, nothing else beyond what ``audit_panel`` holds)."""
    last_activity = db.session.scalar(
        select(func.max(Activity.id)).where(
            Activity.subject_type == "lead", Activity.subject_id == lead.id
        )
    )
    latest, run = audit_panel.latest, audit_panel.run
    parts = (
        lead.status, lead.status_reason, lead.score, lead.site_down, lead.latest_audit_id,
        lead.updated_at, latest and (latest.id, latest.status, latest.finished_at),
        run and (run.id, run.status), last_activity,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def live_mark(lead: Lead, audit_panel: PanelState | None = None) -> LiveMark:
    """The lead's version and whether an audit of it is active (for a page's poller)."""
    panel = audit_panel or panel_state(lead)
    return LiveMark(lead, panel, lead_version(lead, panel))


def lead_live(lead: Lead, audit_panel: PanelState | None = None, limit: int = 50) -> LeadLive:
    """The lead's live state for its pages: panel, history (newest first), activity."""
    panel = audit_panel or panel_state(lead)
    feed = db.session.execute(
        select(Activity, User.email)
        .outerjoin(User, User.id == Activity.user_id)
        .where(Activity.subject_type == "lead", Activity.subject_id == lead.id)
        .order_by(Activity.id.desc())
        .limit(limit)
    ).all()
    return LeadLive(lead, panel, lead_version(lead, panel), history_rows(lead.id), list(feed))


def do_not_contact(lead: Lead) -> str | None:
    """Why the lead may not be contacted (its domain or email is on the list), or None."""
    return dnc.check(lead.domain, lead.email)


# -- the list of a campaign's leads --------------------------------------------------------


@dataclass
class Page:
    """One page of the list: its rows, the number of matches, cursors to the neighbours,
    and where it sits in the list (``start``: the 1-based position of its first row)."""

    rows: list[Any]
    total: int | None
    next_cursor: str | None
    prev_cursor: str | None
    filter: LeadFilter
    start: int | None = None

    @property
    def end(self) -> int | None:
        """The position of the page's last row (``start`` + rows − 1)."""
        return self.start + len(self.rows) - 1 if self.start is not None and self.rows else None


def _beyond(col: Any, id_col: Any, desc: bool, value: Any, lead_id: int) -> Any:
    if col is id_col:
        return id_col < lead_id if desc else id_col > lead_id
    if desc:
        return or_(col < value, and_(col == value, id_col < lead_id))
    return or_(col > value, and_(col == value, id_col > lead_id))


def _around(col: Any, id_col: Any, nullable: bool, desc: bool, cursor: tuple[int, Any, int],
            later: bool) -> list[Any]:
    """Disjoint conditions whose rows are the cursor's row and every row before it in the
    list's order (``desc``: the filter's direction; NULL keys last), or with ``later`` the
    cursor's row and every row after it. Each condition is one index range (a row-value
    comparison on (key, id)), so counting them reads index entries only."""
    seg, value, cursor_id = cursor
    upper = desc != later  # earlier rows have larger keys in a descending list

    def side(left: Any, right: Any) -> Any:
        return left >= right if upper else left <= right

    if seg == 1:  # the cursor is among the NULL keys (ordered by id): non-NULL rows come first
        nulls = and_(col.is_(None), side(id_col, cursor_id))
        return [nulls] if later else [col.is_not(None), nulls]
    if col is id_col:
        return [side(id_col, cursor_id)]
    keyed = side(tuple_(col, id_col), tuple_(sa.literal(value, col.type), sa.literal(cursor_id)))
    return [keyed, col.is_(None)] if later and nullable else [keyed]


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
    last: bool = False,
    positions: bool = True,
) -> Page:
    """One page of leads in ``f``'s order after (or before) a cursor, or the ``last`` page:
    a single SQL statement, which also counts the matches and the rows ahead of the page
    (so the page can say "51–100 of 12,345" without OFFSET). With ``positions=False`` (the
    API, which shows neither) the rows ahead are not counted and the matches only on the
    first page: ``total`` and ``start`` are None on a page reached by a cursor."""
    key = f.sort_key
    nullable = SORTS[key][1]
    backwards = (bool(before) and not after) or (last and not after)
    cursor = decode_cursor(before if backwards else after, key)
    desc = f.descending != backwards  # walking backwards flips every direction
    src, conds = _source(campaign_id, f)
    col, id_col = src.c[SORTS[key][0].key], src.c.id
    columns = [src.c[c.key] for c in COLUMNS]
    count_total = positions or cursor is None
    total_sq = select(func.count()).select_from(src).where(*conds).scalar_subquery()
    # Where the page sits, counted from the nearer end: going forwards, the rows up to and
    # including the cursor's; going backwards (from the last page, say), the cursor's row
    # and every row after it (the page ends just ahead of the cursor).
    ahead_sq = None
    if cursor is not None and positions:
        counts = [select(func.count()).select_from(src).where(*conds, part).scalar_subquery()
                  for part in _around(col, id_col, nullable, f.descending, cursor, backwards)]
        ahead_sq = counts[0] if len(counts) == 1 else counts[0] + counts[1]
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
    extra = [total_sq.label("total")] if count_total else []
    if ahead_sq is not None:
        extra.append(ahead_sq.label("ahead"))
    if len(parts) == 1:
        stmt = parts[0][1].add_columns(*extra)
    else:
        u = union_all(*(select(p.subquery()) for _, p in parts)).subquery()
        seg_order = u.c.seg.desc() if backwards else u.c.seg.asc()
        ukey, uid = u.c[col.key], u.c.id
        order = [ukey.desc(), uid.desc()] if desc else [ukey.asc(), uid.asc()]
        stmt = select(u, *extra).order_by(seg_order, *order).limit(per_page + 1)
    rows = list(db.session.execute(stmt).all())
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    total = (rows[0].total if rows and count_total else
             0 if cursor is None else None)

    def cur(row: Any) -> str:
        return encode_cursor(row.seg, getattr(row, col.key), row.id)

    has_next = more if not backwards else cursor is not None
    has_prev = (cursor is not None) if not backwards else more
    return Page(
        rows,
        total,
        cur(rows[-1]) if rows and has_next else None,
        cur(rows[0]) if rows and has_prev else None,
        f,
        _start(rows, cursor is None, backwards, total) if positions else None,
    )


def _start(rows: list[Any], first_or_last: bool, backwards: bool,
           total: int | None) -> int | None:
    """The position of a page's first row, from the counts its statement read."""
    if not rows:
        return None
    if first_or_last:
        return 1 if not backwards else max(int(total or 0) - len(rows) + 1, 1)
    counted = int(rows[0].ahead)  # rows up to the cursor, or from it to the end (backwards)
    if not backwards:
        return counted + 1
    return max(int(total or 0) - counted - len(rows) + 1, 1)


def matching_ids(campaign_id: int, f: LeadFilter, limit: int | None = None) -> list[int]:
    """Ids of every lead matching ``f`` (for bulk actions on a whole filtered view)."""
    stmt = select(Lead.id).where(*conditions(campaign_id, f)).order_by(Lead.id)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


@dataclass
class LiveRows:
    """The current status and score of some leads of a list page, and which of them an
    audit is queued or running for."""

    rows: list[Any]
    active: set[int]


def live_rows(campaign_id: int, ids: Sequence[int]) -> LiveRows:
    """Status, score and site-down flag of these leads of the campaign (two queries)."""
    wanted = sorted(set(ids))
    rows = list(db.session.execute(
        select(Lead.id, Lead.status, Lead.score, Lead.site_down)
        .where(Lead.campaign_id == campaign_id, Lead.id.in_(wanted))
        .order_by(Lead.id)
    ).all()) if wanted else []
    active = set(active_run_ids([r.id for r in rows])) if rows else set()
    return LiveRows(rows, active)


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
