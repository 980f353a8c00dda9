"""Writing API keys: create (the key is returned once), revoke, and authenticate a request.

``create_key`` and ``revoke_key`` take the :class:`~app.activity.Actor` who acts (an admin,
or the system for the CLI), flush, record the activity and never commit.

:func:`authenticate` is the API's one statement per request: an ``UPDATE … RETURNING``
that finds an open key by its hash, notes its last use and counts the request in the
key's fixed rate-limit window, so the limit holds across every web process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, or_, update

from app import activity
from app.activity import Actor
from app.apikeys.tokens import SHOWN, key_hash, new_key
from app.extensions import db
from app.models import ApiKey, KeyScope
from app.models.base import utcnow
from app.untrusted import clean_text
from app.users.queries import acts_as_admin

#: Longest key name.
MAX_NAME = 80


class ApiKeyError(ValueError):
    """A key cannot be created as asked; ``field`` names the field, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotAllowed(PermissionError):
    """Only admins manage API keys."""


@dataclass(frozen=True)
class KeyUse:
    """An open key that a request used: who it is and where its rate window stands."""

    id: int
    name: str
    scope: KeyScope
    count: int  #: requests in the current window, this one included
    retry_after: int  #: seconds until the window ends

    @property
    def actor(self) -> Actor:
        return Actor.of_api_key(self.id, self.name)

    def limited(self, limit: int) -> bool:
        return self.count > limit


def _require_admin(actor: Actor) -> None:
    if not acts_as_admin(actor):
        raise NotAllowed("Only an admin can manage API keys.")


def create_key(name: str, scope: KeyScope | str, *, expires_at: datetime | None = None,
               actor: Actor) -> tuple[ApiKey, str]:
    """Add a key; returns the row and the key itself (shown once, never stored)."""
    _require_admin(actor)
    clean = clean_text(name or "").strip()
    if not clean:
        raise ApiKeyError("name", "A key needs a name (say, the tool that will use it).")
    if len(clean) > MAX_NAME:
        raise ApiKeyError("name", f"A key name has at most {MAX_NAME} characters.")
    try:
        scope = KeyScope(scope)
    except ValueError:
        raise ApiKeyError("scope", "The scope is 'read' or 'write'.") from None
    if expires_at is not None and expires_at <= utcnow():
        raise ApiKeyError("expires_at", "The expiry must be in the future.")
    key = new_key()
    row = ApiKey(name=clean, scope=scope, prefix=key[:SHOWN], token_hash=key_hash(key),
                 created_by_id=actor.user_id, expires_at=expires_at, window_count=0)
    db.session.add(row)
    db.session.flush()
    until = f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
    activity.record(actor, "apikey.create",
                    f"created API key '{row.name}' ({scope.value}{until})",
                    subject=("api_key", row.id))
    return row, key


def revoke_key(row: ApiKey, *, actor: Actor) -> bool:
    """Revoke a key at once (its next request is a 401); False when it was already."""
    _require_admin(actor)
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    db.session.flush()
    activity.record(actor, "apikey.revoke", f"revoked API key '{row.name}'",
                    subject=("api_key", row.id))
    return True


def authenticate(key: str, *, window: int, now: datetime | None = None) -> KeyUse | None:
    """The open key ``key`` (not revoked, not expired), after counting this request: one
    ``UPDATE … RETURNING`` sets its last use and its rate window (a new window when the
    last one began ``window`` seconds ago or more). None for an unknown, revoked or expired
    key: the caller cannot tell them apart, and neither can the client."""
    now = now or utcnow()
    fresh = or_(ApiKey.window_start.is_(None),
                ApiKey.window_start <= now - timedelta(seconds=window))
    stmt = (
        update(ApiKey)
        .where(ApiKey.token_hash == key_hash(key), ApiKey.revoked_at.is_(None),
               or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))
        .values(
            last_used_at=now,
            window_start=case((fresh, now), else_=ApiKey.window_start),
            window_count=case((fresh, 1), else_=ApiKey.window_count + 1),
        )
        .returning(ApiKey.id, ApiKey.name, ApiKey.scope, ApiKey.window_start,
                   ApiKey.window_count)
        .execution_options(synchronize_session=False)
    )
    row = db.session.execute(stmt).one_or_none()
    if row is None:
        return None
    ends = row.window_start + timedelta(seconds=window)
    retry = max(1, int((ends - now).total_seconds() + 0.999))
    return KeyUse(row.id, row.name, KeyScope(row.scope), int(row.window_count), retry)
