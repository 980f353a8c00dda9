"""Webhook signing secrets and signatures.

**Secrets.** An endpoint's signing secret must be usable for signing, so it cannot be kept
only as a hash. It is not stored at all: it is *derived* when needed::

    subkey = HMAC-SHA256(SECRET_KEY, "pitchfast/webhook-signing-secret/v1")
    secret = "whsec_" + base64url(HMAC-SHA256(subkey, endpoint.secret_salt))

``secret_salt`` is 256 random bits per endpoint (a new one on every rotation). HMAC-SHA256
is a PRF, so without ``SECRET_KEY`` (instance config only, never in the database) the
salt says nothing about the secret: a leaked database or backup cannot forge deliveries,
and the secret appears in no table and no log. The admin sees it once, when the endpoint is
created or its secret rotated. Changing ``SECRET_KEY`` changes every endpoint's secret:
rotate each endpoint's secret afterwards and hand the new one to its receiver.

**Signatures.** Each attempt sends ``X-PitchFast-Timestamp: <unix seconds>`` and
``X-PitchFast-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``. A receiver
recomputes it over the raw body, compares in constant time and refuses timestamps more
than :data:`TOLERANCE_SECONDS` away from its clock, which bounds replays; the delivery id
(``X-PitchFast-Delivery``) lets it drop duplicates within that window. :func:`verify` is
that check, for receivers written in Python and for the tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SCHEME = "v1"
#: How far a signature's timestamp may be from the receiver's clock (both ways).
TOLERANCE_SECONDS = 300
_CONTEXT = b"pitchfast/webhook-signing-secret/v1"


class SignatureError(ValueError):
    """A signature that must be refused. ``code``: ``missing``, ``malformed``, ``expired``
    (timestamp outside the tolerance: a replay or a wrong clock) or ``mismatch`` (forged,
    the body was changed, or the wrong secret)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def new_salt() -> str:
    """A fresh random salt (256 bits) for an endpoint's secret."""
    return secrets.token_hex(32)


def derive_secret(secret_key: str | bytes, salt: str) -> str:
    """The signing secret of the endpoint whose salt is ``salt`` (see the module doc)."""
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    subkey = hmac.new(key, _CONTEXT, hashlib.sha256).digest()
    raw = hmac.new(subkey, salt.encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-PitchFast-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify(secret: str, body: bytes, timestamp: str | None, signature_header: str | None,
           *, tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> int:
    """Check a delivery as a receiver must; return its timestamp or raise SignatureError.

    ``signature_header`` may hold several comma-separated ``v1=…`` values (any one matching
    is enough), so a receiver can be handed a new secret's signatures side by side later.
    """
    if not timestamp or not signature_header:
        raise SignatureError("missing", "The timestamp or signature header is missing.")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise SignatureError("malformed", "The timestamp is not a number of seconds.")
    sent = int(timestamp)
    if abs((time.time() if now is None else now) - sent) > tolerance:
        raise SignatureError("expired", f"The timestamp is more than {tolerance} s away "
                                        "from now: a replayed or delayed delivery.")
    offered = [part.strip().partition("=") for part in signature_header.split(",")]
    candidates = [value for scheme, sep, value in offered if sep and scheme == SCHEME]
    if not candidates:
        raise SignatureError("malformed", f"No {SCHEME}= signature in the header.")
    if not all(c.isascii() for c in candidates):  # compare_digest refuses non-ASCII str
        raise SignatureError("malformed", "The signature is not hexadecimal.")
    expected = signature(secret, sent, body).partition("=")[2].encode()
    if not any(hmac.compare_digest(expected, c.encode()) for c in candidates):
        raise SignatureError("mismatch", "The signature does not match the body.")
    return sent


def verify_headers(secret: str, body: bytes, headers: Mapping[str, str], *,
                   tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> int:
    """:func:`verify` reading the ``X-PitchFast-*`` headers from ``headers``."""
    lower = {k.lower(): v for k, v in headers.items()}
    return verify(secret, body, lower.get("x-pitchfast-timestamp"),
                  lower.get("x-pitchfast-signature"), tolerance=tolerance, now=now)
