"""Runs: the list of background jobs, a run's detail with its log, retry and cancel."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms import SelectChoice

from app.access import member
from app.activity import Actor
from app.blueprints.runs.forms import RunFilterForm
from app.extensions import db
from app.forms import EmptyForm
from app.htmx import is_htmx, render, stop_polling
from app.jobs import runs
from app.models import InvalidTransition
from app.models.base import utcnow
from app.runs import operations, queries

bp = Blueprint("runs", __name__)


@bp.get("/")
@member
def index() -> ResponseReturnValue:
    form = RunFilterForm(formdata=request.args)
    internal = bool(form.internal.data) and current_user.is_admin  # admins who ask only
    form.kind.choices = [SelectChoice("", "Any kind")] + [
        SelectChoice(k, label) for k, label in queries.kinds(include_internal=internal)]
    ok = form.validate()
    filters = form.query("status", "kind", "since") | ({"internal": 1} if internal else {})
    pg = queries.page(**form.query("status", "kind", "since", "before", "after"),
                      include_internal=internal)
    resp = render("runs/index.html", "table", status=200 if ok else 422, form=form, page=pg,
                  filters=filters, upkeep=queries.last_upkeep(), now=utcnow(),
                  poll_url=url_for("runs.index", **filters, **form.query("before", "after")))
    return stop_polling(resp) if is_htmx() and ok and not pg.active else resp


@bp.get("/<int:run_id>")
@member
def show(run_id: int) -> ResponseReturnValue:
    run = queries.get_run_or_404(run_id)
    active = run.status in runs.ACTIVE
    technical = current_user.is_admin
    resp = render("runs/show.html", "live", run=run, subject=queries.subject_name(run),
                  logs=queries.logs(run.id) if technical else [], technical=technical,
                  creator=queries.creator_email(run), action_form=EmptyForm(), now=utcnow(),
                  active=active, retryable=run.status in runs.RETRYABLE,
                  cancelable=run.status in runs.CANCELABLE)
    return stop_polling(resp) if is_htmx() and not active else resp


@bp.post("/<int:run_id>/retry")
@member
def retry(run_id: int) -> ResponseReturnValue:
    run = queries.get_run_or_404(run_id)
    if EmptyForm().validate_on_submit():
        try:
            operations.retry(run, actor=Actor.of_user(current_user))
        except InvalidTransition as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("runs.show", run_id=run_id), 303)
        db.session.commit()  # the run reaches the queue once this commits
        flash(f"Run #{run.id} will run again now.", "success")
    return redirect(url_for("runs.show", run_id=run_id), 303)


@bp.post("/<int:run_id>/cancel")
@member
def cancel(run_id: int) -> ResponseReturnValue:
    run = queries.get_run_or_404(run_id)
    if EmptyForm().validate_on_submit():
        try:
            was_running = operations.cancel(run, actor=Actor.of_user(current_user))
        except InvalidTransition as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("runs.show", run_id=run_id), 303)
        db.session.commit()
        flash(f"Run #{run.id} canceled" + (" (its worker stops at its next check)."
                                           if was_running else "."), "success")
    return redirect(url_for("runs.show", run_id=run_id), 303)
