"""Campaign pages: list, create, edit, status moves, overview and live batch progress."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.access import member
from app.blueprints.campaigns.forms import CampaignForm, StatusForm
from app.extensions import db
from app.htmx import render, stop_polling
from app.leads import campaigns as service
from app.models import Campaign, CampaignStatus
from app.models.states import CAMPAIGN_TRANSITIONS

bp = Blueprint("campaigns", __name__)


def get_campaign_or_404(slug: str) -> Campaign:
    """Load a campaign by slug (every member may see every campaign) or 404."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        abort(404)
    return campaign


@bp.get("/")
@member
def index():
    archived = request.args.get("archived") == "1"
    rows = service.list_campaigns(include_archived=archived)
    return render("campaigns/index.html", rows=rows, archived=archived)


@bp.route("/new", methods=["GET", "POST"])
@member
def new():
    form = CampaignForm()
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "name", "slug")}
        try:
            campaign = service.create_campaign(
                form.name.data, form.slug.data or None, created_by_id=current_user.id, **data
            )
        except service.CampaignError as exc:
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Campaign {campaign.name} created. Now import or add leads.", "success")
            return redirect(url_for("campaigns.show", slug=campaign.slug))
    return render(
        "campaigns/form.html", "form", 422 if form.errors else 200, form=form, campaign=None
    )


@bp.get("/<slug>")
@member
def show(slug: str):
    campaign = get_campaign_or_404(slug)
    return render(
        "campaigns/show.html",
        None,
        campaign=campaign,
        stats=service.stats(campaign),
        batches=service.batch_progress(campaign.id),
        status_form=StatusForm(),
        next_statuses=sorted(CAMPAIGN_TRANSITIONS[campaign.status], key=list(CampaignStatus).index),
    )


@bp.get("/<slug>/progress")
@member
def progress(slug: str):
    campaign = get_campaign_or_404(slug)
    batches = service.batch_progress(campaign.id)
    resp = render("campaigns/show.html", "progress", campaign=campaign, batches=batches)
    return stop_polling(resp) if all(b["complete"] for b in batches) else resp


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@member
def edit(slug: str):
    campaign = get_campaign_or_404(slug)
    form = CampaignForm(obj=campaign, campaign_id=campaign.id)
    form.slug.render_kw = {"readonly": True}
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "slug")}
        service.update_campaign(campaign, current_user.id, **data)
        db.session.commit()
        flash("Campaign saved.", "success")
        return redirect(url_for("campaigns.show", slug=campaign.slug))
    return render(
        "campaigns/form.html", "form", 422 if form.errors else 200, form=form, campaign=campaign
    )


@bp.post("/<slug>/status")
@member
def set_status(slug: str):
    campaign = get_campaign_or_404(slug)
    form = StatusForm()
    if not form.validate_on_submit() or form.status.data not in {s.value for s in CampaignStatus}:
        abort(400)
    service.set_status(campaign, CampaignStatus(form.status.data), current_user.id)
    db.session.commit()
    flash(f"Campaign is now {campaign.status.value}.", "success")
    return redirect(url_for("campaigns.show", slug=campaign.slug))
