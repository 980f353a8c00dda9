"""Keeping the full-text index in step with bulk inserts.

On SQLite the index is an FTS5 table fed by triggers; firing one trigger per row
costs ~25x more than one ``INSERT … SELECT``, so a bulk insert pauses the insert
trigger (a row in ``leads_search_pause``, visible only inside this write
transaction) and indexes the new rows in one statement. PostgreSQL computes its
``tsvector`` column itself; there the rows go in with ``COPY`` (several times faster
than multi-row INSERTs), still inside the caller's transaction.
"""

from __future__ import annotations

import enum
import json
from typing import Any, cast

import sqlalchemy as sa

from app.extensions import db
from app.models import Lead

CHUNK = 2000


def bulk_insert(rows: list[dict[str, Any]]) -> None:
    """Insert lead rows (dicts of column values) in batches, index them, inside the caller's
    transaction."""
    if not rows:
        return
    table = cast(sa.Table, Lead.__table__)
    if db.engine.dialect.name == "postgresql":
        _copy(table, rows)
        return
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


def _copy(table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``COPY`` the rows into ``table`` on the session's own connection (same transaction).

    Column defaults that SQLAlchemy would apply on INSERT are applied here; enums are
    written as their values and JSON columns as JSON text.
    """
    columns = [c for c in table.columns if not c.primary_key]
    defaults: dict[str, Any] = {}
    for c in columns:
        if not isinstance(c.default, sa.ColumnDefault):
            continue
        if c.default.is_scalar:
            defaults[c.key] = c.default.arg
        elif c.default.is_callable:
            defaults[c.key] = c.default.arg(None)  # SQLAlchemy wraps callables to take a ctx
    json_cols = {c.key for c in columns if isinstance(c.type, sa.JSON)}

    def cell(key: str, row: dict[str, Any]) -> Any:
        value = row[key] if key in row else defaults.get(key)
        if key in json_cols and value is not None:
            return json.dumps(value, ensure_ascii=False)
        return value.value if isinstance(value, enum.Enum) else value

    names = ", ".join(f'"{c.name}"' for c in columns)
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    raw = db.session.connection().connection.driver_connection
    assert raw is not None  # a live psycopg connection: the session just checked it out
    dbapi_error = db.engine.dialect.loaded_dbapi.Error
    try:
        with raw.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row([cell(c.key, row) for c in columns])
    except dbapi_error as exc:  # the same exception classes an INSERT would raise
        raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi_error) from exc
