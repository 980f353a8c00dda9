"""What a person does to a run: retry it or cancel it. Each records its activity; a
retried run is handed to the queue once the caller commits."""

from __future__ import annotations

from app import activity
from app.activity import Actor
from app.extensions import db
from app.jobs import runs
from app.models import Run, RunStatus


def retry(run: Run, *, actor: Actor) -> Run:
    """Put a failed, dead or canceled run back to pending (flushed) and queue it after the
    commit. Raises :class:`app.models.InvalidTransition` when it cannot be retried."""
    runs.retry(run)
    activity.record(actor, "run.retried", f"retried run #{run.id} ({run.kind})",
                    subject=("run", run.id))
    db.session.flush()
    runs.submit_after_commit([run.id])
    return run


def cancel(run: Run, *, actor: Actor) -> bool:
    """Cancel a pending or running run (flushed); True when it was running (its worker
    stops at its next lease check). Raises :class:`app.models.InvalidTransition`."""
    was_running = run.status == RunStatus.RUNNING
    runs.cancel(run)
    activity.record(actor, "run.canceled", f"canceled run #{run.id} ({run.kind})",
                    subject=("run", run.id))
    db.session.flush()
    return was_running
