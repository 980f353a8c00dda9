"""Reading the do-not-contact list: a searchable page by id, one entry, the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.leads.normalize import neutralize_cell
from app.models import BlacklistEntry, BlacklistReason, User

PER_PAGE = 50
#: Entries a person asked for or the mail system reported: only an admin removes them.
PROTECTED = frozenset({BlacklistReason.UNSUBSCRIBED, BlacklistReason.BOUNCED,
                       BlacklistReason.COMPLAINT})
EXPORT_COLUMNS = ("kind", "value", "reason", "note", "added_at")
_CHUNK = 1000


def get_entry_or_404(entry_id: int) -> BlacklistEntry:
    """One entry (every member may see the list) or 404."""
    return db.get_or_404(BlacklistEntry, entry_id)


@dataclass
class DncPage:
    rows: list[tuple[BlacklistEntry, str | None]]
    total: int
    next_before: int | None
    search: str


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def page(search: str = "", before: int | None = None, per_page: int = PER_PAGE) -> DncPage:
    """Newest entries first, ``per_page`` at a time (keyset on id), optionally only those
    whose value contains ``search``; each with who added it."""
    search = search.strip().lower()[:254]
    where = []
    if search:
        where.append(BlacklistEntry.value.like(f"%{_escape_like(search)}%", escape="\\"))
    stmt = (select(BlacklistEntry, User.email).outerjoin(User, User.id ==
                                                          BlacklistEntry.created_by_id)
            .where(*where))
    if before is not None:
        stmt = stmt.where(BlacklistEntry.id < before)
    rows = [(e, who) for e, who in db.session.execute(
        stmt.order_by(BlacklistEntry.id.desc()).limit(per_page + 1))]
    total = int(db.session.scalar(select(func.count()).select_from(BlacklistEntry)
                                  .where(*where)) or 0)
    more = len(rows) > per_page
    rows = rows[:per_page]
    return DncPage(rows=rows, total=total, search=search,
                   next_before=rows[-1][0].id if more and rows else None)


def iter_csv() -> Iterator[str]:
    """The whole list as CSV lines (header first), read in chunks by id; cells that a
    spreadsheet would run as formulas are neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)

    def line(values: list[object]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([neutralize_cell(v) for v in values])
        return out.getvalue()

    yield line(list(EXPORT_COLUMNS))
    last = 0
    while True:
        chunk = list(db.session.scalars(select(BlacklistEntry).where(BlacklistEntry.id > last)
                                        .order_by(BlacklistEntry.id).limit(_CHUNK)))
        if not chunk:
            return
        for e in chunk:
            yield line([e.kind.value, e.value, e.reason.value, e.note,
                        e.created_at.strftime("%Y-%m-%d %H:%M:%S")])
        last = chunk[-1].id
