"""Sessions stored on the server: a :class:`~app.models.UserSession` row per signed-in browser.

The signed session cookie carries a random token; the database keeps only its SHA-256.
Flask-Login's user loader (:func:`load_user`) accepts a request only while that row is
open and its user active, so a session ends for good, everywhere, the moment its row is
ended: sign-out, a password change, deactivation, a role change, or the user or an admin
ending it. Nothing in the cookie can bring an ended session back.

A session unused for ``SESSION_IDLE_DAYS`` has ended too (a browser that was closed, or
a cookie Flask-Login dropped, leaves no open row behind for ever). ``last_seen_at`` is
refreshed at most once a minute, in its own short write transaction
taken before the request's own transaction begins (GET requests read in deferred
transactions on SQLite: they must not turn into writes half-way, see
:mod:`app.database`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from flask import current_app, request, session
from flask_login import login_user
from sqlalchemy import select, update

from app.extensions import db
from app.models import User, UserSession
from app.models.base import utcnow
from app.ratelimit import client_address
from app.untrusted import clean_text

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

#: Keys in the signed cookie: the session token, and when ``last_seen_at`` was last written.
_COOKIE_KEY = "_st"
_SEEN = "_seen"
#: ``last_seen_at`` is written at most this often (seconds).
TOUCH_EVERY = 60


def token_hash(token: str) -> str:
    """What the database stores for a session token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def idle_cutoff() -> datetime:
    """Sessions last seen before this have ended (``SESSION_IDLE_DAYS``)."""
    return utcnow() - timedelta(days=int(current_app.config["SESSION_IDLE_DAYS"]))


def _cookie_token() -> str | None:
    token = session.get(_COOKIE_KEY)
    return token if isinstance(token, str) and 20 <= len(token) <= 100 else None


def start_session(user: User) -> UserSession:
    """A fresh session for ``user`` (no fixation: whatever the cookie held is dropped),
    with its row added and flushed; the caller commits."""
    token = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=token_hash(token),
        ip=client_address(),
        user_agent=clean_text(request.headers.get("User-Agent", ""))[:300],
    )
    db.session.add(row)
    db.session.flush()
    session.clear()
    login_user(user)
    session[_COOKIE_KEY] = token
    session[_SEEN] = int(time.time())
    return row


def load_user(user_id: str) -> User | None:
    """Flask-Login user loader: the user of this browser's open session, if they are
    active. One query; ``last_seen_at`` is written at most once a minute, before it."""
    token = _cookie_token()
    if token is None or not user_id.isdigit():
        return None
    digest = token_hash(token)
    _touch_if_due(digest)
    return db.session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == digest, UserSession.ended_at.is_(None),
               UserSession.last_seen_at >= idle_cutoff(),
               User.id == int(user_id), User.active.is_(True))
    )


def _touch_if_due(digest: str) -> None:
    seen = session.get(_SEEN)
    now = int(time.time())
    if isinstance(seen, int) and 0 <= now - seen < TOUCH_EVERY:
        return
    if db.session().in_transaction():
        # This request already reads (or writes) in a transaction of its own: writing now
        # would upgrade it half-way, or wait for a lock this request holds. Next time.
        return
    with db.engine.begin() as conn:  # its own short write, committed at once
        conn.execute(
            update(UserSession)
            .where(UserSession.token_hash == digest, UserSession.ended_at.is_(None),
                   UserSession.last_seen_at >= idle_cutoff())  # never revive an idle one
            .values(last_seen_at=utcnow())
        )
    session[_SEEN] = now


def current_session_id() -> int | None:
    """The id of this browser's open session row, or None (one query)."""
    token = _cookie_token()
    if token is None:
        return None
    return db.session.scalar(
        select(UserSession.id).where(UserSession.token_hash == token_hash(token),
                                     UserSession.ended_at.is_(None))
    )


def is_current(row: UserSession) -> bool:
    """True when ``row`` is the session of this request's browser."""
    token = _cookie_token()
    return token is not None and hmac.compare_digest(row.token_hash, token_hash(token))


def end_sessions(user_id: int, reason: str, *, keep: int | None = None,
                 only: int | None = None, now: datetime | None = None) -> int:
    """End the user's open sessions (all, all but ``keep``, or ``only`` that one) in the
    caller's transaction; returns how many ended. An ended session never comes back."""
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), end_reason=reason[:40])
        .execution_options(synchronize_session="fetch")
    )
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    if only is not None:
        stmt = stmt.where(UserSession.id == only)
    return int(cast("CursorResult[Any]", db.session.execute(stmt)).rowcount or 0)


def end_current_session(reason: str = "signed out") -> None:
    """End this browser's session row (sign-out); the caller commits, then clears the cookie."""
    token = _cookie_token()
    if token is not None:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == token_hash(token), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason[:40])
            .execution_options(synchronize_session="fetch")
        )
