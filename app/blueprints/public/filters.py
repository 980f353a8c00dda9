"""Template globals for the staff share panel (audit page, lead page, campaign page)."""

from __future__ import annotations

from typing import Any

from app.blueprints.public.forms import EXPIRY_CHOICES
from app.blueprints.public.routes import bp
from app.extensions import db
from app.models import Audit
from app.public import queries
from app.public.operations import FINISHED


@bp.app_template_global("public_share")
def public_share(lead_id: int | None) -> dict[str, Any] | None:
    """The lead's public link as the share panel shows it (one indexed query), or None."""
    if lead_id is None:
        return None
    link = queries.link_for_lead(lead_id)
    if link is None:
        return {"link": None, "live": False, "url": None, "expiry_choices": EXPIRY_CHOICES}
    live = queries.is_live(link)
    return {"link": link, "live": live, "url": queries.public_url(link) if live else None,
            "hot": link.first_viewed_at is not None, "expiry_choices": EXPIRY_CHOICES,
            "expired": link.revoked_at is None and link.published_at is not None and not live}


@bp.app_template_global("public_latest_finished")
def public_latest_finished(lead: Any) -> Audit | None:
    """The lead's latest audit if it finished (done or site down): what "Publish" on the
    lead page publishes."""
    audit_id = getattr(lead, "latest_audit_id", None)
    audit = db.session.get(Audit, audit_id) if audit_id else None
    return audit if audit is not None and audit.status in FINISHED else None
