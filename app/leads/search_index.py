"""Keeping the full-text index in step with bulk inserts.

On SQLite the index is an FTS5 table fed by triggers; firing one trigger per row
costs ~25x more than one ``INSERT … SELECT``, so a bulk insert pauses the insert
trigger (a row in ``leads_search_pause``, visible only inside this write
transaction) and indexes the new rows in one statement. PostgreSQL computes its
``tsvector`` column itself.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Lead

CHUNK = 2000


def bulk_insert(rows: list[dict[str, Any]]) -> None:
    """Insert lead rows (dicts of column values) in batches, index them, inside the caller's
    transaction."""
    if not rows:
        return
    table = Lead.__table__
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        last_id = db.session.scalar(sa.select(sa.func.max(Lead.id))) or 0
        db.session.execute(sa.text("INSERT INTO leads_search_pause (id) VALUES (1)"))
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(table), rows[start : start + CHUNK])
    if sqlite:
        db.session.execute(sa.text("DELETE FROM leads_search_pause"))
        db.session.execute(
            sa.text(
                "INSERT INTO leads_search (rowid, business_name, domain, email, city) "
                "SELECT id, business_name, domain, email, city FROM leads WHERE id > :last_id"
            ),
            {"last_id": last_id},
        )
