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
    MEETING = "meeting"
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
#: Lead statuses only the audit pipeline sets (a run exists behind each).
AUDIT_ONLY_STATUSES = frozenset({L.QUEUED, L.AUDITED, L.AUDIT_FAILED})
#: Lead statuses only outreach sets (drafting and approving an email; not built yet).
OUTREACH_ONLY_STATUSES = frozenset({L.DRAFTED, L.APPROVED})
#: The sales stages: people move a lead between them freely, from any status except
#: the do-not-contact ones.
SALES_STAGES = (L.CONTACTED, L.REPLIED, L.MEETING, L.WON, L.LOST)
#: Do-not-contact statuses: anyone may set them; only an admin may take a lead out.
DO_NOT_CONTACT = frozenset({L.UNSUBSCRIBED, L.BLACKLISTED})


class AdminOnlyTransition(InvalidTransition):
    """A status change only an admin may make (taking a lead off do-not-contact)."""


def refuse_manual_status(status: LeadStatus) -> None:
    """InvalidTransition when a person tries to set a status only the app sets: new (a
    lead just added), the audit statuses, the outreach statuses."""
    label = status.value.replace("_", " ")
    if status == LeadStatus.NEW:
        raise InvalidTransition(
            "Leads are new from when they are added until their first audit; they cannot "
            "be moved back to new by hand."
        )
    if status in AUDIT_ONLY_STATUSES:
        raise InvalidTransition(
            f"Leads become {label} through audits, not by hand: use Audit instead."
        )
    if status in OUTREACH_ONLY_STATUSES:
        raise InvalidTransition(
            f"Leads become {label} through outreach (an email drafted and approved), "
            "not by hand."
        )


def check_manual_move(old: LeadStatus, new: LeadStatus, *, admin: bool) -> None:
    """The one guard for a person moving a lead from ``old`` to ``new``: audit and
    outreach statuses are refused, leaving do-not-contact needs an admin
    (:class:`AdminOnlyTransition`), and the state machine must allow the move."""
    refuse_manual_status(new)
    if old in DO_NOT_CONTACT and new not in DO_NOT_CONTACT and not admin:
        raise AdminOnlyTransition(
            f"This lead is {old.value} (do not contact): only an admin can take it off "
            "the do-not-contact list."
        )
    if not can_transition(old, new):
        allowed = ", ".join(s.value for s in manual_targets(old, admin=True)) or "none"
        raise InvalidTransition(
            f"Cannot move lead from {old.value} to {new.value} (allowed from {old.value}: "
            f"{allowed})."
        )


def manual_targets(old: LeadStatus, *, admin: bool) -> list[LeadStatus]:
    """Statuses a person may move a lead in ``old`` to (``old`` itself left out), in
    pipeline order: what :func:`check_manual_move` lets through."""
    by_hand = [s for s in LeadStatus if s != LeadStatus.NEW
               and s not in AUDIT_ONLY_STATUSES and s not in OUTREACH_ONLY_STATUSES]
    if old in DO_NOT_CONTACT and not admin:
        by_hand = [s for s in by_hand if s in DO_NOT_CONTACT]
    return [s for s in by_hand if s != old and can_transition(old, s)]


_FREE = set(SALES_STAGES) | DO_NOT_CONTACT
LEAD_TRANSITIONS: dict[Any, set[Any]] = {
    # the audit pipeline
    L.NEW: {L.QUEUED},
    L.QUEUED: {L.AUDITED, L.AUDIT_FAILED, L.NEW},
    L.AUDITED: {L.QUEUED, L.DRAFTED},
    L.AUDIT_FAILED: {L.QUEUED},
    # outreach
    L.DRAFTED: {L.APPROVED, L.AUDITED, L.QUEUED},
    L.APPROVED: {L.CONTACTED, L.DRAFTED},
    # the sales stages
    **{stage: set() for stage in SALES_STAGES},
    # off do-not-contact (admins only, see check_manual_move): back to what the audits
    # say, or a sales stage
    L.UNSUBSCRIBED: {L.NEW, L.AUDITED, L.AUDIT_FAILED, *SALES_STAGES},
    L.BLACKLISTED: {L.NEW, L.AUDITED, L.AUDIT_FAILED, *SALES_STAGES},
}
for _old, _targets in LEAD_TRANSITIONS.items():
    _targets |= _FREE - {_old}

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
    # delivery: back to approved when sending is off or paused; failed when retries ran
    # out; sending → queued only when the server surely did not take the message.
    OS.QUEUED: {OS.SENDING, OS.CANCELED, OS.APPROVED, OS.FAILED},
    OS.SENDING: {OS.SENT, OS.FAILED, OS.UNKNOWN, OS.QUEUED},
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
