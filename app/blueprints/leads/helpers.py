"""Loading leads and reading the filter from the URL."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.blueprints.leads.forms import FilterForm
from app.extensions import db
from app.leads.search import DEFAULT_SORT, LeadFilter
from app.models import Campaign, Lead, LeadStatus

_STATUSES = {s.value for s in LeadStatus}


def get_lead_or_404(lead_id: int) -> Lead:
    """Load a lead (every member may see every lead) or 404."""
    lead = db.session.scalar(select(Lead).where(Lead.id == lead_id))
    if lead is None:
        abort(404)
    return lead


def lead_campaign(lead: Lead) -> Campaign:
    """The campaign a lead belongs to (404 if it vanished)."""
    campaign = db.session.get(Campaign, lead.campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def filter_from(args: MultiDict) -> tuple[FilterForm, LeadFilter]:
    """The filter form bound to the URL, and the filter it describes (invalid parts dropped)."""
    form = FilterForm(formdata=args)
    form.validate()
    ok = lambda name: not getattr(form, name).errors  # noqa: E731
    f = LeadFilter(
        q=(form.q.data or "").strip() if ok("q") else "",
        statuses=[s for s in form.status.data or [] if s in _STATUSES] if ok("status") else [],
        score_min=form.score_min.data if ok("score_min") else None,
        score_max=form.score_max.data if ok("score_max") else None,
        audited=form.audited.data or "" if ok("audited") else "",
        city=(form.city.data or "").strip() if ok("city") else "",
        has_email=form.has_email.data or "" if ok("has_email") else "",
        sort=form.sort.data or DEFAULT_SORT if ok("sort") else DEFAULT_SORT,
    )
    return form, f
