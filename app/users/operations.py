"""Account writes: create, change name and role, deactivate or reactivate, set a password.

Every operation validates, flushes (never commits) and records its own activity with
the :class:`~app.activity.Actor` who acted, so the web form and ``pitchfast users create``
leave the same trail. There is always at least one active admin. Every new password
passes :func:`app.users.passwords.weakness` (length, no control characters, zxcvbn with
the user's own details). A password change, a role change and deactivation end the
user's sessions (:func:`app.auth.sessions.end_sessions`), all of them or all but the
actor's own when people change their own account.

Admins may also hand out one-time links (:mod:`app.users.links`): an invite, for a new
user who chooses their own password (:func:`invite_user`), or a reset link for someone
who forgot theirs (:func:`issue_link`); :func:`use_link` sets the password from one. Any
other password change and deactivation revoke the user's open link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from app import activity, ratelimit
from app.activity import Actor
from app.auth.sessions import end_sessions
from app.extensions import db
from app.models import AccountLink, LinkKind, Role, User
from app.untrusted import clean_text
from app.users import links, passwords

MIN_PASSWORD = passwords.MIN_LENGTH


class AccountError(ValueError):
    """An account change was refused; the message is safe to show."""


class LastAdminError(AccountError):
    """The change would leave no active admin."""


class PasswordError(AccountError):
    """The new password was refused; the message belongs next to that field."""


class CurrentPasswordError(AccountError):
    """The current password given was wrong (or too many were): the failure is counted,
    so the caller commits."""


def normalize_email(raw: str) -> str:
    """Validate an address (syntax only, no DNS) and return it normalised."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(f"{raw!r} is not a valid email address: {exc}") from None


def _password_hash(password: str, *, email: str, name: str) -> str:
    problem = passwords.weakness(password, [email, name])
    if problem:
        raise PasswordError(problem)
    return passwords.hash_password(password)


def _add_user(email: str, password: str | None, role: Role | str, name: str) -> User:
    """A new account (flushed); ``password`` None leaves it without one (an invite)."""
    email = normalize_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(f"A user with the email {email} already exists.")
    name = clean_text(name).strip()[:120]  # no bidi or zero-width tricks in names
    password_hash = (passwords.NOT_SET if password is None
                     else _password_hash(password, email=email, name=name))
    user = User(email=email, name=name, role=Role(role), password_hash=password_hash)
    db.session.add(user)
    db.session.flush()
    return user


def create_user(
    email: str, password: str, role: Role | str = Role.MEMBER, name: str = "", *, actor: Actor
) -> User:
    """Add an account (flushed). Raises :class:`AccountError` for a bad or taken email, and
    :class:`PasswordError` for a weak password."""
    user = _add_user(email, password, role, name)
    activity.record(actor, "user.create", f"added {user.email} as {user.role.value}",
                    subject=("user", user.id))
    return user


def create_first_admin(email: str, password: str, name: str = "") -> User:
    """First-run setup: the first admin, who is also the actor. The caller has checked
    under its lock that no account exists (:func:`app.auth.operations.setup_first_admin`)."""
    user = _add_user(email, password, Role.ADMIN, name)
    activity.record(Actor.of_user(user), "user.setup",
                    f"{user.email} created the first admin account", subject=("user", user.id))
    return user


def _other_active_admins(user: User) -> int:
    ids = db.session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
        .with_for_update()
    ).all()
    return len(ids)


def _guard_last_admin(user: User, actor: Actor, action: str) -> None:
    if user.role == Role.ADMIN and user.active and _other_active_admins(user) == 0:
        who = "yourself" if actor.user_id == user.id else user.email
        raise LastAdminError(
            f"You cannot {action} {who}: {user.email} is the last active admin. "
            "Make another user an admin first."
        )


def update_user(user: User, *, name: str, role: Role | str, actor: Actor,
                keep_session: int | None = None) -> User:
    """Change a user's name and role (flushed); refuses demoting the last active admin.
    A new role ends the user's sessions (but ``keep_session``, the actor's own)."""
    role = Role(role)
    if role != Role.ADMIN:
        _guard_last_admin(user, actor, "demote")
    changed = role != user.role
    user.name = clean_text(name).strip()[:120]
    user.role = role
    db.session.flush()
    if changed:
        end_sessions(user.id, "role changed", keep=keep_session)
    activity.record(actor, "user.update", f"updated {user.email} ({user.role.value})",
                    subject=("user", user.id))
    return user


def set_active(user: User, active: bool, *, actor: Actor) -> User:
    """Deactivate or reactivate a user (flushed); refuses deactivating the last active admin.
    Deactivation ends every session; reactivation brings none back."""
    if not active:
        _guard_last_admin(user, actor, "deactivate")
    user.active = active
    db.session.flush()
    if not active:
        end_sessions(user.id, "deactivated")
        links.revoke_open(user.id)
    verb = "reactivated" if active else "deactivated"
    activity.record(actor, f"user.{verb}", f"{verb} {user.email}", subject=("user", user.id))
    return user


