"""API keys (admins: create, list, revoke; the key is shown once) and the API reference
(every signed-in member), rendered from the same OpenAPI document the API serves."""

from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import admin, member
from app.activity import Actor
from app.apikeys import operations, queries
from app.blueprints.apikeys.forms import ApiKeyForm
from app.blueprints.apikeys.reference import reference
from app.extensions import db
from app.forms import EmptyForm
from app.htmx import render
from app.models.base import utcnow

bp = Blueprint("apikeys", __name__)


def _actor() -> Actor:
    return Actor.of_user(current_user)


def _index(form: ApiKeyForm, status: int = 200) -> ResponseReturnValue:
    total, per = queries.count_keys(), queries.PER_PAGE
    pages = max(1, -(-total // per))
    page = min(request.args.get("page", 1, type=int) or 1, pages)
    page = max(page, 1)
    keys = queries.list_keys(limit=per, offset=(page - 1) * per)
    return render("apikeys/index.html", status=status, form=form, keys=keys,
                  action_form=EmptyForm(), now=utcnow(), page=page, pages=pages, total=total,
                  first=(page - 1) * per + 1)


@bp.get("/")
@admin
def index() -> ResponseReturnValue:
    return _index(ApiKeyForm())


@bp.post("/")
@admin
def create() -> ResponseReturnValue:
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _index(form, 422)
    expires = datetime.combine(form.expires.data, time()) if form.expires.data else None
    try:
        row, key = operations.create_key(form.name.data or "", form.scope.data or "read",
                                         expires_at=expires, actor=_actor())
    except operations.ApiKeyError as exc:
        db.session.rollback()
        getattr(form, "expires" if exc.field == "expires_at" else exc.field).errors.append(
            str(exc))
        return _index(form, 422)
    db.session.commit()
    # Shown in this answer only (never stored, never redirected through the session).
    return render("apikeys/created.html", row=row, key=key)


@bp.post("/<int:key_id>/revoke")
@admin
def revoke(key_id: int) -> ResponseReturnValue:
    form = EmptyForm()
    row = queries.get_key_or_404(key_id)
    if form.validate_on_submit() and operations.revoke_key(row, actor=_actor()):
        db.session.commit()
        flash(f"Revoked API key '{row.name}': it stops working now.", "success")
    return redirect(url_for("apikeys.index"))


@bp.get("/reference")
@member
def reference_page() -> ResponseReturnValue:
    return render("apikeys/reference.html", ref=reference())
