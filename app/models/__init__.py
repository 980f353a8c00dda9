"""All models, importable from one place (``from app.models import Lead``)."""

from app.models.account_link import AccountLink, LinkKind
from app.models.api_key import ApiKey, KeyScope
from app.models.audit import Audit, Finding
from app.models.campaign import Campaign
from app.models.lead import Lead
from app.models.misc import Activity, Setting, StoredFile
from app.models.outreach import (
    BlacklistEntry,
    Outreach,
    OutreachEvent,
    OutreachTemplate,
    TemplateVariant,
)
from app.models.public_link import PublicLink, PublicView
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
from app.models.webhook import DeliveryStatus, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccountLink",
    "Activity",
    "ApiKey",
    "Audit",
    "AuditStatus",
    "BlacklistEntry",
    "BlacklistKind",
    "BlacklistReason",
    "Campaign",
    "CampaignStatus",
    "Finding",
    "InvalidTransition",
    "KeyScope",
    "Lead",
    "LeadStatus",
    "LinkKind",
    "Outreach",
    "OutreachEvent",
    "OutreachStatus",
    "PublicLink",
    "PublicView",
    "OutreachTemplate",
    "RateEvent",
    "Role",
    "Run",
    "RunBatch",
    "RunLog",
    "RunStatus",
    "Setting",
    "StoredFile",
    "TemplateVariant",
    "User",
    "UserSession",
    "DeliveryStatus",
    "WebhookDelivery",
    "WebhookEndpoint",
    "transition",
]
