"""Read side of the Runs pages: filtered keyset pages, counts, subjects by name, log lines,
one run or 404, and the latest upkeep's figures.

People see the runs of the kinds they start and care about (:data:`PEOPLE_KINDS`); internal
jobs (health checks, upkeep) are listed only when an admin asks for them. "Failed" means
failed for good: a run that failed at once and one that gave up after its retries (dead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.jobs import registry, runs
from app.models import Campaign, Lead, Run, RunLog, RunStatus, User, WebhookDelivery
from app.models.base import utcnow

PER_PAGE = 50
ACTIVE = runs.ACTIVE
#: Run kinds people start and follow, with the word the pages use for each (later: sends).
PEOPLE_KINDS: dict[str, str] = {"audit": "Audit"}
#: Words for internal kinds shown to admins (webhook deliveries: admins manage webhooks).
INTERNAL_LABELS: dict[str, str] = {"webhook": "Webhook delivery"}
#: The status filter "failed" and its chip: failed at once, or gave up after retries.
FAILED = (RunStatus.FAILED, RunStatus.DEAD)
#: The chips of the Runs page, in the order a run moves through them.
CHIPS = ("pending", "running", "succeeded", "failed", "canceled")
#: Subject types with a name, and the column holding it.
_NAMES: dict[str, Any] = {"lead": Lead.business_name, "campaign": Campaign.name,
                          "webhook_delivery": WebhookDelivery.label}
UPKEEP_KIND = "upkeep"


@dataclass
class RunPage:
    """One keyset page of runs, newest first."""

    rows: list[Run]
    newer: int | None = None  #: pass as ``after`` for the previous (newer) page
    older: int | None = None  #: pass as ``before`` for the next (older) page
    counts: dict[str, int] = field(default_factory=dict)  #: by chip, see :data:`CHIPS`
    names: dict[tuple[str, int], str] = field(default_factory=dict)  #: subjects' names

    @property
    def active(self) -> bool:
        """True while a run on this page is pending or running (keep polling)."""
        return any(r.status in ACTIVE for r in self.rows)

    def subject_name(self, run: Run) -> str | None:
        """The name of the run's subject (a lead's business name), None when it has none."""
        if run.subject_type is None or run.subject_id is None:
            return None
        return self.names.get((run.subject_type, run.subject_id))


def get_run_or_404(run_id: int) -> Run:
    """The run, or 404. Every member may see every run."""
    return db.get_or_404(Run, run_id)


def kind_label(kind: str) -> str:
    """The word a page uses for a run kind: 'Audit'; internal kinds keep their name (but
    for those in :data:`INTERNAL_LABELS`)."""
    return PEOPLE_KINDS.get(kind) or INTERNAL_LABELS.get(kind, kind)


def is_internal(kind: str) -> bool:
    """True for a kind people do not start themselves (health checks, upkeep …)."""
    return kind not in PEOPLE_KINDS


def kinds(include_internal: bool = False) -> list[tuple[str, str]]:
    """``(kind, label)`` for the Kind filter: the kinds people care about, plus (for an
    admin who asks) every registered or stored internal kind."""
    out = list(PEOPLE_KINDS.items())
    if include_internal:
        seen = set(db.session.scalars(select(Run.kind).distinct()).all())
        out += [(k, kind_label(k))
                for k in sorted((seen | set(registry.HANDLERS)) - set(PEOPLE_KINDS))]
    return out


def _filtered(stmt: Any, *, kind: str | None, include_internal: bool,
              since_hours: int | None, now: datetime | None = None) -> Any:
    """``stmt`` narrowed to the kinds shown and, with ``since_hours``, to runs that ended
    (or, still active, were created) within that many hours."""
    if kind:
        stmt = stmt.where(Run.kind == kind)
    elif not include_internal:
        stmt = stmt.where(Run.kind.in_(list(PEOPLE_KINDS)))
    if since_hours:
        since = (now or utcnow()) - timedelta(hours=since_hours)
        stmt = stmt.where(func.coalesce(Run.finished_at, Run.created_at) >= since)
    return stmt


def status_counts(*, kind: str | None = None, include_internal: bool = False,
                  since_hours: int | None = None) -> dict[str, int]:
    """How many runs per chip (dead ones count as failed), with the page's filters."""
    stmt = _filtered(select(Run.status, func.count()).group_by(Run.status), kind=kind,
                     include_internal=include_internal, since_hours=since_hours)
    counts: dict[str, int] = {}
    for status, n in db.session.execute(stmt).all():
        chip = "failed" if RunStatus(status) in FAILED else RunStatus(status).value
        counts[chip] = counts.get(chip, 0) + n
    return counts


def failed_recently(hours: int = 24) -> int:
    """Runs people care about that failed for good within ``hours`` (the dashboard's
    "N runs failed" figure; its link opens the same list: ``status=failed&since=hours``)."""
    stmt = _filtered(select(func.count(Run.id)).where(Run.status.in_(FAILED)), kind=None,
                     include_internal=False, since_hours=hours)
    return int(db.session.scalar(stmt) or 0)


def subject_names(rows: list[Run]) -> dict[tuple[str, int], str]:
    """``{(subject type, id): name}`` for the subjects of ``rows`` that have a name (one
    query per subject type on the page)."""
    wanted: dict[str, set[int]] = {}
    for r in rows:
        if r.subject_type in _NAMES and r.subject_id is not None:
            wanted.setdefault(r.subject_type, set()).add(r.subject_id)
    names: dict[tuple[str, int], str] = {}
    for subject_type, ids in wanted.items():
        column = _NAMES[subject_type]
        table = column.class_
        for subject_id, name in db.session.execute(
            select(table.id, column).where(table.id.in_(sorted(ids)))
        ).all():
            names[(subject_type, subject_id)] = name
    return names


def page(
    *,
    status: str | None = None,
    kind: str | None = None,
    before: int | None = None,
    after: int | None = None,
    since: int | None = None,
    include_internal: bool = False,
    per_page: int | None = None,
) -> RunPage:
    """Runs matching the filters, ``per_page`` (default :data:`PER_PAGE`) at a time, keyed
    on id (no OFFSET). ``status="failed"`` also matches dead runs; ``since`` is in hours."""
    per_page = per_page or PER_PAGE
    stmt = _filtered(select(Run), kind=kind, include_internal=include_internal,
                     since_hours=since)
    if status == "failed":
        stmt = stmt.where(Run.status.in_(FAILED))
    elif status:
        stmt = stmt.where(Run.status == RunStatus(status))
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
        counts=status_counts(kind=kind, include_internal=include_internal, since_hours=since),
        names=subject_names(rows),
    )


def subject_name(run: Run) -> str | None:
    """The name of one run's subject, or None."""
    return subject_names([run]).get((run.subject_type or "", run.subject_id or 0))


def logs(run_id: int, limit: int = 2000) -> list[RunLog]:
    """A run's log lines in the order they were written."""
    stmt = select(RunLog).where(RunLog.run_id == run_id).order_by(RunLog.id).limit(limit)
    return list(db.session.scalars(stmt))


def creator_email(run: Run) -> str | None:
    """E-mail of the person who started the run, if any."""
    if run.created_by_id is None:
        return None
    return db.session.scalar(select(User.email).where(User.id == run.created_by_id))


def last_upkeep() -> Run | None:
    """The latest upkeep run that finished (its ``result`` holds what it removed)."""
    return db.session.scalar(
        select(Run).where(Run.kind == UPKEEP_KIND, Run.status == RunStatus.SUCCEEDED)
        .order_by(Run.id.desc()).limit(1)
    )
