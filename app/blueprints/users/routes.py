"""User management: list, create, edit role/name, deactivate/reactivate, reset password.

Every route is ``@admin``: members get 403 from the access hook, whatever links they see.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from app import activity
from app.access import admin
from app.auth import (
    AuthError,
    create_user,
    reset_password,
    session_fingerprint,
    set_active,
    update_user,
)
from app.blueprints.auth.forms import EmptyForm
from app.blueprints.users.forms import PasswordResetForm, UserCreateForm, UserEditForm
from app.extensions import db
from app.htmx import render
from app.models import User
from app.models.base import utcnow

bp = Blueprint("users", __name__)
PER_PAGE = 50


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


def _log(verb: str, summary: str, user: User) -> None:
    activity.record(verb, summary, user_id=current_user.id, subject_type="user",
                    subject_id=user.id)


@bp.get("/")
@admin
def index():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    stmt = select(User).order_by(User.active.desc(), User.email)
    users = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)
    return render("users/index.html", users=users, action_form=EmptyForm(), now=utcnow())


@bp.route("/new", methods=["GET", "POST"])
@admin
def new():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.password.data, form.role.data, form.name.data)
        except AuthError as exc:
            form.email.errors.append(str(exc))
        else:
            _log("user.create", f"added {user.email} as {user.role.value}", user)
            db.session.commit()
            flash(f"{user.email} can now sign in as {user.role.value}.", "success")
            return redirect(url_for("users.index"))
    return render("users/new.html", "form", 422 if form.errors else 200, form=form)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@admin
def edit(user_id: int):
    user = _user_or_404(user_id)
    form = UserEditForm(obj=user)
    if form.validate_on_submit():
        try:
            update_user(user, name=form.name.data, role=form.role.data, actor=current_user)
        except AuthError as exc:
            db.session.rollback()
            form.role.errors.append(str(exc))
        else:
            _log("user.update", f"updated {user.email} ({user.role.value})", user)
            db.session.commit()
            flash(f"Saved {user.email}.", "success")
            return redirect(url_for("users.edit", user_id=user.id))
    return render("users/edit.html", "form", 422 if form.errors else 200, user=user, form=form,
                  password_form=PasswordResetForm(), action_form=EmptyForm())


@bp.post("/<int:user_id>/password")
@admin
def password(user_id: int):
    user = _user_or_404(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        reset_password(user, form.password.data)
        _log("user.password", f"reset the password of {user.email}", user)
        db.session.commit()
        if user.id == current_user.id:  # keep this session; the others end
            session["_pwf"] = session_fingerprint(user, current_app.config["SECRET_KEY"])
        flash(f"New password set for {user.email}; their other sessions have ended.", "success")
        return redirect(url_for("users.edit", user_id=user.id))
    return render("users/edit.html", "password", 422, user=user, password_form=form,
                  form=UserEditForm(obj=user), action_form=EmptyForm())


@bp.post("/<int:user_id>/active")
@admin
def toggle_active(user_id: int):
    user = _user_or_404(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    make_active = request.form.get("active") == "1"
    try:
        set_active(user, make_active, actor=current_user)
    except AuthError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("users.index"))
    verb = "reactivated" if make_active else "deactivated"
    _log(f"user.{verb}", f"{verb} {user.email}", user)
    db.session.commit()
    flash(f"{user.email} is {verb}.", "success")
    return redirect(url_for("users.index"))
