"""User management: list, create or invite, edit role/name, deactivate/reactivate, reset
password (set one, or hand out a one-time reset link), see and end a user's sessions.

Every route is ``@admin``: members get 403 from the access hook, whatever links they see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app import mail
from app.access import admin
from app.activity import Actor
from app.auth import operations as auth_operations
from app.auth import queries as auth_queries
from app.auth.sessions import current_session_id, is_current
from app.blueprints.users.forms import PasswordResetForm, UserCreateForm, UserEditForm
from app.edge import MAX_PAGE, bounded_int
from app.extensions import db
from app.forms import EmptyForm
from app.htmx import render
from app.models import User
from app.settings import queries as settings_queries
from app.users import links, operations, queries

bp = Blueprint("users", __name__)


def _actor() -> Actor:
    return Actor.of_user(current_user)


def _own_session(user_id: int) -> int | None:
    """The acting admin's session when they change their own account (it carries on)."""
    return current_session_id() if user_id == current_user.id else None


def _edit_page(user: User, block: str | None = None, status: int = 200,
               **forms: Any) -> ResponseReturnValue:
    forms.setdefault("form", UserEditForm(obj=user))
    forms.setdefault("password_form", PasswordResetForm())
    rows = auth_queries.open_sessions(user.id)
    current_id = next((r.id for r in rows if is_current(r)), None)
    return render("users/edit.html", block, status, user=user, action_form=EmptyForm(),
                  sessions=rows, current_id=current_id,
                  open_link=queries.open_links([user.id]).get(user.id),
                  no_password=bool(queries.without_password([user])), **forms)


@bp.get("/")
@admin
def index() -> ResponseReturnValue:
    users = queries.users_page(bounded_int("page", 1, low=1, high=MAX_PAGE) or 1)
    return render("users/index.html", users=users, action_form=EmptyForm(),
                  no_password=queries.without_password(users.items),
                  open_links=queries.open_links(u.id for u in users.items))


@dataclass(frozen=True)
class _Outgoing:
    """A link just made, as plain values (nothing to load once the write is committed)."""

    user_id: int
    email: str
    invite: bool
    url: str
    expires_at: datetime
    subject: str
    body: str
    sender: str | None  # None: no SMTP configured, the link is shown instead


def _outgoing(issued: operations.IssuedLink) -> _Outgoing:
    """What to send or show for a link just made (reads the agency's sender settings)."""
    cfg = current_app.config
    user, link = issued.user, issued.link
    url = url_for("auth.invite" if issued.is_invite else "auth.reset", token=issued.token,
                  _external=True)
    sender = None
    agency = settings_queries.agency()
    subject, body = links.message(link.kind, user, url, agency=agency["agency_name"],
                                  hours=int(cfg[links.HOURS_KEY[link.kind]]),
                                  admin=current_user.name or current_user.email)
    if mail.is_configured(cfg):
        sender = mail.sender(cfg, name=agency["sender_name"] or agency["agency_name"],
                             address=agency["sender_address"])
    return _Outgoing(user.id, user.email, issued.is_invite, url, link.expires_at, subject,
                     body, sender)


def _deliver(out: _Outgoing) -> ResponseReturnValue:
    """After the commit: email the link when SMTP is configured, else (or when sending
    fails) show it this once: only its hash is stored, so it cannot be shown again."""
    problem = None
    if out.sender:
        try:
            mail.send(current_app.config, to=out.email, subject=out.subject, body=out.body,
                      from_=out.sender)
        except mail.MailError as exc:
            problem = str(exc)
        else:
            what = "An invite" if out.invite else "A password-reset link"
            flash(f"{what} is on its way to {out.email}; the link works once, until "
                  f"{out.expires_at:%Y-%m-%d %H:%M} UTC.", "success")
            return redirect(url_for("users.edit", user_id=out.user_id))
    resp = render("users/link.html", out=out, problem=problem)
    resp.headers["HX-Push-Url"] = "false"  # a reload must not post again or show a 405
    return resp


@bp.route("/new", methods=["GET", "POST"])
@admin
def new() -> ResponseReturnValue:
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            if not form.password.data:
                out = _outgoing(operations.invite_user(
                    form.email.data, form.role.data, form.name.data, actor=_actor(),
                    config=current_app.config))
                db.session.commit()
                return _deliver(out)
            user = operations.create_user(form.email.data, form.password.data, form.role.data,
                                          form.name.data, actor=_actor())
        except operations.PasswordError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        except operations.AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{user.email} can now sign in as {user.role.value}.", "success")
            return redirect(url_for("users.index"))
    return render("users/new.html", "form", 422 if form.errors else 200, form=form)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@admin
def edit(user_id: int) -> ResponseReturnValue:
    user = queries.get_user_or_404(user_id)
    form = UserEditForm(obj=user)
    if form.validate_on_submit():
        try:
            operations.update_user(user, name=form.name.data, role=form.role.data,
                                   actor=_actor(), keep_session=_own_session(user.id))
        except operations.AccountError as exc:
            db.session.rollback()
            form.role.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Saved {user.email}.", "success")
            return redirect(url_for("users.edit", user_id=user.id))
    return _edit_page(user, "form", 422 if form.errors else 200, form=form)


@bp.post("/<int:user_id>/password")
@admin
def password(user_id: int) -> ResponseReturnValue:
    user = queries.get_user_or_404(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            operations.set_password(user, form.password.data, actor=_actor(),
                                    keep_session=_own_session(user.id))
        except operations.PasswordError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"New password set for {user.email}; their other sessions have ended.",
                  "success")
            return redirect(url_for("users.edit", user_id=user.id))
    return _edit_page(user, "password", 422, password_form=form)


@bp.post("/<int:user_id>/link")
@admin
def link(user_id: int) -> ResponseReturnValue:
    """A new invite or password-reset link for the user (older ones stop working)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = queries.get_user_or_404(user_id)
    try:
        out = _outgoing(operations.issue_link(user, actor=_actor(), config=current_app.config))
    except operations.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("users.edit", user_id=user_id))
    db.session.commit()
    return _deliver(out)


@bp.post("/<int:user_id>/active")
@admin
def toggle_active(user_id: int) -> ResponseReturnValue:
    user = queries.get_user_or_404(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    make_active = request.form.get("active") == "1"
    try:
        operations.set_active(user, make_active, actor=_actor())
    except operations.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("users.index"))
    db.session.commit()
    flash(f"{user.email} is {'reactivated' if make_active else 'deactivated'}.", "success")
    return redirect(url_for("users.index"))


@bp.post("/<int:user_id>/sessions/<int:session_id>/end")
@admin
def end_session(user_id: int, session_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = queries.get_user_or_404(user_id)
    row = auth_queries.get_open_session_or_404(user.id, session_id)
    auth_operations.end_session(user, row, actor=_actor())
    db.session.commit()
    flash(f"Ended a session of {user.email}: that browser is signed out.", "success")
    return redirect(url_for("users.edit", user_id=user.id))


@bp.post("/<int:user_id>/sessions/end-all")
@admin
def end_all_sessions(user_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = queries.get_user_or_404(user_id)
    ended = auth_operations.end_all_sessions(user, actor=_actor())
    db.session.commit()
    flash(f"Ended {ended} session{'s' if ended != 1 else ''} of {user.email}.", "success")
    return redirect(url_for("users.edit", user_id=user.id))
