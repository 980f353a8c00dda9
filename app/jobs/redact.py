"""Strip secrets and credentials from text that goes into run errors and logs."""

from __future__ import annotations

import re

from flask import current_app, has_app_context

from app.config import SECRET_KEYS
from app.untrusted import mask_urls

#: ``password=…``, ``SMTP_PASSWORD: …``, ``"api_key": "…"``, ``token=…`` pairs.
_KEY_VALUE = re.compile(
    r"(?i)(?P<key>[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)"
    r"[a-z0-9_.-]*[\"']?)(?P<sep>\s*[=:]\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)
#: ``Authorization: Bearer …`` / ``Basic …`` credentials.
_AUTH_HEADER = re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]{8,}")
MASK = "***"


def redact(text: object) -> str:
    """Remove configured secret values, URL credentials and ``password=…`` pairs."""
    out = mask_urls(str(text))
    out = _KEY_VALUE.sub(rf"\g<key>\g<sep>{MASK}", out)
    out = _AUTH_HEADER.sub(rf"\1 {MASK}", out)
    if has_app_context():
        for key in SECRET_KEYS:
            value = current_app.config.get(key)
            if value and len(str(value)) >= 6:
                out = out.replace(str(value), MASK)
    return out

