"""Sign-in sessions stored on the server: a row per session, checked on every request."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, utcnow


class UserSession(Model):
    """One signed-in browser. The cookie carries a random token; only its SHA-256 is stored.

    A session ends (``ended_at`` set) on sign-out, password change, deactivation, role
    change, or when the user or an admin ends it; an ended session never comes back.
    """

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(sa.String(40))
    __table_args__ = (sa.Index("ix_user_sessions_user_id_ended_at", "user_id", "ended_at"),)

    @property
    def browser(self) -> str:
        """'Firefox on Linux', from the User-Agent (a hint for people, not a security fact)."""
        return describe_agent(self.user_agent)


#: (marker in the User-Agent, name), first match wins: Edge and Opera also say "Chrome",
#: Chrome also says "Safari".
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"),
             ("curl/", "curl"), ("python-requests", "Python"), ("Werkzeug", "Werkzeug"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


def describe_agent(user_agent: str | None) -> str:
    """A short name for a User-Agent string: 'Chrome on Windows', or 'Unknown browser'."""
    ua = user_agent or ""
    name = next((n for marker, n in _BROWSERS if marker in ua), "Unknown browser")
    system = next((s for marker, s in _SYSTEMS if marker in ua), "")
    return f"{name} on {system}" if system else name
