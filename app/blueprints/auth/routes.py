"""Sign in, sign out and the first-run admin setup."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from app import activity
from app.access import is_safe_next, member, public
from app.auth import (
    AuthError,
    authenticate,
    create_user,
    first_run_open,
    has_users,
    session_fingerprint,
)
from app.blueprints.auth.forms import LoginForm, SetupForm
from app.extensions import db
from app.models import Role

bp = Blueprint("auth", __name__)


def _start_session(user) -> None:
    """A fresh session (no fixation) bound to the user's current password."""
    session.clear()
    login_user(user)
    session["_pwf"] = session_fingerprint(user, current_app.config["SECRET_KEY"])


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if not has_users():
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        ip = request.remote_addr or "?"
        try:
            user = authenticate(form.email.data, form.password.data, ip, current_app.config)
        except AuthError as exc:
            db.session.commit()  # keep the failed attempt for throttling
            form.form_errors.append(str(exc))
            form.password.data = ""
            return render_template("auth/login.html", form=form), 422
        activity.record("user.login", f"{user.email} signed in", user_id=user.id,
                        subject_type="user", subject_id=user.id)
        db.session.commit()
        _start_session(user)
        target = form.next.data
        return redirect(target if is_safe_next(target) else url_for("dashboard.index"))
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup():
    if has_users():
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if form.validate_on_submit():
        if not first_run_open():  # someone finished setup while this form was open
            db.session.rollback()
            flash("An admin account already exists. Sign in, or ask that admin to invite "
                  "you.", "info")
            return redirect(url_for("auth.login"))
        try:
            user = create_user(form.email.data, form.password.data, Role.ADMIN,
                               form.name.data or "")
        except AuthError as exc:
            form.email.errors.append(str(exc))
            return render_template("auth/setup.html", form=form), 422
        activity.record("user.setup", f"{user.email} created the first admin account",
                        user_id=user.id, subject_type="user", subject_id=user.id)
        db.session.commit()
        _start_session(user)
        flash("Welcome to PitchFast. Your admin account is ready.", "success")
        return redirect(url_for("dashboard.index"))
    return render_template("auth/setup.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
@member
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
