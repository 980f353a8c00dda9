"""Account reads: the users list, one user or 404, whether any account exists, and the
one-time links (invites, password resets) open for users."""

from __future__ import annotations

from collections.abc import Iterable

from flask import abort
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from app.activity import Actor
from app.extensions import db
from app.models import AccountLink, LinkKind, Role, User
from app.models.base import utcnow
from app.users import links, passwords

#: What a person opening a used, expired, revoked or unknown link is told (one message).
LINK_GONE = ("This link is no longer valid: it was used already, it expired, or a newer one "
             "was made. Ask an admin of your team for a new link.")

PER_PAGE = 50


def get_user_or_404(user_id: int) -> User:
    """The user, or 404 (the users pages are admin-only; the access hook checks that)."""
    return db.get_or_404(User, user_id)


def users_page(page: int, per_page: int = PER_PAGE) -> Pagination:
    """Active users first, then by email; a page past the end is empty, not 404."""
    stmt = select(User).order_by(User.active.desc(), User.email)
    return db.paginate(stmt, page=max(page, 1), per_page=per_page, error_out=False)


def has_users() -> bool:
    """True once any account exists (first-run setup is offered until then)."""
    return db.session.scalar(select(User.id).limit(1)) is not None


def active_admin_count() -> int:
    """How many active admins exist."""
    return db.session.scalar(
        select(func.count(User.id)).where(User.role == Role.ADMIN, User.active.is_(True))
    ) or 0


def acts_as_admin(actor: Actor) -> bool:
    """True when ``actor`` may do what only admins may: an active admin account (read
    now, so a demotion counts at once), or the system itself (commands run on the server).
    API keys never."""
    if actor.kind == "system":
        return True
    if actor.kind != "user" or actor.id is None:
        return False
    user = db.session.get(User, actor.id)
    return bool(user is not None and user.active and user.role == Role.ADMIN)


def get_open_link_or_404(token: str, kind: LinkKind) -> AccountLink:
    """The open link of ``kind`` behind ``token`` (its user active), or 404 with
    :data:`LINK_GONE`: used, expired, revoked and unknown links all look the same."""
    link = links.find_open(token, kind)
    if link is None:
        abort(404, description=LINK_GONE)
    return link


def link_user(link: AccountLink) -> User:
    """The user a link is for (the link exists, so the user does)."""
    user = db.session.get(User, link.user_id)
    if user is None:  # deleted between two reads
        abort(404, description=LINK_GONE)
    return user


def open_links(user_ids: Iterable[int]) -> dict[int, AccountLink]:
    """``{user id: open link}`` for those of ``user_ids`` who have one (one query)."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        select(AccountLink).where(AccountLink.user_id.in_(ids), AccountLink.used_at.is_(None),
                                  AccountLink.revoked_at.is_(None),
                                  AccountLink.expires_at > utcnow())
        .order_by(AccountLink.id)
    )
    return {row.user_id: row for row in rows}


def without_password(users: Iterable[User]) -> set[int]:
    """The ids of ``users`` who have not chosen a password yet (invited, link not used)."""
    return {u.id for u in users if not passwords.is_usable(u.password_hash)}
