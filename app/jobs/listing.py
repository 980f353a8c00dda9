"""Read side of the Runs pages: filtered keyset pages, counts, log lines, subject links."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, url_for
from sqlalchemy import func, select
from werkzeug.routing import BuildError

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


def kinds() -> list[str]:
    """Every known run kind: registered handlers plus kinds present in the table."""
    registry.load_handlers()
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
    per_page: int = PER_PAGE,
) -> RunPage:
    """Runs matching the filters, ``per_page`` at a time, keyed on id (no OFFSET)."""
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


def subject_url(subject_type: str | None, subject_id: int | None) -> str | None:
    """Link to the run's subject when a page for it exists (leads only, for now)."""
    endpoint = "leads.show"
    if subject_type != "lead" or subject_id is None:
        return None
    if endpoint not in current_app.view_functions:
        return None
    for rule in current_app.url_map.iter_rules(endpoint):
        if len(rule.arguments) == 1:
            try:
                return url_for(endpoint, **{next(iter(rule.arguments)): subject_id})
            except BuildError:
                return None
    return None


def elapsed_ms(run: Run, now: Any) -> int | None:
    """Duration of a finished run, or time so far of a running one."""
    if run.duration_ms is not None and run.status not in ACTIVE:
        return run.duration_ms
    if run.status == RunStatus.RUNNING and run.started_at:
        return int((now - run.started_at).total_seconds() * 1000)
    return None
