"""Sign in, sign out, the first-run admin setup, each person's own account page (their
password and their sessions), and the pages one-time links open (an invite or a password
reset: choose a password, then you are signed in)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, logout_user

from app.access import is_safe_next, member, public
from app.activity import Actor
from app.auth import devices, queries, sessions
from app.auth.operations import (
    AuthError,
    Throttled,
    end_all_sessions,
    end_session,
    setup_first_admin,
    sign_in,
)
from app.blueprints.auth.forms import ChangePasswordForm, LinkPasswordForm, LoginForm, SetupForm
from app.extensions import db
from app.forms import EmptyForm
from app.htmx import render
from app.models import LinkKind, User
from app.ratelimit import client_address
from app.users.operations import (
    AccountError,
    CurrentPasswordError,
    LinkNoLongerValid,
    PasswordError,
    change_own_password,
    use_link,
)
from app.users.queries import LINK_GONE, get_open_link_or_404, has_users, link_user

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    if not has_users():
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        device = devices.read(request.cookies.get(devices.COOKIE))
        try:
            user = sign_in(form.email.data, form.password.data, address=client_address(),
                           device=device, config=current_app.config)
        except AuthError as exc:
            db.session.commit()  # keep the counted failure for the backoff
            form.form_errors.append(str(exc))
            form.password.data = ""
            # 422 like any refused form (htmx swaps it in; a 429 would not be shown), with
            # Retry-After when the backoff says when to try again.
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else {}
            return render_template("auth/login.html", form=form), 422, headers
        sessions.start_session(user)
        db.session.commit()
        target = form.next.data
        resp = redirect(target if is_safe_next(target) else url_for("dashboard.index"))
        return devices.set_cookie(resp, devices.remember(device, user.id))
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup() -> ResponseReturnValue:
    if has_users():
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user = setup_first_admin(form.email.data, form.password.data, form.name.data or "")
        except PasswordError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
            return render_template("auth/setup.html", form=form), 422
        except AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
            return render_template("auth/setup.html", form=form), 422
        if user is None:  # someone finished setup while this form was open
            db.session.rollback()
            flash("An admin account already exists. Sign in, or ask that admin to invite "
                  "you.", "info")
            return redirect(url_for("auth.login"))
        sessions.start_session(user)
        db.session.commit()
        flash("Welcome to PitchFast. Your admin account is ready.", "success")
        resp = redirect(url_for("dashboard.index"))
        return devices.set_cookie(resp, devices.remember(None, user.id))
    return render_template("auth/setup.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
@member
def logout() -> ResponseReturnValue:
    sessions.end_current_session("signed out")  # a copy of the cookie stops working too
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _account(block: str | None = None, status: int = 200,
             password_form: ChangePasswordForm | None = None) -> ResponseReturnValue:
    user = _me()
    rows = queries.open_sessions(user.id)
    current_id = next((r.id for r in rows if sessions.is_current(r)), None)
    return render("auth/account.html", block, status, user=user, sessions=rows,
                  current_id=current_id, password_form=password_form or ChangePasswordForm(),
                  action_form=EmptyForm())


@bp.get("/account")
@member
def account() -> ResponseReturnValue:
    return _account()


@bp.post("/account/password")
@member
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_own_password(_me(), form.current.data, form.password.data,
                                keep_session=sessions.current_session_id(),
                                config=current_app.config)
        except CurrentPasswordError as exc:
            db.session.commit()  # keep the counted failure
            form.current.errors.append(str(exc))
        except PasswordError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Your password is changed; your other sessions have ended.", "success")
            return redirect(url_for("auth.account"))
    return _account("password", 422, password_form=form)


@bp.post("/account/sessions/<int:session_id>/end")
@member
def end_own_session(session_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = _me()
    row = queries.get_open_session_or_404(user.id, session_id)
    was_current = sessions.is_current(row)
    end_session(user, row, actor=Actor.of_user(user))
    db.session.commit()
    if was_current:
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
        return redirect(url_for("auth.login"))
    flash("That session has ended: the browser is signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/end-others")
@member
def end_other_sessions() -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = _me()
    ended = end_all_sessions(user, actor=Actor.of_user(user),
                             keep=sessions.current_session_id())
    db.session.commit()
    flash(f"Ended {ended} other session{'s' if ended != 1 else ''}.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def invite(token: str) -> ResponseReturnValue:
    return _link_page(token, LinkKind.INVITE)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset(token: str) -> ResponseReturnValue:
    return _link_page(token, LinkKind.RESET)


def _link_page(token: str, kind: LinkKind) -> ResponseReturnValue:
    """Choose a password with a one-time link, then be signed in as its user. Used,
    expired, revoked and unknown links are one 404."""
    link = get_open_link_or_404(token, kind)
    user = link_user(link)
    form = LinkPasswordForm()
    if form.validate_on_submit():
        try:
            use_link(link, form.password.data)
        except LinkNoLongerValid:
            db.session.rollback()
            abort(404, description=LINK_GONE)
        except PasswordError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            if current_user.is_authenticated:  # someone else was signed in here
                sessions.end_current_session("signed out")
            sessions.start_session(user)
            db.session.commit()
            flash("Your password is set and you are signed in. Welcome!" if kind == LinkKind.INVITE
                  else "Your new password is set and you are signed in.", "success")
            device = devices.read(request.cookies.get(devices.COOKIE))
            resp = redirect(url_for("dashboard.index"))
            return devices.set_cookie(resp, devices.remember(device, user.id))
    resp = make_response(render_template(
        "auth/link.html", form=form, user=user, invite=kind == LinkKind.INVITE,
        expires_at=link.expires_at), 422 if form.errors else 200)
    resp.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    return resp
