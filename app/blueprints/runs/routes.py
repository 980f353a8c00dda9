"""Runs: the list of background jobs, a run's detail with its log, retry and cancel."""

from __future__ import annotations

import json
from datetime import datetime

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from app import activity
from app.access import member
from app.blueprints.runs.forms import RunActionForm, RunFilterForm
from app.extensions import db
from app.htmx import is_htmx, render, stop_polling
from app.jobs import listing, runs
from app.jobs.redact import redact
from app.models import InvalidTransition, Run, RunStatus
from app.models.base import utcnow

bp = Blueprint("runs", __name__)


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


bp.app_template_filter("run_elapsed")(listing.elapsed_ms)


def _get_run(run_id: int) -> Run:
    """Every member may see every run; unknown ids are 404."""
    return db.get_or_404(Run, run_id)


@bp.get("/")
@member
def index():
    form = RunFilterForm(formdata=request.args)
    form.kind.choices = [SelectChoice("", "All kinds")] + [SelectChoice(k) for k in listing.kinds()]
    ok = form.validate()
    args = {f: getattr(form, f).data for f in ("status", "kind", "before", "after")
            if not getattr(form, f).errors and getattr(form, f).data not in (None, "")}
    pg = listing.page(per_page=listing.PER_PAGE, **args)
    filters = {k: v for k, v in args.items() if k in ("status", "kind")}
    resp = render("runs/index.html", "table", status=200 if ok else 422, form=form, page=pg,
                  filters=filters, poll_url=url_for("runs.index", **args), now=utcnow(),
                  subject_url=listing.subject_url)
    return stop_polling(resp) if is_htmx() and ok and not pg.active else resp


@bp.get("/<int:run_id>")
@member
def show(run_id: int):
    run = _get_run(run_id)
    resp = render("runs/show.html", "live", run=run, logs=listing.logs(run.id),
                  creator=listing.creator_email(run), action_form=RunActionForm(),
                  subject_url=listing.subject_url, now=utcnow(),
                  active=run.status in listing.ACTIVE, retryable=run.status in runs.RETRYABLE,
                  cancelable=run.status in runs.CANCELABLE)
    return stop_polling(resp) if is_htmx() and run.status not in listing.ACTIVE else resp


@bp.post("/<int:run_id>/retry")
@member
def retry(run_id: int):
    run = _get_run(run_id)
    if RunActionForm().validate_on_submit():
        try:
            runs.retry(run)
        except InvalidTransition as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("runs.show", run_id=run_id), 303)
        activity.record("run.retried", f"retried run #{run.id} ({run.kind})",
                        user_id=current_user.id, subject_type="run", subject_id=run.id)
        db.session.commit()
        runs.submit([run.id])  # enqueue only after the commit
        flash(f"Run #{run.id} will run again.", "success")
    return redirect(url_for("runs.show", run_id=run_id), 303)


@bp.post("/<int:run_id>/cancel")
@member
def cancel(run_id: int):
    run = _get_run(run_id)
    if RunActionForm().validate_on_submit():
        try:
            was_running = run.status == RunStatus.RUNNING
            runs.cancel(run)
        except InvalidTransition as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("runs.show", run_id=run_id), 303)
        activity.record("run.canceled", f"canceled run #{run.id} ({run.kind})",
                        user_id=current_user.id, subject_type="run", subject_id=run.id)
        db.session.commit()
        flash(f"Run #{run.id} canceled" + (" (its worker stops at its next check)."
                                           if was_running else "."), "success")
    return redirect(url_for("runs.show", run_id=run_id), 303)
