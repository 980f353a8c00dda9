"""Status enums and their allowed transitions, checked in one place."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class InvalidTransition(ValueError):
    """A status change that the state machine does not allow."""


class LeadStatus(enum.StrEnum):
    NEW = "new"
    QUEUED = "queued"
    AUDITED = "audited"
    AUDIT_FAILED = "audit_failed"
    DRAFTED = "drafted"
    APPROVED = "approved"
    CONTACTED = "contacted"
    REPLIED = "replied"
    WON = "won"
    LOST = "lost"
    UNSUBSCRIBED = "unsubscribed"
    BLACKLISTED = "blacklisted"


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class RunStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD = "dead"
    CANCELED = "canceled"


class AuditStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # Finished: the site is broken for every visitor (no score; see audits.results).
    SITE_DOWN = "site_down"


class OutreachStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"


class Role(enum.StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class BlacklistKind(enum.StrEnum):
    EMAIL = "email"
    DOMAIN = "domain"


class BlacklistReason(enum.StrEnum):
    MANUAL = "manual"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINT = "complaint"


L = LeadStatus
_LEAD_ANYWHERE = {L.UNSUBSCRIBED, L.BLACKLISTED}
#: Lead statuses only the audit pipeline sets (a run exists behind each); people move
#: leads to the others.
AUDIT_ONLY_STATUSES = frozenset({LeadStatus.QUEUED, LeadStatus.AUDITED, LeadStatus.AUDIT_FAILED})


def refuse_manual_status(status: LeadStatus) -> None:
    """InvalidTransition when a person tries to set a status only audits set."""
    if status in AUDIT_ONLY_STATUSES:
        raise InvalidTransition(
            f"Leads become {status.value.replace('_', ' ')} through audits, not by hand: "
            "use Audit instead."
        )


LEAD_TRANSITIONS: dict[Any, set[Any]] = {
    L.NEW: {L.QUEUED, L.LOST},
    L.QUEUED: {L.AUDITED, L.AUDIT_FAILED, L.NEW},
    L.AUDITED: {L.QUEUED, L.DRAFTED, L.LOST},
    L.AUDIT_FAILED: {L.QUEUED, L.LOST},
    L.DRAFTED: {L.APPROVED, L.AUDITED, L.QUEUED, L.LOST},
    L.APPROVED: {L.CONTACTED, L.DRAFTED, L.LOST},
    L.CONTACTED: {L.REPLIED, L.WON, L.LOST},
    L.REPLIED: {L.WON, L.LOST},
    L.WON: {L.LOST},
    L.LOST: {L.NEW},
    L.UNSUBSCRIBED: set(),
    L.BLACKLISTED: set(),
}
for _targets in LEAD_TRANSITIONS.values():
    _targets |= _LEAD_ANYWHERE

C = CampaignStatus
CAMPAIGN_TRANSITIONS: dict[Any, set[Any]] = {
    C.DRAFT: {C.ACTIVE, C.ARCHIVED},
    C.ACTIVE: {C.PAUSED, C.ARCHIVED},
    C.PAUSED: {C.ACTIVE, C.ARCHIVED},
    C.ARCHIVED: {C.ACTIVE},
}

R = RunStatus
RUN_TRANSITIONS: dict[Any, set[Any]] = {
    R.PENDING: {R.RUNNING, R.CANCELED, R.DEAD},
    R.RUNNING: {R.SUCCEEDED, R.FAILED, R.DEAD, R.PENDING, R.CANCELED},
    R.SUCCEEDED: set(),
    R.FAILED: {R.PENDING},  # manual retry
    R.DEAD: {R.PENDING},  # manual retry
    R.CANCELED: {R.PENDING},
}

OS = OutreachStatus
OUTREACH_TRANSITIONS: dict[Any, set[Any]] = {
    OS.DRAFT: {OS.PENDING_APPROVAL, OS.CANCELED},
    OS.PENDING_APPROVAL: {OS.APPROVED, OS.DRAFT, OS.CANCELED},
    OS.APPROVED: {OS.QUEUED, OS.DRAFT, OS.CANCELED},
    OS.QUEUED: {OS.SENDING, OS.CANCELED},
    OS.SENDING: {OS.SENT, OS.FAILED, OS.UNKNOWN},
    OS.FAILED: {OS.QUEUED, OS.CANCELED},
    OS.UNKNOWN: {OS.SENT, OS.FAILED},
    OS.SENT: set(),
    OS.CANCELED: set(),
}

MACHINES: Mapping[type, dict[Any, set[Any]]] = {
    LeadStatus: LEAD_TRANSITIONS,
    CampaignStatus: CAMPAIGN_TRANSITIONS,
    RunStatus: RUN_TRANSITIONS,
    OutreachStatus: OUTREACH_TRANSITIONS,
}


def can_transition(old: enum.StrEnum, new: enum.StrEnum) -> bool:
    """True when ``old -> new`` is allowed (staying put is always allowed)."""
    return old == new or new in MACHINES[type(new)].get(old, set())


def transition(obj: Any, new: enum.StrEnum, field: str = "status") -> None:
    """Set ``obj.<field>`` to ``new`` or raise :class:`InvalidTransition` with a clear message."""
    old = getattr(obj, field)
    enum_cls = type(new)
    old = enum_cls(old) if old is not None else None
    if old is not None and not can_transition(old, new):
        allowed = ", ".join(sorted(s.value for s in MACHINES[enum_cls].get(old, set()))) or "none"
        raise InvalidTransition(
            f"Cannot move {type(obj).__name__.lower()} from {old.value} to {new.value} "
            f"(allowed from {old.value}: {allowed})."
        )
    setattr(obj, field, new)
