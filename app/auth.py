"""Users: password hashing (Argon2id), creation, sign-in with throttling."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from app.extensions import db
from app.models import LoginAttempt, Role, User
from app.models.base import utcnow

_hasher = PasswordHasher()
#: Verified against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")
MIN_PASSWORD = 10


class AuthError(ValueError):
    """A sign-in or account problem with a message safe to show."""


def load_user(user_id: str) -> User | None:
    """Flask-Login user loader."""
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


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
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), role=Role(role))
    db.session.add(user)
    db.session.flush()
    return user


def has_users() -> bool:
    """True once any account exists (first-run setup is offered until then)."""
    return db.session.scalar(select(User.id).limit(1)) is not None


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
    if user is not None and user.locked_until and user.locked_until > now:
        db.session.add(LoginAttempt(ip=ip, email=email_key, success=False))
        raise AuthError("This account is locked after repeated failures. Try again later.")
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active
    db.session.add(LoginAttempt(ip=ip, email=email_key, success=ok))
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
