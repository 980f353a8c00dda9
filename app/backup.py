"""Consistent SQLite backups (``VACUUM INTO``) with an integrity check."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class BackupError(RuntimeError):
    """The backup could not be written or failed its integrity check."""


def backup_sqlite(database_uri: str, target: Path) -> int:
    """Copy the live SQLite database to ``target``; return its size in bytes."""
    if not database_uri.startswith("sqlite:///"):
        raise BackupError("backup only handles SQLite; use pg_dump for PostgreSQL.")
    source = database_uri[len("sqlite:///") :]
    if not Path(source).is_file():
        raise BackupError(f"no database at {source}: run `pitchfast db upgrade` first.")
    target = target.resolve()
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name.")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist.")
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        src.execute("VACUUM INTO ?", (str(tmp),))
    finally:
        src.close()
    check = sqlite3.connect(tmp)
    try:
        result = check.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        check.close()
    if result != "ok":
        tmp.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {result}")
    tmp.rename(target)
    return target.stat().st_size
