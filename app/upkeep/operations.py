"""What the upkeep run removes, one bounded batch at a time (each call flushes, never
commits: the job commits every batch in its own short, lease-fenced transaction, and the
files go only once that commit is done):

* uploads of CSV imports never finished (the file and its name, not the import reports);
* full-size screenshots (viewport and full-page captures) past their retention; the
  audit keeps its thumbnails and annotated crops, and its page shows the thumbnail;
* run log lines past their retention (of runs that are not pending or running).

It never removes a file of a published, unrevoked audit (its public page and PDF use
them): such audits are left out of the screenshot sweep, and every file of one is
refused again just before removal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, not_, or_, select

from app import activity, storage
from app.activity import Actor
from app.extensions import db
from app.jobs import runs
from app.models import Audit, Run, RunLog, StoredFile

#: Key prefix of import uploads, and the suffixes of an unfinished one (its reports stay).
UPLOADS = "imports/"
UPLOAD_SUFFIXES = (".csv", ".name")
#: Screenshot kinds removed past their retention (thumbnails and crops stay).
FULL_SIZE = ("viewport", "full")
#: Name patterns of full-size screenshot files (``desktop-full.jpg``), to find candidates.
FULL_SIZE_NAMES = tuple(f"%-{kind}.%" for kind in FULL_SIZE)


@dataclass
class Removed:
    """What one batch removed."""

    files: int = 0
    bytes: int = 0
    audits: set[int] = field(default_factory=set)  #: audits that lost screenshots
    kept: int = 0  #: files skipped because a published audit uses them
    scanned: int = 0  #: candidates looked at; fewer than the limit: nothing is left
    last_id: int = 0  #: the last candidate's id: the next batch starts after it


@dataclass
class Figures:
    """What a whole upkeep run removed, by kind; ``as_dict`` is the run's result."""

    uploads: Removed = field(default_factory=Removed)
    screenshots: Removed = field(default_factory=Removed)
    log_lines: int = 0

    def add(self, name: str, batch: Removed) -> None:
        add(getattr(self, name), batch)

    @property
    def bytes_freed(self) -> int:
        return self.uploads.bytes + self.screenshots.bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "uploads": {"files": self.uploads.files, "bytes": self.uploads.bytes},
            "screenshots": {"files": self.screenshots.files, "bytes": self.screenshots.bytes,
                            "audits": len(self.screenshots.audits),
                            "kept_published": self.screenshots.kept},
            "log_lines": self.log_lines,
            "bytes_freed": self.bytes_freed,
        }

    def summary(self) -> str:
        """One line for the activity feed and the run's log."""
        return (f"removed {self.uploads.files} unfinished import file(s), "
                f"{self.screenshots.files} full-size screenshot(s) of "
                f"{len(self.screenshots.audits)} audit(s) and {self.log_lines} run log line(s); "
                f"{_size(self.bytes_freed)} freed")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"


def published() -> Any:
    """SQL condition: the audit is published and not revoked (its page is public)."""
    return and_(Audit.published_at.is_not(None), Audit.revoked_at.is_(None))


def _published_audit_ids(ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(db.session.scalars(select(Audit.id).where(Audit.id.in_(sorted(ids)), published())))


def _remove(rows: list[StoredFile]) -> Removed:
    """Remove these files once the transaction commits, except any a published audit uses
    (checked here again, whatever selected them)."""
    owners = {r.owner_id for r in rows if r.owner_type == "audit" and r.owner_id is not None}
    keep = _published_audit_ids(owners)
    done = Removed()
    for row in rows:
        if row.owner_type == "audit" and row.owner_id in keep:
            done.kept += 1
            continue
        done.files += 1
        done.bytes += row.size
        storage.delete_on_commit(row.key)
    return done


def remove_stale_uploads(*, before: datetime, after_id: int = 0, limit: int = 500) -> Removed:
    """Files of CSV imports uploaded before ``before`` and never finished (a finished
    import removes its upload itself and keeps only its report): up to ``limit``
    candidates with an id above ``after_id``."""
    rows = list(db.session.scalars(
        select(StoredFile)
        .where(StoredFile.key.startswith(UPLOADS, autoescape=True),
               or_(*(StoredFile.key.endswith(s, autoescape=True) for s in UPLOAD_SUFFIXES)),
               StoredFile.created_at < before, StoredFile.id > after_id)
        .order_by(StoredFile.id).limit(limit)
    ))
    done = _remove(rows)
    done.scanned, done.last_id = len(rows), rows[-1].id if rows else after_id
    return done


def remove_full_screenshots(*, before: datetime, after_id: int = 0,
                            limit: int = 500) -> Removed:
    """Full-size screenshots stored before ``before`` by audits that are not published (or
    were revoked): up to ``limit`` candidates with an id above ``after_id``. Each audit's
    screenshot index loses them, so its page shows the thumbnail, not a missing image."""
    candidates = list(db.session.scalars(
        select(StoredFile)
        .join(Audit, and_(StoredFile.owner_type == "audit", StoredFile.owner_id == Audit.id))
        .where(StoredFile.created_at < before, not_(published()), StoredFile.id > after_id,
               or_(*(StoredFile.key.like(p) for p in FULL_SIZE_NAMES)))
        .order_by(StoredFile.id).limit(limit)
    ))
    by_audit: dict[int, list[StoredFile]] = {}
    for row in candidates:
        by_audit.setdefault(int(row.owner_id or 0), []).append(row)
    done = Removed()
    for audit in db.session.scalars(select(Audit).where(Audit.id.in_(sorted(by_audit)))):
        index = dict(audit.screenshots or {})
        full = {m.get("key") for m in index.values()
                if isinstance(m, dict) and m.get("kind") in FULL_SIZE}
        listed = {str(m.get("key")) for m in index.values() if isinstance(m, dict)}
        # Full-size by the index, or a leftover the index no longer lists (an older try).
        rows = [r for r in by_audit[audit.id] if r.key in full or r.key not in listed]
        batch = _remove(rows)
        if batch.files:
            gone = {r.key for r in rows}
            audit.screenshots = {k: m for k, m in index.items()
                                 if not (isinstance(m, dict) and m.get("key") in gone)}
            batch.audits.add(audit.id)
        add(done, batch)
    db.session.flush()
    done.scanned = len(candidates)
    done.last_id = candidates[-1].id if candidates else after_id
    return done


def add(total: Removed, batch: Removed) -> None:
    """Add ``batch`` to ``total``."""
    total.files += batch.files
    total.bytes += batch.bytes
    total.audits |= batch.audits
    total.kept += batch.kept


def prune_run_logs(*, before: datetime, limit: int = 5000) -> int:
    """Delete up to ``limit`` run log lines written before ``before``, of runs that are not
    pending or running; how many."""
    ids = list(db.session.scalars(
        select(RunLog.id).join(Run, Run.id == RunLog.run_id)
        .where(RunLog.at < before, Run.status.not_in(runs.ACTIVE))
        .order_by(RunLog.id).limit(limit)
    ))
    if ids:
        db.session.execute(delete(RunLog).where(RunLog.id.in_(ids)))
    return len(ids)


def record(figures: Figures, *, actor: Actor) -> None:
    """The upkeep's line in the activity feed (only when it removed something)."""
    if figures.uploads.files or figures.screenshots.files or figures.log_lines:
        activity.record(actor, "upkeep.done", f"cleaned up: {figures.summary()}")
        db.session.flush()

