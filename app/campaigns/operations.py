"""Campaigns: create, edit, change status (archiving and restoring: admins only).

Every function takes the :class:`~app.activity.Actor` who acts, flushes, records the
activity and never commits: the route, command or job that called it commits.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from app import activity
from app.activity import Actor
from app.campaigns.queries import slug_taken
from app.extensions import db
from app.models import Campaign, CampaignStatus, transition
from app.untrusted import clean_text
from app.users.queries import acts_as_admin

#: Fields that are names, shown in lists and headings.
NAMES = ("name", "niche", "sender_name")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EDITABLE = (
    "name",
    "niche",
    "sender_name",
    "sender_email",
    "email_subject_template",
    "email_body_template",
)


class CampaignError(ValueError):
    """A campaign cannot be created or changed as asked; the message says why."""


class NotAllowed(PermissionError):
    """The actor's role may not do this; the message says who may."""


def slugify(text: str) -> str:
    """ASCII, lower-case, hyphenated slug of ``text`` (at most 80 characters)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-") or "campaign"


def create_campaign(
    name: str, slug: str | None = None, *, actor: Actor, **fields: Any
) -> Campaign:
    """Add a draft campaign. Without ``slug`` one is derived from the name (made unique)."""
    name = _clean("name", name)
    if not name:
        raise CampaignError("A campaign needs a name.")
    if slug:
        slug = slug.strip().lower()
        if not SLUG_RE.match(slug) or len(slug) > 80:
            raise CampaignError("The slug may only contain a-z, 0-9 and single hyphens (max 80).")
        if slug_taken(slug):
            raise CampaignError(f"The slug {slug!r} is already used by another campaign.")
    else:
        base = slug = slugify(name)
        n = 2
        while slug_taken(slug):
            slug, n = f"{base[:74]}-{n}", n + 1
    campaign = Campaign(
        name=name[:200], slug=slug, status=CampaignStatus.DRAFT, created_by_id=actor.user_id
    )
    for key in EDITABLE[1:]:
        setattr(campaign, key, _clean(key, fields.get(key)))
    db.session.add(campaign)
    db.session.flush()
    _record(actor, "campaign.create", f"created campaign {campaign.name}", campaign)
    return campaign


def _clean(key: str, value: object) -> str:
    """A field as stored: names lose bidirectional, zero-width and control characters
    (a name ending in ``\u202egnp.exe`` would show as "exe.png"); templates are kept."""
    if key in NAMES:
        return clean_text(value).strip()
    return str(value or "").strip()


def update_campaign(campaign: Campaign, *, actor: Actor, **fields: Any) -> Campaign:
    """Change a campaign's editable fields."""
    values = {k: _clean(k, fields[k]) for k in EDITABLE if fields.get(k) is not None}
    if "name" in values and not values["name"]:
        raise CampaignError("A campaign needs a name.")
    for key, value in values.items():
        setattr(campaign, key, value)
    db.session.flush()
    _record(actor, "campaign.edit", f"edited campaign {campaign.name}", campaign)
    return campaign


def set_status(campaign: Campaign, status: CampaignStatus, *, actor: Actor) -> None:
    """Move a campaign through its state machine (InvalidTransition when not allowed);
    archiving and restoring an archived campaign are for admins (:class:`NotAllowed`)."""
    archived = CampaignStatus.ARCHIVED
    if archived in (status, campaign.status) and status != campaign.status:
        if not acts_as_admin(actor):
            what = "archive a" if status == archived else "restore an archived"
            raise NotAllowed(f"Only an admin can {what} campaign.")
    transition(campaign, status)
    db.session.flush()
    _record(
        actor, f"campaign.{status.value}", f"set campaign {campaign.name} to {status.value}",
        campaign,
    )


def _record(actor: Actor, verb: str, summary: str, campaign: Campaign) -> None:
    activity.record(
        actor, verb, summary, subject=("campaign", campaign.id), campaign_id=campaign.id
    )
