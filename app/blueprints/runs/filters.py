"""Template filters and globals of the Runs pages."""

from __future__ import annotations

import json
from datetime import datetime

from flask import url_for
from flask_login import current_user

from app.blueprints.runs.routes import bp
from app.jobs import runs
from app.jobs.redact import redact
from app.models import Run, RunStatus
from app.runs import outcomes, queries


@bp.app_template_filter("run_duration")
def run_duration(ms: int | None) -> str:
    """'850 ms', '12.3 s', '4 min 05 s'."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms // 60_000} min {ms // 1000 % 60:02d} s"


@bp.app_template_filter("run_time")
def run_time(value: datetime | None) -> str:
    """'2026-11-22 06:21:49 UTC' (runs need seconds)."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


@bp.app_template_filter("redact")
def redact_filter(text: object) -> str:
    """Redact again on display: a secret configured later is hidden too."""
    return redact(text)


@bp.app_template_filter("redacted_json")
def redacted_json(value: object) -> str:
    """Pretty JSON of a payload or result, redacted."""
    return redact(json.dumps(value, indent=2, default=str, ensure_ascii=False))


@bp.app_template_filter("run_elapsed")
def run_elapsed(run: Run, now: datetime) -> int | None:
    """Duration of a finished run, or time so far of a running one (milliseconds)."""
    if run.duration_ms is not None and run.status not in runs.ACTIVE:
        return run.duration_ms
    if run.status == RunStatus.RUNNING and run.started_at:
        return int((now - run.started_at).total_seconds() * 1000)
    return None


@bp.app_template_filter("run_kind")
def run_kind(kind: str) -> str:
    """'Audit' for an audit run; internal kinds keep their name."""
    return queries.kind_label(kind)


@bp.app_template_filter("run_status")
def run_status(run: Run) -> str:
    """The status word people read: a dead run "failed" (after its retries), a pending one
    "waiting" (or "retrying" when a try failed and the next is due later)."""
    if run.status == RunStatus.DEAD:
        return "failed"
    if run.status == RunStatus.PENDING:
        return "retrying" if run.not_before and run.attempt else "waiting"
    return run.status.value


@bp.app_template_filter("run_badge")
def run_badge(run: Run) -> str:
    """The badge colour of a run: dead runs look failed."""
    return "failed" if run.status == RunStatus.DEAD else run.status.value


@bp.app_template_filter("run_explain")
def run_explain(run: Run) -> outcomes.Explanation | None:
    """What went wrong, in plain words, and what to do (None for a run without error)."""
    if run.status not in (RunStatus.FAILED, RunStatus.DEAD, RunStatus.PENDING):
        return None
    return outcomes.explain(run.error_code, run.status.value, run.kind)


@bp.app_template_global("run_subject_url")
def run_subject_url(run: Run) -> str | None:
    """Link to the run's subject when it has a page (leads; other subjects have none)."""
    if run.subject_type == "lead" and run.subject_id is not None:
        return url_for("leads.show", lead_id=run.subject_id)
    if run.subject_type == "webhook_delivery" and run.subject_id is not None \
            and current_user.is_admin:  # webhook pages are for admins
        return url_for("webhooks.delivery", delivery_id=run.subject_id)
    return None
