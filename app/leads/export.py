"""CSV export of a campaign or a filtered view, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select

from app.extensions import db
from app.leads.normalize import neutralize_cell
from app.leads.search import LeadFilter, conditions
from app.models import Lead

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
