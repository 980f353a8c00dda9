"""Opaque list cursors: what a list needs to continue (a position) and which list it
belongs to (a fingerprint of its filter), signed with the app's secret key. A cursor that
was tampered with, belongs to another list or filter, or is not one at all is a 400."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from app.blueprints.api.spec import ApiError

_SALT = "pitchfast-api-cursor-v1"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def fingerprint(listing: str, filters: dict[str, Any]) -> str:
    raw = json.dumps([listing, filters], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode(listing: str, filters: dict[str, Any], position: Any) -> str:
    return str(_serializer().dumps({"l": fingerprint(listing, filters), "p": position}))


def decode(token: str | None, listing: str, filters: dict[str, Any]) -> Any:
    """The position in ``token``, None without one, or a 400 :class:`ApiError`."""
    if not token:
        return None
    try:
        data = _serializer().loads(token)
    except BadSignature:
        raise ApiError(400, "invalid_cursor", "This cursor is not valid: pass back the "
                                              "next_cursor of a page unchanged.") from None
    if not isinstance(data, dict) or data.get("l") != fingerprint(listing, filters):
        raise ApiError(400, "invalid_cursor", "This cursor belongs to another list or other "
                                              "filters: start again without a cursor.")
    return data.get("p")
