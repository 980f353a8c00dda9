"""The shape of an API key: ``pf_`` and 43 URL-safe characters (256 random bits).

Only the key's SHA-256 is stored. A header that is not exactly ``Bearer <key>`` is told
what is wrong with it before any query runs.
"""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "pf_"
_KEY = re.compile(r"^pf_[A-Za-z0-9_-]{43}$")
#: Characters of a key kept to tell keys apart in lists (``pf_`` + 6).
SHOWN = 9


class MalformedKey(ValueError):
    """The Authorization header holds no usable key; the message says what is wrong."""


def new_key() -> str:
    """A fresh key: ``pf_`` + ``secrets.token_urlsafe(32)``."""
    return PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """What the database stores for a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def from_header(header: str | None) -> str:
    """The key in an ``Authorization`` header value, or :class:`MalformedKey`."""
    if not header:
        raise MalformedKey("This API needs a key: send the header 'Authorization: Bearer <key>'.")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer":
        raise MalformedKey("Send the key as 'Authorization: Bearer <key>' (no other scheme).")
    if key != key.strip() or any(c.isspace() for c in key):
        raise MalformedKey("The key has spaces or line breaks in or around it: send it exactly "
                           "as it was shown.")
    if not key.startswith(PREFIX):
        raise MalformedKey("This is not a PitchFast API key (keys start with 'pf_').")
    if not _KEY.match(key):
        raise MalformedKey("This API key is malformed (a key is 'pf_' and 43 characters).")
    return key
