"""Agency settings: non-secret metadata stored as key → JSON in the ``settings`` table.

Secrets (SMTP password, API keys, the Flask secret key …) live only in instance
config or the environment. :func:`set_value` refuses any key or value that looks
like a credential, so a secret pasted into the wrong box never reaches the
database. :func:`secret_status` tells the settings page which secrets are
configured without ever returning their values.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from email_validator import EmailNotValidError, validate_email
from PIL import Image, UnidentifiedImageError

from app.config import SECRET_KEYS
from app.extensions import db
from app.models import Setting
from app.models.base import utcnow

#: The agency profile: key → default.
AGENCY_DEFAULTS: dict[str, Any] = {
    "agency_name": "",
    "postal_address": "",
    "sender_name": "",
    "sender_address": "",
    "brand_colour": "#4f46e5",
    "logo_file": None,
}
LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_PIXELS = 4096 * 4096
LOGO_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"),
                "WEBP": ("webp", "image/webp")}
LOGO_OWNER = ("setting", 0)

_KEY_RE = re.compile(r"^[a-z][a-z0-9_.]{0,79}$")
#: Words that make a key look like it names a credential.
_SECRET_WORDS = {
    "password", "passwd", "pwd", "pass", "secret", "secrets", "token", "tokens", "key", "keys",
    "apikey", "credential", "credentials", "dkim", "private", "auth", "bearer", "cookie",
    "signature", "salt", "otp", "totp",
}
_SECRET_SUBSTRINGS = ("password", "secret", "token", "apikey", "api_key", "credential",
                      "dkim", "smtp_pass", "private_key", "access_key", "passphrase")
#: Well-known credential shapes (Stripe, AWS, Slack, GitHub, GitLab, Google, SendGrid, JWT …).
_SECRET_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
    re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}"),
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bglpat-[A-Za-z0-9_-]{16,}"),
    re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"),
    re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}"),
    re.compile(r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|token)\s*[:=]\s*\S{4,}"),
)
_TOKEN_RE = re.compile(r"[A-Za-z0-9+/=_-]{20,}")
_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class SettingsError(ValueError):
    """A settings key or value was refused; the message says why, never echoing a secret.

    ``field`` names the refused setting when one is to blame.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_random(token: str) -> bool:
    has_digit = any(c.isdigit() for c in token)
    has_alpha = any(c.isalpha() for c in token)
    if not (has_digit and has_alpha):
        return False
    if len(token) >= 32 and _entropy(token) >= 3.5:
        return True
    longest = max(re.split(r"[-_/+=]", token), key=len)
    return len(longest) >= 20 and _entropy(longest) >= 3.5


def key_problem(key: str) -> str | None:
    """Why ``key`` may not be stored, or None."""
    if not isinstance(key, str) or not _KEY_RE.match(key):
        return "Setting names are lower-case letters, digits, '_' or '.' (at most 80)."
    words = set(re.split(r"[_.]", key))
    if words & _SECRET_WORDS or any(s in key for s in _SECRET_SUBSTRINGS):
        return (f"{key!r} looks like the name of a secret. Secrets belong in instance/config.py "
                "or PITCHFAST_* environment variables, never in settings.")
    return None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def value_problem(value: Any, known_secrets: Iterable[str] = ()) -> str | None:
    """Why ``value`` may not be stored (it looks like a credential), or None."""
    refuse = ("This value looks like a secret (a key, token or password), so it was not saved. "
              "Put secrets in instance/config.py or PITCHFAST_* environment variables.")
    known = [s for s in known_secrets if s and len(s) >= 6]
    for text in _strings(value):
        if any(s in text for s in known):
            return refuse
        if any(p.search(text) for p in _SECRET_PATTERNS):
            return refuse
        if any(_looks_random(t) for t in _TOKEN_RE.findall(text)):
            return refuse
    return None


def _configured_secrets() -> list[str]:
    from flask import current_app, has_app_context

    if not has_app_context():
        return []
    return [str(current_app.config.get(k) or "") for k in SECRET_KEYS]


def get(key: str, default: Any = None) -> Any:
    """The stored value of ``key``, or ``default`` when unset."""
    row = db.session.get(Setting, key)
    return default if row is None else row.value


