"""Staff side of public pages: preview the exact page, publish, revoke, rotate, and
publish every finished audit of a campaign. Members only; each one operation + commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app import storage
from app.access import is_safe_next, member
from app.activity import Actor
from app.audits.queries import get_audit_or_404
from app.blueprints.public.forms import LinkActionForm, PublishForm
from app.blueprints.public.routes import bp, render_page
from app.campaigns.queries import get_campaign_or_404
from app.extensions import db
from app.leads.queries import get_lead_or_404
from app.models import Campaign, Lead, PublicLink
from app.models.base import utcnow
from app.public import operations, queries

EXPIRED_FORM = "The form expired; reload the page and try again."


def _back(form: LinkActionForm | PublishForm, default: str) -> ResponseReturnValue:
    target = form.next.data
    return redirect(target if is_safe_next(target) else default)


@bp.get("/audits/<int:audit_id>/preview")
@member
def preview(audit_id: int) -> ResponseReturnValue:
    """The page exactly as the prospect would see it if this audit were published now."""
    audit = get_audit_or_404(audit_id)
    lead = db.session.get(Lead, audit.lead_id) if audit.lead_id else None
    if lead is None or audit.status not in operations.FINISHED:
        abort(404)
    campaign = db.session.get(Campaign, lead.campaign_id)
    draft = PublicLink(lead_id=lead.id, audit_id=audit.id, version=0, frozen={
        "business_name": lead.business_name,
        "peers": operations.compare(audit, lead, campaign.niche if campaign else "",
                                    operations.campaign_peers(lead.campaign_id))})
    view = queries.page_view(draft)
    if view is None:
        abort(404)
    keys = {name: str(meta["key"]) for name, meta in queries.shot_metas(audit).items()}
    agency = queries.agency_profile()
    return render_page(view, image=lambda name: storage.url(keys[name]) if name in keys else "",
                       logo=storage.url(agency["logo_file"]) if agency["has_logo"] else None,
                       pdf=None, preview=True)


@bp.post("/audits/<int:audit_id>/publish")
@member
def publish(audit_id: int) -> ResponseReturnValue:
    audit = get_audit_or_404(audit_id)
    form = PublishForm()
    if not form.validate_on_submit():
        flash(EXPIRED_FORM, "error")
    else:
        days = int(form.expires.data) if form.expires.data else None
        expires = utcnow() + timedelta(days=days) if days else None
        try:
            operations.publish(audit, actor=Actor.of_user(current_user), expires_at=expires)
        except ValueError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash("Published. Copy the link below and send it to the prospect.", "success")
    return _back(form, url_for("audits.show", audit_id=audit.id))


def _link_or_404(lead_id: int) -> tuple[Lead, PublicLink]:
    lead = get_lead_or_404(lead_id)
    link = queries.link_for_lead(lead.id)
    if link is None:
        abort(404)
    return lead, link


def _link_action(lead_id: int, act: Callable[..., object], done: str) -> ResponseReturnValue:
    """Revoke or rotate the lead's link (one form, one commit, one message)."""
    lead, link = _link_or_404(lead_id)
    form = LinkActionForm()
    if form.validate_on_submit():
        act(link, actor=Actor.of_user(current_user))
        db.session.commit()
        flash(done, "success")
    else:
        flash(EXPIRED_FORM, "error")
    return _back(form, url_for("leads.show", lead_id=lead.id))


@bp.post("/leads/<int:lead_id>/public/revoke")
@member
def revoke(lead_id: int) -> ResponseReturnValue:
    return _link_action(lead_id, operations.revoke,
                        "Link revoked: the page, its images and its PDF no longer open.")


@bp.post("/leads/<int:lead_id>/public/rotate")
@member
def rotate(lead_id: int) -> ResponseReturnValue:
    return _link_action(lead_id, operations.rotate,
                        "New link made; the old one no longer opens.")


@bp.post("/campaigns/<slug>/publish-finished")
@member
def publish_finished(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form = LinkActionForm()
    if form.validate_on_submit():
        count = operations.publish_finished(campaign, actor=Actor.of_user(current_user))
        db.session.commit()
        flash(f"Published {count} audit page{'s' if count != 1 else ''}." if count else
              "Nothing to publish: every finished audit is already published, or its "
              "link was revoked (publish that one from its audit).", "success")
    else:
        flash(EXPIRED_FORM, "error")
    return _back(form, url_for("campaigns.show", slug=campaign.slug))
