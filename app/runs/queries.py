"""Read side of the Runs pages: filtered keyset pages, counts, log lines, one run or 404."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.extensions import db
from app.jobs import registry, runs
from app.models import Run, RunLog, RunStatus, User

PER_PAGE = 50
ACTIVE = runs.ACTIVE


@dataclass
class RunPage:
    """One keyset page of runs, newest first."""

    rows: list[Run]
    newer: int | None = None  #: pass as ``after`` for the previous (newer) page
    older: int | None = None  #: pass as ``before`` for the next (older) page
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """True while a run on this page is pending or running (keep polling)."""
        return any(r.status in ACTIVE for r in self.rows)


def get_run_or_404(run_id: int) -> Run:
    """The run, or 404. Every member may see every run."""
    return db.get_or_404(Run, run_id)


def kinds() -> list[str]:
    """Every known run kind: registered handlers plus kinds present in the table."""
    seen = set(db.session.scalars(select(Run.kind).distinct()).all())
    return sorted(seen | set(registry.HANDLERS))


def status_counts(kind: str | None = None) -> dict[str, int]:
    """How many runs per status (optionally of one kind)."""
    stmt = select(Run.status, func.count()).group_by(Run.status)
    if kind:
        stmt = stmt.where(Run.kind == kind)
    return {RunStatus(s).value: n for s, n in db.session.execute(stmt).all()}


def page(
    *,
    status: str | None = None,
    kind: str | None = None,
    before: int | None = None,
    after: int | None = None,
    per_page: int | None = None,
) -> RunPage:
    """Runs matching the filters, ``per_page`` (default :data:`PER_PAGE`) at a time, keyed
    on id (no OFFSET)."""
    per_page = per_page or PER_PAGE
    stmt = select(Run)
    if status:
        stmt = stmt.where(Run.status == RunStatus(status))
    if kind:
        stmt = stmt.where(Run.kind == kind)
    if after is not None:
        rows = list(db.session.scalars(
            stmt.where(Run.id > after).order_by(Run.id.asc()).limit(per_page + 1)
        ))
        has_newer = len(rows) > per_page
        rows = list(reversed(rows[:per_page]))
        has_older = True
    else:
        if before is not None:
            stmt = stmt.where(Run.id < before)
        rows = list(db.session.scalars(stmt.order_by(Run.id.desc()).limit(per_page + 1)))
        has_older = len(rows) > per_page
        rows = rows[:per_page]
        has_newer = before is not None
    return RunPage(
        rows=rows,
        newer=rows[0].id if rows and has_newer else None,
        older=rows[-1].id if rows and has_older else None,
        counts=status_counts(kind),
    )


def logs(run_id: int, limit: int = 2000) -> list[RunLog]:
    """A run's log lines in the order they were written."""
    stmt = select(RunLog).where(RunLog.run_id == run_id).order_by(RunLog.id).limit(limit)
    return list(db.session.scalars(stmt))


def creator_email(run: Run) -> str | None:
    """E-mail of the person who started the run, if any."""
    if run.created_by_id is None:
        return None
    return db.session.scalar(select(User.email).where(User.id == run.created_by_id))
