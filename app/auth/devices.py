"""Known devices: a signed cookie listing which accounts signed in from this browser.

After a successful sign-in the browser gets (or renews) a cookie signed with the secret
key (itsdangerous): a random device id and the ids of the accounts that signed in from
it. Sign-in throttling per account and per address does not apply to those accounts on
that browser, so an attacker who hammers an account, or shares an address with its owner,
never locks the owner out of their own device. The cookie grants nothing by itself: the
password is still checked, and failures on a known device are throttled under that
device's own key.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

COOKIE = "pitchfast_device"
_SALT = "pitchfast.device.v1"
#: The most accounts one browser remembers (the most recent ones).
MAX_ACCOUNTS = 20


@dataclass(frozen=True)
class Device:
    """A browser that signed in before: its random id and the accounts it signed in to."""

    id: str
    user_ids: tuple[int, ...]

    def knows(self, user_id: int) -> bool:
        """True when ``user_id`` signed in from this browser before."""
        return user_id in self.user_ids


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _max_age(config: Mapping[str, Any]) -> int:
    return int(config["LOGIN_DEVICE_DAYS"]) * 86400


def read(value: str | None) -> Device | None:
    """The device a cookie value names, or None when it is missing, forged, expired or
    malformed."""
    if not value or len(value) > 4096:
        return None
    try:
        data = _serializer().loads(value, max_age=_max_age(current_app.config))
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    device_id, user_ids = data.get("d"), data.get("u")
    if not isinstance(device_id, str) or not 16 <= len(device_id) <= 64:
        return None
    if not isinstance(user_ids, list) or not all(
            isinstance(u, int) and not isinstance(u, bool) for u in user_ids):
        return None
    return Device(device_id, tuple(user_ids[:MAX_ACCOUNTS]))


def remember(device: Device | None, user_id: int) -> Device:
    """``device`` (or a new one) with ``user_id`` added as its most recent account."""
    others = tuple(u for u in (device.user_ids if device else ()) if u != user_id)
    return Device(device.id if device else secrets.token_urlsafe(18),
                  ((user_id,) + others)[:MAX_ACCOUNTS])


def set_cookie(response: Response, device: Device) -> Response:
    """Send ``device`` as the signed cookie (HttpOnly, SameSite=Lax, Secure over HTTPS)."""
    cfg = current_app.config
    value = _serializer().dumps({"d": device.id, "u": list(device.user_ids)})
    response.set_cookie(COOKIE, value, max_age=_max_age(cfg), httponly=True, samesite="Lax",
                        secure=bool(cfg.get("SESSION_COOKIE_SECURE")), path="/")
    return response
