"""Session reads: a user's open sessions, one of them or 404."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from app.auth.sessions import idle_cutoff
from app.extensions import db
from app.models import UserSession

#: At most this many open sessions are listed (the newest first).
MAX_LISTED = 100


def open_sessions(user_id: int) -> list[UserSession]:
    """The user's open sessions (not ended, used within ``SESSION_IDLE_DAYS``), most
    recently seen first."""
    return list(db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None),
               UserSession.last_seen_at >= idle_cutoff())
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        .limit(MAX_LISTED)
    ))


def get_open_session_or_404(user_id: int, session_id: int) -> UserSession:
    """The user's open session ``session_id``; 404 when it is someone else's, unknown or
    already ended (all look the same)."""
    row = db.session.scalar(
        select(UserSession).where(UserSession.id == session_id,
                                  UserSession.user_id == user_id,
                                  UserSession.ended_at.is_(None))
    )
    if row is None:
        abort(404)
    return row
