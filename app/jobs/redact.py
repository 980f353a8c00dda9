"""Strip secrets and credentials from text that goes into run errors and logs."""

from __future__ import annotations

import re

from flask import current_app, has_app_context

from app.config import SECRET_KEYS

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]+(:[^/@\s]*)?@", re.I)
_KEY_VALUE = re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)\b(\s*[=:]\s*)\S+")


def redact(text: str) -> str:
    """Remove configured secret values, URL credentials and ``password=…`` pairs."""
    text = _URL_CREDENTIALS.sub(r"\g<scheme>***@", str(text))
    text = _KEY_VALUE.sub(r"\1\2***", text)
    if has_app_context():
        for key in SECRET_KEYS:
            value = current_app.config.get(key)
            if value and len(str(value)) >= 6:
                text = text.replace(str(value), "***")
    return text
