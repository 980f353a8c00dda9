"""One-time account links: an invite (a new user chooses their first password) or a
password reset (an existing user chooses a new one), handed out by an admin.

The link carries a random token of 256 bits (``secrets.token_urlsafe(32)``); the database
keeps only its SHA-256 (:class:`~app.models.AccountLink`), so a copy of the database opens
no account. A link works once, until it expires (``INVITE_LINK_HOURS`` /
``RESET_LINK_HOURS``), and only while it is the user's newest: issuing another link,
setting the password some other way, or deactivating the user revokes it. Whoever opens
a used, expired, revoked or unknown link is told the same thing.

The writes that use these helpers live in :mod:`app.users.operations`; the pages in the
users and auth blueprints.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from app.extensions import db
from app.models import AccountLink, LinkKind, User
from app.models.base import utcnow

#: The token in a link: ``secrets.token_urlsafe(32)`` is 43 characters of base64url.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
#: The hours each kind of link stays usable, read from config.
HOURS_KEY = {LinkKind.INVITE: "INVITE_LINK_HOURS", LinkKind.RESET: "RESET_LINK_HOURS"}


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database stores for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime(kind: LinkKind, config: Mapping[str, Any]) -> timedelta:
    """How long a new link of ``kind`` stays usable."""
    return timedelta(hours=int(config[HOURS_KEY[kind]]))


def _open(now: datetime) -> tuple[Any, ...]:
    return (AccountLink.used_at.is_(None), AccountLink.revoked_at.is_(None),
            AccountLink.expires_at > now)


def find_open(token: str, kind: LinkKind) -> AccountLink | None:
    """The open link of ``kind`` behind ``token`` whose user is active, or None (a malformed
    token costs no query)."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    return db.session.scalar(
        select(AccountLink)
        .join(User, User.id == AccountLink.user_id)
        .where(AccountLink.token_hash == token_hash(token), AccountLink.kind == kind,
               User.active.is_(True), *_open(utcnow()))
    )


def newest_open(user_id: int) -> AccountLink | None:
    """The user's open link, if any (there is at most one: a new one revokes the others)."""
    return db.session.scalar(
        select(AccountLink)
        .where(AccountLink.user_id == user_id, *_open(utcnow()))
        .order_by(AccountLink.id.desc())
        .limit(1)
    )


def add(user: User, kind: LinkKind, *, created_by: int | None,
        config: Mapping[str, Any]) -> tuple[AccountLink, str]:
    """Revoke the user's open links and add a new one (flushed); returns it and its token,
    which exists nowhere else: show or send it now."""
    revoke_open(user.id)
    token = new_token()
    now = utcnow()
    link = AccountLink(user_id=user.id, kind=kind, token_hash=token_hash(token),
                       created_at=now, created_by_id=created_by,
                       expires_at=now + lifetime(kind, config))
    db.session.add(link)
    db.session.flush()
    return link, token


def claim(link: AccountLink) -> bool:
    """Mark ``link`` used if it is still open, in one conditional UPDATE: of two people
    submitting the same link at once, exactly one gets True."""
    now = utcnow()
    result = db.session.execute(
        update(AccountLink)
        .where(AccountLink.id == link.id, *_open(now))
        .values(used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(cast("CursorResult[Any]", result).rowcount or 0) == 1


def revoke_open(user_id: int) -> int:
    """Revoke every open link of the user (in the caller's transaction); how many."""
    now = utcnow()
    result = db.session.execute(
        update(AccountLink)
        .where(AccountLink.user_id == user_id, *_open(now))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def message(kind: LinkKind, user: User, url: str, *, agency: str, hours: int,
            admin: str) -> tuple[str, str]:
    """``(subject, body)`` of the email carrying a link (plain text)."""
    team = agency or "PitchFast"
    if kind == LinkKind.INVITE:
        subject = f"You are invited to {team} on PitchFast"
        opening = (f"{admin} invited you to {team} on PitchFast. Open this link to choose "
                   f"your password and sign in as {user.email}:")
    else:
        subject = f"Choose a new PitchFast password for {team}"
        opening = (f"{admin} created a link for you to choose a new password for "
                   f"{user.email}:")
    body = (f"Hello{' ' + user.name if user.name else ''},\n\n{opening}\n\n{url}\n\n"
            f"The link works once, for {hours} hours. If you did not expect it, ignore this "
            "email: nothing changes until the link is used.\n")
    return subject, body
