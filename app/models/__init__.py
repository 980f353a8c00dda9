"""All models, importable from one place (``from app.models import Lead``)."""

from app.models.account_link import AccountLink, LinkKind
from app.models.audit import Audit, Finding
from app.models.campaign import Campaign
from app.models.lead import Lead
from app.models.misc import Activity, Setting, StoredFile
from app.models.outreach import BlacklistEntry, Outreach
from app.models.ratelimit import RateEvent
from app.models.run import Run, RunBatch, RunLog
from app.models.session import UserSession
from app.models.states import (
    AuditStatus,
    BlacklistKind,
    BlacklistReason,
    CampaignStatus,
    InvalidTransition,
    LeadStatus,
    OutreachStatus,
    Role,
    RunStatus,
    transition,
)
from app.models.user import User

__all__ = [
    "AccountLink",
    "Activity",
    "Audit",
    "AuditStatus",
    "BlacklistEntry",
    "BlacklistKind",
    "BlacklistReason",
    "Campaign",
    "CampaignStatus",
    "Finding",
    "InvalidTransition",
    "Lead",
    "LeadStatus",
    "LinkKind",
    "Outreach",
    "OutreachStatus",
    "RateEvent",
    "Role",
    "Run",
    "RunBatch",
    "RunLog",
    "RunStatus",
    "Setting",
    "StoredFile",
    "User",
    "UserSession",
    "transition",
]
