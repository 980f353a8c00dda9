"""Campaign pages: list, create, edit, status moves, overview and live batch progress."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from jinja2_fragments.flask import render_blocks

from app.access import member
from app.activity import Actor
from app.blueprints.campaigns.forms import CampaignForm, StatusForm
from app.campaigns import operations, queries
from app.campaigns.queries import get_campaign_or_404
from app.edge import bounded_int
from app.extensions import db
from app.htmx import is_htmx, render, stop_polling, vary
from app.models import CampaignStatus
from app.models.states import CAMPAIGN_TRANSITIONS

bp = Blueprint("campaigns", __name__)


@bp.get("/")
@member
def index() -> ResponseReturnValue:
    archived = request.args.get("archived") == "1"
    page = queries.campaign_page(include_archived=archived, before=bounded_int("before", low=1),
                                 after=bounded_int("after", low=0))
    return render("campaigns/index.html", rows=page.rows, page=page, archived=archived)


@bp.route("/new", methods=["GET", "POST"])
@member
def new() -> ResponseReturnValue:
    form = CampaignForm()
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "name", "slug")}
        try:
            campaign = operations.create_campaign(
                form.name.data, form.slug.data or None, actor=Actor.of_user(current_user), **data
            )
        except operations.CampaignError as exc:
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
def show(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    moves = sorted(CAMPAIGN_TRANSITIONS[campaign.status], key=list(CampaignStatus).index)
    if not current_user.is_admin:  # archiving and restoring are for admins (checked again)
        moves = [] if campaign.status == CampaignStatus.ARCHIVED else [
            s for s in moves if s != CampaignStatus.ARCHIVED]
    return render(
        "campaigns/show.html",
        None,
        campaign=campaign,
        batches=queries.batch_progress(campaign.id),  # before the stats: see progress()
        stats=queries.stats(campaign),
        status_form=StatusForm(),
        next_statuses=moves,
    )


@bp.get("/<slug>/progress")
@member
def progress(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    if not is_htmx():
        # The progress block only exists inside the campaign page: show that page.
        return redirect(url_for("campaigns.show", slug=campaign.slug), 303)
    # The bar and, out of band, the figures that count the same leads (stats, score
    # chart), in one answer so they agree. Batches first: a lead a finished batch counts
    # is already settled when the stats are read after it.
    batches = queries.batch_progress(campaign.id)
    body = render_blocks("campaigns/show.html", ["progress", "stats", "score_distribution"],
                         campaign=campaign, batches=batches, stats=queries.stats(campaign),
                         oob=True)
    resp = vary(make_response(body))
    return stop_polling(resp) if all(b["complete"] for b in batches) else resp


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@member
def edit(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form = CampaignForm(obj=campaign, campaign_id=campaign.id)
    form.slug.render_kw = {"readonly": True}
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "slug")}
        try:
            operations.update_campaign(campaign, actor=Actor.of_user(current_user), **data)
        except operations.CampaignError as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Campaign saved.", "success")
            return redirect(url_for("campaigns.show", slug=campaign.slug))
    return render(
        "campaigns/form.html", "form", 422 if form.errors else 200, form=form, campaign=campaign
    )


@bp.post("/<slug>/status")
@member
def set_status(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form = StatusForm()
    if not form.validate_on_submit() or form.status.data not in {s.value for s in CampaignStatus}:
        abort(400)
    status = CampaignStatus(form.status.data)
    try:
        operations.set_status(campaign, status, actor=Actor.of_user(current_user))
    except operations.NotAllowed as exc:
        db.session.rollback()
        abort(403, description=str(exc))
    db.session.commit()
    flash(f"Campaign is now {campaign.status.value}.", "success")
    return redirect(url_for("campaigns.show", slug=campaign.slug))
