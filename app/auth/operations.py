"""Sign-in with backoff (never a hard lock), first-run setup, and ending sessions.

Failed sign-ins are counted by the rate limiter (:mod:`app.ratelimit`) per account and per
client address; past a free allowance each failure doubles the wait before the next try,
up to a cap. A browser that signed in to an account before (a known device,
:mod:`app.auth.devices`) is exempt from both for that account, so nobody can lock a person
out of their own device by failing on purpose. Real and unknown accounts get the same
answers.

Each write records its activity here (``user.login``, ``user.setup``,
``user.session_ended``); the routes only commit.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from app import activity, ratelimit
from app.activity import Actor
from app.auth import sessions
from app.auth.devices import Device
from app.extensions import db
from app.models import User, UserSession
from app.models.base import utcnow
from app.users import passwords
from app.users.operations import create_first_admin
from app.users.queries import has_users

#: Advisory-lock key for first-run setup (any fixed 64-bit number unique to this use).
SETUP_LOCK = 0x5046_5345_5455_50  # "PFSETUP"
#: The one answer to a wrong password, for real and unknown accounts alike.
WRONG = "Wrong email or password."


class AuthError(ValueError):
    """A sign-in was refused; the message is safe to show."""


class Throttled(AuthError):
    """Too many recent failures: the next try may happen in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        unit = "second" if retry_after == 1 else "seconds"
        super().__init__(f"Too many failed sign-ins. Wait {retry_after} {unit} and try again.")


def _account_key(email_key: str, secret: str) -> str:
    # Keyed hash: what was typed in the email box may be anything (a password pasted there).
    digest = hmac.new(secret.encode(), email_key.encode(), hashlib.sha256).hexdigest()
    return "login:account:" + digest[:40]


def throttle_keys(email_key: str, user: User | None, *, address: str, device: Device | None,
                  secret: str) -> list[str]:
    """The rate-limit keys one attempt is counted under: the account's and the address's,
    or only the device's own key when this browser signed in to this account before."""
    if user is not None and device is not None and device.knows(user.id):
        return [f"login:device:{device.id}:{user.id}"]
    return [_account_key(email_key, secret), f"login:address:{address}"]


def _check_throttle(keys: list[str], config: Mapping[str, Any]) -> None:
    ratelimit.serialize(keys)
    for key in keys:
        free = (config["LOGIN_ADDRESS_FREE_FAILURES"] if key.startswith("login:address:")
                else config["LOGIN_ACCOUNT_FREE_FAILURES"])
        decision = ratelimit.backoff(key, free=int(free),
                                     window=int(config["LOGIN_FAILURE_WINDOW_SECONDS"]),
                                     cap=int(config["LOGIN_BACKOFF_CAP_SECONDS"]))
        if not decision.allowed:
            raise Throttled(decision.retry_after)


def sign_in(email: str, password: str, *, address: str, device: Device | None,
            config: Mapping[str, Any]) -> User:
    """Check credentials under backoff; return the user (flushed, ``user.login`` recorded).

    Raises :class:`Throttled` while the account's or the address's backoff lasts (never
    for an account on a device it signed in from), and :class:`AuthError` with one message
    for a wrong password or an unknown account; a failure is counted (``ratelimit.record``)
    and must be committed by the caller.
    """
    email_key = email.strip().lower()[:254]
    user = db.session.scalar(select(User).where(User.email == email_key))
    keys = throttle_keys(email_key, user, address=address, device=device,
                         secret=str(config["SECRET_KEY"]))
    _check_throttle(keys, config)
    ok = passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok:
        for key in keys:
            ratelimit.record(key)
        raise AuthError(WRONG)
    if not user.active:
        raise AuthError("This account is deactivated. Ask an admin to reactivate it.")
    # The owner is back: the account's failures are forgiven (the address's are not, or
    # signing in to one's own account would reset the throttle on guessing others).
    ratelimit.reset(keys[0])
    user.last_login_at = utcnow()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    db.session.flush()
    activity.record(Actor.of_user(user), "user.login", f"{user.email} signed in",
                    subject=("user", user.id))
    return user


def first_run_open() -> bool:
    """True when no account exists yet, decided under a lock so two people racing through
    first-run setup cannot both become the first admin (SQLite's write transaction already
    serialises; PostgreSQL takes a transaction-scoped advisory lock)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK})
    return not has_users()


def setup_first_admin(email: str, password: str, name: str = "") -> User | None:
    """Create the first admin account (flushed, with its ``user.setup`` activity), or None
    when someone finished setup first. Raises
    :class:`app.users.operations.AccountError` for a bad email or password."""
    if not first_run_open():
        return None
    return create_first_admin(email, password, name)


def _end_reason(user: User, actor: Actor) -> str:
    return "ended by the user" if actor.user_id == user.id else "ended by an admin"


def end_session(user: User, row: UserSession, *, actor: Actor) -> None:
    """End one of ``user``'s sessions (that browser is signed out at its next request)."""
    sessions.end_sessions(user.id, _end_reason(user, actor), only=row.id)
    activity.record(actor, "user.session_ended",
                    f"ended a session of {user.email} ({row.browser}, {row.ip or 'unknown'})",
                    subject=("user", user.id))


def end_all_sessions(user: User, *, actor: Actor, keep: int | None = None) -> int:
    """End every open session of ``user`` but ``keep`` (the actor's own, when they end
    their other sessions); returns how many ended."""
    ended = sessions.end_sessions(user.id, _end_reason(user, actor), keep=keep)
    what = "other sessions" if keep is not None else "sessions"
    activity.record(actor, "user.sessions_ended", f"ended {ended} {what} of {user.email}",
                    subject=("user", user.id))
    return ended