def set_password(user: User, password: str, *, actor: Actor,
                 keep_session: int | None = None) -> User:
    """Set a new password (flushed) and end the user's sessions but ``keep_session`` (the
    actor's own, when admins set their own password). Raises :class:`PasswordError`."""
    user.password_hash = _password_hash(password, email=user.email, name=user.name)
    db.session.flush()
    end_sessions(user.id, "password changed", keep=keep_session)
    links.revoke_open(user.id)
    activity.record(actor, "user.password", f"reset the password of {user.email}",
                    subject=("user", user.id))
    return user


def change_own_password(user: User, current: str, new: str, *, keep_session: int | None,
                        config: Mapping[str, Any]) -> User:
    """People change their own password: the current one first (so a borrowed session
    cannot take the account over; wrong guesses back off like sign-in), then as
    :func:`set_password`, keeping this session. Raises :class:`PasswordError` (nothing
    written) or :class:`CurrentPasswordError` (the failure is counted: commit it)."""
    key = f"password:current:{user.id}"
    decision = ratelimit.backoff(key, free=int(config["LOGIN_ACCOUNT_FREE_FAILURES"]),
                                 window=int(config["LOGIN_FAILURE_WINDOW_SECONDS"]),
                                 cap=int(config["LOGIN_BACKOFF_CAP_SECONDS"]))
    if not decision.allowed:
        raise CurrentPasswordError(f"Too many wrong passwords. Wait {decision.retry_after} s "
                                   "and try again.")
    new_hash = _password_hash(new, email=user.email, name=user.name)
    if not passwords.verify(user.password_hash, current):
        ratelimit.record(key)  # the caller commits it: only this refusal writes
        raise CurrentPasswordError("That is not your current password.")
    ratelimit.reset(key)
    user.password_hash = new_hash
    db.session.flush()
    end_sessions(user.id, "password changed", keep=keep_session)
    links.revoke_open(user.id)
    activity.record(Actor.of_user(user), "user.password", f"{user.email} changed their password",
                    subject=("user", user.id))
    return user


# -- one-time links: invites and password resets ----------------------------------------


class LinkNoLongerValid(AccountError):
    """The link was used, expired or revoked meanwhile (someone else submitted it first)."""


@dataclass(frozen=True)
class IssuedLink:
    """A link just made: ``token`` exists only here (the database keeps its hash), so the
    caller shows or sends it now, once."""

    user: User
    link: AccountLink
    token: str

    @property
    def is_invite(self) -> bool:
        return self.link.kind == LinkKind.INVITE


def _issue(user: User, *, actor: Actor, config: Mapping[str, Any]) -> IssuedLink:
    if not user.active:
        raise AccountError(f"{user.email} is deactivated: reactivate them first.")
    kind = LinkKind.RESET if passwords.is_usable(user.password_hash) else LinkKind.INVITE
    link, token = links.add(user, kind, created_by=actor.user_id, config=config)
    hours = int(config[links.HOURS_KEY[kind]])
    what = "an invite link" if kind == LinkKind.INVITE else "a password-reset link"
    activity.record(actor, f"user.{kind.value}_link",
                    f"created {what} for {user.email} (valid {hours} h)",
                    subject=("user", user.id))
    return IssuedLink(user, link, token)


def invite_user(email: str, role: Role | str = Role.MEMBER, name: str = "", *, actor: Actor,
                config: Mapping[str, Any]) -> IssuedLink:
    """Add an account without a password and an invite link for its owner to choose one
    (flushed; ``user.create`` and ``user.invite_link`` recorded). Raises
    :class:`AccountError` for a bad or taken email."""
    user = _add_user(email, None, role, name)
    activity.record(actor, "user.create", f"invited {user.email} as {user.role.value}",
                    subject=("user", user.id))
    return _issue(user, actor=actor, config=config)


def issue_link(user: User, *, actor: Actor, config: Mapping[str, Any]) -> IssuedLink:
    """A new one-time link for ``user`` (flushed), revoking their older ones: an invite
    while they have never chosen a password, else a password reset. Their password and
    sessions stay as they are until the link is used."""
    return _issue(user, actor=actor, config=config)


def use_link(link: AccountLink, password: str) -> User:
    """Set the user's password from an open link (flushed): the link is used up, the user's
    other links revoked and every session of theirs ended (whoever knew the old password
    is out). Raises :class:`PasswordError` (nothing written) or
    :class:`LinkNoLongerValid` when the link was used or revoked meanwhile."""
    user = db.session.get(User, link.user_id)
    if user is None or not user.active:
        raise LinkNoLongerValid("This link is no longer valid.")
    new_hash = _password_hash(password, email=user.email, name=user.name)
    kind = link.kind
    if not links.claim(link):
        raise LinkNoLongerValid("This link is no longer valid.")
    user.password_hash = new_hash
    db.session.flush()
    links.revoke_open(user.id)
    end_sessions(user.id, "password reset by link")
    if kind == LinkKind.INVITE:
        verb, summary = "user.invite_used", f"{user.email} accepted the invite and chose a password"
    else:
        verb, summary = "user.reset_used", f"{user.email} chose a new password with a reset link"
    activity.record(Actor.of_user(user), verb, summary, subject=("user", user.id))
    return user
