"""Do-not-contact pages: the list (search, paging), add an entry, remove one, import a
suppression list from CSV, export the list."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import member
from app.activity import Actor
from app.blueprints.dnc.forms import AddForm, ImportForm, RemoveForm
from app.dnc import operations, queries
from app.edge import bounded_int
from app.extensions import db
from app.htmx import render

bp = Blueprint("dnc", __name__)


def _actor() -> Actor:
    return Actor.of_user(current_user)


def _page(add_form: AddForm | None = None, import_form: ImportForm | None = None,
          report: operations.ImportReport | None = None, status: int = 200) -> Response:
    found = queries.page(request.args.get("q", "")[:254], before=bounded_int("before", low=1))
    return render("dnc/index.html", "entries", status, page=found,
                  add_form=add_form or AddForm(), import_form=import_form or ImportForm(),
                  remove_form=RemoveForm(), report=report, protected=queries.PROTECTED)


@bp.get("/")
@member
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/add")
@member
def add() -> ResponseReturnValue:
    form = AddForm()
    if form.validate_on_submit():
        try:
            entry = operations.add_entry(form.value.data, note=form.note.data or "",
                                         actor=_actor())
        except operations.DncError as exc:
            db.session.rollback()
            form.value.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{entry.value} is on the do-not-contact list.", "success")
            return redirect(url_for("dnc.index"), 303)
    return _page(add_form=form, status=422)


@bp.post("/<int:entry_id>/remove")
@member
def remove(entry_id: int) -> ResponseReturnValue:
    entry = queries.get_entry_or_404(entry_id)
    form = RemoveForm()
    if not form.validate_on_submit():
        abort(400)
    value = entry.value
    try:
        operations.remove_entry(entry, note=form.note.data or "", actor=_actor())
    except operations.NotAllowed as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("dnc.index"), 303)
    db.session.commit()
    flash(f"{value} removed from the do-not-contact list.", "success")
    ref = request.referrer or ""  # back to the page of the list it was removed from
    return redirect(ref if ref.startswith(request.host_url + "do-not-contact/")
                    else url_for("dnc.index"), 303)


@bp.post("/import")
@member
def import_csv() -> ResponseReturnValue:
    form = ImportForm()
    if form.validate_on_submit():
        limit = int(current_app.config.get("LEADS_IMPORT_MAX_BYTES")
                    or current_app.config["MAX_CONTENT_LENGTH"])
        try:
            report = operations.import_csv(form.file.data.read(limit + 1), max_bytes=limit,
                                           note=form.note.data or "", actor=_actor())
        except operations.DncError as exc:
            db.session.rollback()
            form.file.errors.append(str(exc))
        else:
            db.session.commit()
            return _page(report=report)
    return _page(import_form=form, status=422)


@bp.get("/export.csv")
@member
def export() -> ResponseReturnValue:
    resp = Response(stream_with_context(queries.iter_csv()), mimetype="text/csv")
    resp.headers["Content-Disposition"] = 'attachment; filename="do-not-contact.csv"'
    return resp
