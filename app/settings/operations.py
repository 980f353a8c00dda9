"""Writing settings: one value, the agency profile, the logo (upload and removal).

Every write passes :mod:`app.settings.validation` (nothing that looks like a secret is
stored), flushes without committing, and the operations record their activity with the
actor. A replaced or removed logo file is deleted only once the change commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from app import activity, storage
from app.activity import Actor
from app.extensions import db
from app.models import Setting
from app.models.base import utcnow
from app.settings import queries
from app.settings.validation import (
    SettingsError,
    clean_logo,
    configured_secrets,
    key_problem,
    normalize_colour,
    normalize_phone,
    normalize_region,
    normalize_sender_address,
    normalize_web_url,
    problem,
    value_problem,
)
from app.untrusted import clean_text

LOGO_OWNER = ("setting", 0)


def set_value(key: str, value: Any, *, actor: Actor) -> Setting:
    """Store ``value`` (JSON) under ``key`` (flushed, not committed); the one place a setting
    is written. Records no activity itself: the operations below say what changed.

    Raises :class:`SettingsError` when the key or value looks like a secret.
    """
    why = problem(key, value)
    if why:
        raise SettingsError(why)
    row = db.session.get(Setting, key) or Setting(key=key)
    row.value = value
    row.updated_by_id = actor.user_id
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.flush()
    queries.clear_cache()
    return row


def save_agency(values: Mapping[str, Any], *, actor: Actor) -> dict[str, Any]:
    """Validate and store the agency profile fields; nothing is stored if any is refused."""
    clean = {
        # names lose bidirectional and zero-width controls: the agency name is in the top
        # bar of every page, and a U+202E in it would flip what follows
        "agency_name": clean_text(values.get("agency_name")).strip()[:120],
        "postal_address": clean_text(values.get("postal_address"),
                                     keep_newlines=True).strip()[:500],
        "sender_name": clean_text(values.get("sender_name")).strip()[:120],
        "sender_address": normalize_sender_address(values.get("sender_address") or ""),
        "brand_colour": normalize_colour(values.get("brand_colour") or ""),
        "default_region": normalize_region(values.get("default_region") or ""),
        "agency_phone": normalize_phone(values.get("agency_phone") or ""),
        "agency_email": normalize_sender_address(values.get("agency_email") or ""),
        "website": normalize_web_url(values.get("website") or "", "website"),
        "booking_url": normalize_web_url(values.get("booking_url") or "", "booking_url"),
    }
    secrets = configured_secrets()
    for key, value in clean.items():  # check everything before writing anything
        why = key_problem(key) or value_problem(value, secrets)
        if why:
            raise SettingsError(why, field=key)
    for key, value in clean.items():
        set_value(key, value, actor=actor)
    activity.record(actor, "settings.update", "updated the agency settings",
                    subject=("settings", None))
    return clean


def save_logo(data: bytes, *, actor: Actor) -> str:
    """Decode, re-encode and store a new logo, replacing the old one; return its key."""
    data, ext, content_type = clean_logo(data)  # re-encoded: the stored bytes are ours
    key = f"settings/logo-{hashlib.sha256(data).hexdigest()[:12]}.{ext}"
    old = queries.get("logo_file")
    storage.save(key, data, content_type, owner=LOGO_OWNER)
    set_value("logo_file", key, actor=actor)
    if old and old != key:
        storage.delete_on_commit(old)
    activity.record(actor, "settings.logo", "uploaded a new logo", subject=("settings", None))
    return key


def remove_logo(*, actor: Actor) -> bool:
    """Forget the logo and delete its file after the commit; False when there was none."""
    old = queries.get("logo_file")
    if not old:
        return False
    set_value("logo_file", None, actor=actor)
    storage.delete_on_commit(old)
    activity.record(actor, "settings.logo_removed", "removed the logo",
                    subject=("settings", None))
    return True
