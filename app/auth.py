"""Users: password hashing (Argon2id), creation, sign-in with throttling, and the
account management admins do (role, name, deactivate, password reset) with the
rule that there is always at least one active admin."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from app.extensions import db
from app.models import LoginAttempt, Role, User
from app.models.base import utcnow

_hasher = PasswordHasher()
#: Verified against when the email is unknown, so timing does not reveal accounts.
_dummy_hash: str | None = None


def _dummy() -> str:
    """A hash to verify against when the email is unknown (computed once, on first use)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not-a-real-password-0")
    return _dummy_hash


MIN_PASSWORD = 10


class AuthError(ValueError):
    """A sign-in or account problem with a message safe to show."""


def session_fingerprint(user: User, secret_key: str) -> str:
    """A value tied to the user's password hash: changing the password ends old sessions."""
    msg = f"{user.id}:{user.password_hash}".encode()
    return hmac.new(secret_key.encode(), msg, hashlib.sha256).hexdigest()[:32]


def load_user(user_id: str) -> User | None:
    """Flask-Login user loader: only active users whose password is unchanged since sign-in."""
    from flask import current_app, session

    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active:
        return None
    expected = session_fingerprint(user, current_app.config["SECRET_KEY"])
    if not hmac.compare_digest(str(session.get("_pwf", "")), expected):
        return None
    return user


def normalize_email(raw: str) -> str:
    """Validate an address (syntax only, no DNS) and return it normalised."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AuthError(f"{raw!r} is not a valid email address: {exc}") from None


def hash_password(password: str) -> str:
    """Hash a password, refusing ones that are too short."""
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"The password must be at least {MIN_PASSWORD} characters.")
    return _hasher.hash(password)


def create_user(email: str, password: str, role: Role | str = Role.MEMBER, name: str = "") -> User:
    """Add a user (flushed). Raises :class:`AuthError` for a bad or taken email."""
    email = normalize_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AuthError(f"A user with the email {email} already exists.")
    user = User(email=email, name=(name or "").strip()[:120], password_hash=hash_password(password),
                role=Role(role))
    db.session.add(user)
    db.session.flush()
    return user


def has_users() -> bool:
    """True once any account exists (first-run setup is offered until then)."""
    return db.session.scalar(select(User.id).limit(1)) is not None


#: Advisory-lock key for first-run setup (any fixed 64-bit number unique to this use).
SETUP_LOCK = 0x5046_5345_5455_50  # "PFSETUP"


def first_run_open() -> bool:
    """True when no account exists yet, decided under a lock so two people racing through
    first-run setup cannot both become the first admin (SQLite's write transaction already
    serialises; PostgreSQL takes a transaction-scoped advisory lock)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK})
    return not has_users()


def _looks_like_email(text: str) -> bool:
    local, at, domain = text.partition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in text)
                and len(text) <= 254)


def authenticate(email: str, password: str, ip: str, cfg: dict) -> User:
    """Check credentials with per-account lockout and per-IP throttling (both in the DB).

    Records the attempt; raises :class:`AuthError` with one generic message for
    bad credentials, and a specific one when throttled.
    """
    now = utcnow()
    window = now - timedelta(minutes=10)
    ip_failures = db.session.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.ip == ip, LoginAttempt.at >= window, LoginAttempt.success.is_(False)
        )
    )
    if ip_failures >= cfg["LOGIN_IP_MAX_PER_10_MIN"]:
        raise AuthError("Too many sign-in attempts from your address. Try again in 10 minutes.")
    email_key = email.strip().lower()[:254]
    user = db.session.scalar(select(User).where(User.email == email_key))
    # Never record free text that is not an address (a password pasted in the wrong box).
    logged_email = email_key if user is not None or _looks_like_email(email_key) else "(invalid)"
    if user is not None and user.locked_until and user.locked_until > now:
        db.session.add(LoginAttempt(ip=ip, email=logged_email, success=False))
        minutes = max(1, int((user.locked_until - now).total_seconds() + 59) // 60)
        raise AuthError(
            f"This account is locked after repeated failed sign-ins. Try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}, or ask an admin to reset the password."
        )
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _dummy(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None
    db.session.add(LoginAttempt(ip=ip, email=logged_email, success=ok and user.active))
    if ok and user is not None and not user.active:
        raise AuthError("This account is deactivated. Ask an admin to reactivate it.")
    if not ok:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
                user.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
                user.failed_logins = 0
        raise AuthError("Wrong email or password.")
    assert user is not None
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


class LastAdminError(AuthError):
    """The change would leave no active admin."""


def _other_active_admins(user: User) -> int:
    ids = db.session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
        .with_for_update()
    ).all()
    return len(ids)


def _guard_last_admin(user: User, actor: User | None, action: str) -> None:
    if user.role == Role.ADMIN and user.active and _other_active_admins(user) == 0:
        who = "yourself" if actor is not None and actor.id == user.id else user.email
        raise LastAdminError(
            f"You cannot {action} {who}: {user.email} is the last active admin. "
            "Make another user an admin first."
        )


def update_user(user: User, *, name: str, role: Role | str, actor: User | None) -> User:
    """Change a user's name and role (flushed); refuses demoting the last active admin."""
    role = Role(role)
    if role != Role.ADMIN:
        _guard_last_admin(user, actor, "demote")
    user.name = (name or "").strip()[:120]
    user.role = role
    db.session.flush()
    return user


def set_active(user: User, active: bool, *, actor: User | None) -> User:
    """Deactivate or reactivate a user (flushed); refuses deactivating the last active admin."""
    if not active:
        _guard_last_admin(user, actor, "deactivate")
    user.active = active
    if active:
        user.failed_logins, user.locked_until = 0, None
    db.session.flush()
    return user


def reset_password(user: User, password: str) -> User:
    """Set a new password (ends the user's other sessions) and lift any lockout."""
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    db.session.flush()
    return user


def active_admin_count() -> int:
    """How many active admins exist."""
    return db.session.scalar(
        select(func.count(User.id)).where(User.role == Role.ADMIN, User.active.is_(True))
    ) or 0
