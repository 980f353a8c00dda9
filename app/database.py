"""Engine-level settings: SQLite in WAL with a busy timeout, foreign keys and
write transactions that begin IMMEDIATE (RELIABILITY.md §5)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE itself.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        # IMMEDIATE takes the write lock up front, so a transaction never fails
        # half-way with "database is locked" when it upgrades from read to write.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

