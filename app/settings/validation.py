"""What may be stored in settings: colours, addresses, logos, and no credentials.

A secret pasted into the wrong box must never reach the database: names that mention a
credential, well-known token shapes, long random-looking strings and the values of the
configured secrets are all refused, with a message that never echoes the value.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from PIL import Image, ImageOps, UnidentifiedImageError

from app.config import SECRET_KEYS

LOGO_MAX_BYTES = 1024 * 1024
#: Most pixels a logo may have on either side.
LOGO_MAX_SIDE = 4096
#: Formats accepted for upload, and how each is stored (PNG stays PNG; JPEG becomes WebP).
LOGO_FORMATS = ("PNG", "JPEG", "WEBP")
LOGO_STORED = {"PNG": ("png", "image/png"), "JPEG": ("webp", "image/webp"),
               "WEBP": ("webp", "image/webp")}
#: Most bytes a re-encoded logo may take.
LOGO_MAX_STORED = 4 * LOGO_MAX_BYTES

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
_PHONE_RE = re.compile(r"\+?[0-9 ().-]+")


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


def configured_secrets() -> list[str]:
    """The values of the configured secrets (refused wherever they appear)."""
    if not has_app_context():
        return []
    return [str(current_app.config.get(k) or "") for k in SECRET_KEYS]


def problem(key: str, value: Any) -> str | None:
    """Why ``value`` may not be stored under ``key``, or None."""
    return key_problem(key) or value_problem(value, configured_secrets())


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


def normalize_phone(raw: str) -> str:
    """A phone number people can dial (digits, spaces, + ( ) - .), or :class:`SettingsError`."""
    raw = " ".join((raw or "").split())
    if not raw:
        return ""
    digits = sum(c.isdigit() for c in raw)
    if len(raw) > 40 or not _PHONE_RE.fullmatch(raw) or not 5 <= digits <= 17:
        raise SettingsError(f"{raw[:40]!r} is not a phone number: use digits, spaces and +, "
                            "for example +1 512 555 0100.", field="agency_phone")
    return raw


def normalize_web_url(raw: str, field: str) -> str:
    """An http(s) address with a host (no credentials), or :class:`SettingsError`."""
    from urllib.parse import urlsplit

    raw = (raw or "").strip()
    if not raw:
        return ""
    if "://" not in raw:
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a bad port, or brackets that hold no IP address
        raise SettingsError(f"{raw[:80]!r} is not a web address: use one such as "
                            "https://youragency.com/book.", field=field) from None
    if (parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc
            or "." not in parts.hostname or not port_ok
            or len(raw) > 500 or any(c.isspace() or ord(c) < 32 for c in raw)):
        raise SettingsError(f"{raw[:80]!r} is not a web address: use one such as "
                            "https://youragency.com/book.", field=field)
    return raw


def normalize_region(raw: str) -> str:
    """A two-letter country code (ISO 3166) that phone numbers can be read in, upper case,
    or "" for none; :class:`SettingsError` otherwise."""
    import phonenumbers  # only settings writes need it

    raw = (raw or "").strip().upper()
    if not raw:
        return ""
    if raw not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingsError(
            f"{raw[:10]!r} is not a country code: use two letters such as US, GB or DE.",
            field="default_region",
        )
    return raw


def clean_logo(data: bytes) -> tuple[bytes, str, str]:
    """Decode an uploaded logo completely and re-encode it: ``(bytes, extension, type)``.

    The stored bytes are ours, never the upload's: a PNG + HTML polyglot (HTML after the
    image data or in a text chunk), metadata and any trailing bytes are dropped. PNG stays
    lossless PNG; JPEG and WebP become WebP. Refused with a message: anything but PNG,
    JPEG or WebP, a truncated or corrupt file, and either side over
    :data:`LOGO_MAX_SIDE` pixels (checked from the header, before decoding).
    """
    if not data:
        raise SettingsError("The logo file is empty.")
    if len(data) > LOGO_MAX_BYTES:
        raise SettingsError(f"The logo is too large: the limit is {LOGO_MAX_BYTES // 1024} KB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                if fmt not in LOGO_FORMATS:
                    raise SettingsError("The logo must be a PNG, JPEG or WebP image "
                                        f"(got {fmt or 'unknown'}).")
                width, height = img.size
                if width > LOGO_MAX_SIDE or height > LOGO_MAX_SIDE:
                    raise SettingsError(
                        f"The logo is too large: {width} × {height} pixels; each side may be "
                        f"at most {LOGO_MAX_SIDE} pixels.")
                img.load()  # every byte of image data: a truncated file fails here
                out = _reencode(ImageOps.exif_transpose(img) or img, fmt)
    except SettingsError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise SettingsError("The logo must be a PNG, JPEG or WebP image, complete and "
                            "undamaged (this one could not be read to the end).") from None
    if len(out) > LOGO_MAX_STORED:
        raise SettingsError("The logo is too large once converted; use a smaller image.")
    ext, content_type = LOGO_STORED[fmt]
    return out, ext, content_type


def _reencode(img: Image.Image, fmt: str) -> bytes:
    """The first frame of ``img`` encoded by Pillow, without metadata."""
    buf = io.BytesIO()
    if fmt == "PNG":
        if img.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            img = img.convert("RGBA")
        img.save(buf, format="PNG", optimize=True)
    else:
        alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
        img = img.convert("RGBA" if alpha else "RGB")
        img.save(buf, format="WEBP", quality=90, method=4)
    return buf.getvalue()
