"""Engine-level settings: SQLite in WAL with a busy timeout and foreign keys, and the
rule that only writing work takes SQLite's write lock (docs/reliability.md, SQLite).

* A transaction that may write begins ``IMMEDIATE``: it takes the write lock up front,
  so it never fails half-way with "database is locked" when it upgrades from read to
  write. That is every transaction of a job, a CLI command or a POST request.
* Read-only work begins a plain (deferred) transaction, which in WAL mode never blocks
  and is never blocked by a writer: GET and HEAD requests, and every page render.
* No transaction stays open while a page renders: before a template renders, an open
  transaction that wrote nothing is ended, and what the template still loads is read in
  a deferred transaction. (A transaction that did write is left to its route, and logged:
  routes commit before they render.)
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Flask, g, has_request_context, request
from flask.signals import before_render_template, request_started
from jinja2_fragments.flask import before_render_template_block, before_render_template_blocks
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from app.extensions import db

log = logging.getLogger(__name__)
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "UPSERT", "CREATE", "DROP", "ALTER")
_WROTE = "pitchfast_wrote"


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event issue BEGIN itself.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def reads_only() -> bool:
    """True when the current work only reads: a GET/HEAD request, or a page being rendered."""
    if not has_request_context():
        return False
    if g.get("db_reads_only"):
        return True
    return request.method in _READ_METHODS and not g.get("db_writes")


def read_only() -> None:
    """Declare that the rest of this request only reads (transactions begin deferred)."""
    g.db_reads_only = True


@event.listens_for(Engine, "begin")
def _begin(conn: Connection) -> None:
    conn.info[_WROTE] = False
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN" if reads_only() else "BEGIN IMMEDIATE")


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if not conn.info.get(_WROTE) and statement.lstrip()[:7].upper().startswith(_WRITE_VERBS):
        conn.info[_WROTE] = True


def release_for_render(*_args: Any, **_extra: Any) -> None:
    """End an open transaction that wrote nothing before a page renders; from then on the
    request only reads, so lazy loads in the template never take the write lock."""
    if not has_request_context():
        return
    g.db_reads_only = True
    session = db.session()
    if not session.in_transaction():
        return
    wrote = bool(session.connection().info.get(_WROTE))
    if wrote or session.new or session.dirty or session.deleted:
        log.warning("%s renders a page inside a transaction that wrote; commit first",
                    request.endpoint)
        return
    if any(session.info.values()):
        # Work waits for a commit (files to delete, runs to submit): never trigger it here.
        session.rollback()
        return
    # End it without expiring what was loaded (a rollback would): the template reads the
    # objects its view loaded as they are, and only what it loads itself is queried.
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def _forget_flags(*_args: Any, **_extra: Any) -> None:
    # ``g`` belongs to the app context, which tests (and some servers) keep across requests.
    g.pop("db_reads_only", None)
    g.pop("db_writes", None)


def init_app(app: Flask) -> None:
    """Reset the flags per request; release read transactions before any template renders."""
    request_started.connect(_forget_flags, app, weak=False)
    before_render_template.connect(release_for_render, app, weak=False)
    before_render_template_block.connect(release_for_render, app, weak=False)
    before_render_template_blocks.connect(release_for_render, app, weak=False)