def get_many(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Values for several keys in one query, falling back to ``defaults``."""
    rows = db.session.scalars(db.select(Setting).where(Setting.key.in_(list(defaults)))).all()
    found = {r.key: r.value for r in rows}
    return {k: found.get(k, d) for k, d in defaults.items()}


#: How long a process may show branding without re-reading it (other processes' edits).
CACHE_SECONDS = 30.0


def cached_many(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`get_many` cached per app for :data:`CACHE_SECONDS` (pages read branding on
    every render; it changes rarely). A write in this process clears the cache at once."""
    import time

    from flask import current_app

    cache = current_app.extensions.setdefault("settings_cache", {})
    key = tuple(sorted(defaults))
    hit = cache.get(key)
    if hit is None or hit[0] < time.monotonic():
        hit = (time.monotonic() + CACHE_SECONDS, get_many(defaults))
        cache[key] = hit
    return dict(hit[1])


def set_value(key: str, value: Any, user_id: int | None) -> Setting:
    """Store ``value`` (JSON) under ``key`` (flushed, not committed).

    Raises :class:`SettingsError` when the key or value looks like a secret.
    """
    problem = key_problem(key) or value_problem(value, _configured_secrets())
    if problem:
        raise SettingsError(problem)
    row = db.session.get(Setting, key) or Setting(key=key)
    row.value = value
    row.updated_by_id = user_id
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.flush()
    from flask import current_app

    current_app.extensions.pop("settings_cache", None)
    return row


def agency() -> dict[str, Any]:
    """The agency profile with defaults filled in."""
    return get_many(AGENCY_DEFAULTS)


def normalize_colour(raw: str) -> str:
    """``#rrggbb`` in lower case, or :class:`SettingsError`."""
    raw = (raw or "").strip()
    if not _COLOUR_RE.match(raw):
        raise SettingsError(f"{raw!r} is not a colour: use #rrggbb, for example #4f46e5.")
    return raw.lower()


def normalize_sender_address(raw: str) -> str:
    """A syntactically valid email address (no DNS lookup), or :class:`SettingsError`."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise SettingsError(f"{raw!r} is not a valid email address: {exc}") from None


def save_agency(values: Mapping[str, Any], user_id: int | None) -> dict[str, Any]:
    """Validate and store the agency profile fields; nothing is stored if any is refused."""
    clean = {
        "agency_name": str(values.get("agency_name") or "").strip()[:120],
        "postal_address": str(values.get("postal_address") or "").strip()[:500],
        "sender_name": str(values.get("sender_name") or "").strip()[:120],
        "sender_address": normalize_sender_address(values.get("sender_address") or ""),
        "brand_colour": normalize_colour(values.get("brand_colour") or ""),
    }
    for key, value in clean.items():  # check everything before writing anything
        problem = key_problem(key) or value_problem(value, _configured_secrets())
        if problem:
            raise SettingsError(problem, field=key)
    for key, value in clean.items():
        set_value(key, value, user_id)
    return clean


def check_logo(data: bytes) -> tuple[str, str]:
    """Verify an uploaded logo with Pillow; return ``(extension, content_type)``."""
    if not data:
        raise SettingsError("The logo file is empty.")
    if len(data) > LOGO_MAX_BYTES:
        raise SettingsError(f"The logo is too large: the limit is {LOGO_MAX_BYTES // 1024} KB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                width, height = img.size
                img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise SettingsError("The logo must be a PNG, JPEG or WebP image.") from None
    if fmt not in LOGO_FORMATS:
        raise SettingsError(f"The logo must be a PNG, JPEG or WebP image (got {fmt or 'unknown'}).")
    if width * height > LOGO_MAX_PIXELS:
        raise SettingsError("The logo is too large: at most 4096 × 4096 pixels.")
    return LOGO_FORMATS[fmt]


def save_logo(data: bytes, user_id: int | None) -> str:
    """Verify and store a new logo, replacing the old one; return its storage key."""
    from app import storage

    ext, content_type = check_logo(data)
    key = f"settings/logo-{hashlib.sha256(data).hexdigest()[:12]}.{ext}"
    old = get("logo_file")
    storage.save(key, data, content_type, owner=LOGO_OWNER)
    set_value("logo_file", key, user_id)
    if old and old != key:
        storage.delete_on_commit(old)
    return key


def remove_logo(user_id: int | None) -> None:
    """Forget the logo and delete its file."""
    from app import storage

    old = get("logo_file")
    set_value("logo_file", None, user_id)
    if old:
        storage.delete_on_commit(old)


def secret_status(config: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """``[(name, configured)]`` for each secret config key; never the values."""
    return [(name, bool(config.get(name))) for name in SECRET_KEYS]
