"""Account reads: the users list, one user or 404, whether any account exists."""

from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from app.activity import Actor
from app.extensions import db
from app.models import Role, User

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
