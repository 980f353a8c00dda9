"""Reading settings: single values, the agency profile, the brand shown on every page,
and which secrets are configured (never their values)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from flask import current_app

from app.config import SECRET_KEYS
from app.extensions import db
from app.models import Setting
from app.settings.validation import SettingsError, normalize_colour

#: The agency profile: key → default.
AGENCY_DEFAULTS: dict[str, Any] = {
    "agency_name": "",
    "postal_address": "",
    "sender_name": "",
    "sender_address": "",
    "brand_colour": "#4f46e5",
    "logo_file": None,
    # ISO 3166 country whose phone numbers audited sites write without +country.
    "default_region": "",
    # Shown to prospects on public audit pages (issue 10): how to reach the agency.
    "agency_phone": "",
    "agency_email": "",
    "website": "",
    "booking_url": "",
}
#: How long a process may show branding without re-reading it (other processes' edits).
CACHE_SECONDS = 30.0
_CACHE = "settings_cache"


def get(key: str, default: Any = None) -> Any:
    """The stored value of ``key``, or ``default`` when unset."""
    row = db.session.get(Setting, key)
    return default if row is None else row.value


def get_many(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Values for several keys in one query, falling back to ``defaults``."""
    rows = db.session.scalars(db.select(Setting).where(Setting.key.in_(list(defaults)))).all()
    found = {r.key: r.value for r in rows}
    return {k: found.get(k, d) for k, d in defaults.items()}


def cached_many(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`get_many` cached per app for :data:`CACHE_SECONDS` (every page shows the
    brand; it changes rarely). A write in this process clears the cache at once."""
    cache: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = (
        current_app.extensions.setdefault(_CACHE, {}))
    key = tuple(sorted(defaults))
    hit = cache.get(key)
    if hit is None or hit[0] < time.monotonic():
        hit = (time.monotonic() + CACHE_SECONDS, get_many(defaults))
        cache[key] = hit
    return dict(hit[1])


def clear_cache() -> None:
    """Forget cached values (after a write in this process)."""
    current_app.extensions.pop(_CACHE, None)


def agency() -> dict[str, Any]:
    """The agency profile with defaults filled in."""
    return get_many(AGENCY_DEFAULTS)


def brand() -> dict[str, Any]:
    """What every page shows in its top bar: the agency ``name`` and the ``logo_file`` key
    (cached, see :func:`cached_many`)."""
    values = cached_many({"agency_name": "", "logo_file": None})
    return {"name": values["agency_name"], "logo_file": values["logo_file"]}


def brand_colour() -> str:
    """The brand colour as ``#rrggbb``: the stored one, or the default when unset or bad."""
    default: str = AGENCY_DEFAULTS["brand_colour"]
    try:
        return normalize_colour(str(get("brand_colour") or default))
    except SettingsError:
        return default


def secret_status(config: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """``[(name, configured)]`` for each secret config key; never the values."""
    return [(name, bool(config.get(name))) for name in SECRET_KEYS]
