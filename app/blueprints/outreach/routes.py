"""Outreach pages: the approval queue, one draft beside its audit, templates with a live
preview, bulk drafting, follow-ups, and a lead's messages (loaded into the lead page)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import member
from app.activity import Actor
from app.blueprints.outreach.forms import (
    BulkForm,
    DraftForm,
    FollowUpForm,
    PreviewForm,
    RejectForm,
    TemplateForm,
)
from app.campaigns.queries import find_campaign, get_campaign_or_404, list_campaigns
from app.edge import bounded_int
from app.extensions import db
from app.forms import EmptyForm
from app.htmx import render
from app.leads.queries import get_lead_or_404
from app.models import Lead, TemplateVariant
from app.outreach import operations as ops
from app.outreach import queries, templates

bp = Blueprint("outreach", __name__)


def _actor() -> Actor:
    return Actor.of_user(current_user)


def _back(default: str) -> str:
    """The page the action came from when it is one of ours (the queue or a draft)."""
    ref = request.referrer or ""
    return ref if ref.startswith(request.host_url + "outreach/") else default


@bp.get("/")
@member
def index() -> ResponseReturnValue:
    slug = request.args.get("campaign", "")[:80]
    campaign = find_campaign(slug) if slug else None
    page = queries.approval_queue(campaign.id if campaign else None,
                                  before=bounded_int("before", low=1))
    return render("outreach/index.html", "queue", campaign=campaign,
                  campaigns=[c for c, _ in list_campaigns()], page=page,
                  cards=queries.queue_cards(page), form=BulkForm(), action_form=EmptyForm(),
                  sender=queries.sender_for(campaign) if campaign else None)


@bp.post("/bulk")
@member
def bulk() -> ResponseReturnValue:
    form = BulkForm()
    if not form.validate_on_submit():
        flash("Select messages and an action.", "error")
        return redirect(url_for("outreach.index"), 303)
    if form.action.data == "approve":
        out = ops.approve_many(form.ids.data, actor=_actor())
    else:
        out = ops.reject_many(form.ids.data, actor=_actor())
    db.session.commit()
    verb = "Approved" if form.action.data == "approve" else "Rejected"
    flash(f"{verb} {len(out.done)}.", "success")
    for message, why in out.refused[:10]:
        flash(f"Not {verb.lower()}: message to {message.recipient}: {why}", "warning")
    return redirect(_back(url_for("outreach.index")), 303)


@bp.route("/<int:outreach_id>", methods=["GET", "POST"])
@member
def show(outreach_id: int) -> ResponseReturnValue:
    message = queries.get_outreach_or_404(outreach_id)
    form = DraftForm(obj=message)
    if form.validate_on_submit():
        try:
            ops.edit_draft(message, subject=form.subject.data, body=form.body.data,
                           actor=_actor())
        except ops.OutreachError as exc:
            db.session.rollback()
            form.subject.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Draft saved.", "success")
            return redirect(url_for("outreach.show", outreach_id=message.id), 303)
    lead = db.session.get_one(Lead, message.lead_id)
    card = queries.queue_cards(queries.QueuePage([(message, lead)], 1, None))[0]
    return render("outreach/show.html", "draft_form", 422 if form.errors else 200,
                  card=card, form=form, action_form=EmptyForm(), reject_form=RejectForm(),
                  history=queries.history(message.id),
                  missing=templates.missing_in(message.subject, message.body))


@bp.post("/<int:outreach_id>/approve")
@member
def approve(outreach_id: int) -> ResponseReturnValue:
    message = queries.get_outreach_or_404(outreach_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        ops.approve(message, actor=_actor())
    except ops.OutreachError as exc:
        db.session.rollback()
        flash(f"Not approved: {exc}", "error")
    else:
        db.session.commit()
        flash(f"Approved the email to {message.recipient}.", "success")
    return redirect(_back(url_for("outreach.show", outreach_id=message.id)), 303)


@bp.post("/<int:outreach_id>/reject")
@member
def reject(outreach_id: int) -> ResponseReturnValue:
    message = queries.get_outreach_or_404(outreach_id)
    form = RejectForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.reject(message, actor=_actor(), note=form.note.data or "")
    except ops.OutreachError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"Rejected the email to {message.recipient}.", "success")
    return redirect(url_for("outreach.index"), 303)


@bp.route("/campaigns/<slug>/templates", methods=["GET", "POST"])
@member
def templates_edit(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    step = bounded_int("step", 1, low=1, high=2) or 1
    raw = request.args.get("variant", "")
    variant = TemplateVariant(raw) if raw in set(TemplateVariant) else TemplateVariant.STANDARD
    current = queries.get_template(campaign.id, step, variant)
    form = TemplateForm(obj=current)
    if form.validate_on_submit():
        try:
            ops.save_template(campaign, step=step, variant=variant, subject=form.subject.data,
                              body=form.body.data, actor=_actor())
        except ops.OutreachError as exc:
            db.session.rollback()
            form.body.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Template saved.", "success")
            return redirect(url_for("outreach.templates_edit", slug=slug, step=step,
                                    variant=variant.value), 303)
    leads = queries.preview_leads(campaign.id)
    return render("outreach/templates.html", "editor", 422 if form.errors else 200,
                  campaign=campaign, step=step, variant=variant, form=form, fields=templates.FIELDS,
                  saved=queries.campaign_templates(campaign.id), leads=leads,
                  follow_form=FollowUpForm(obj=campaign), preview=None)


@bp.post("/campaigns/<slug>/templates/preview")
@member
def templates_preview(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form = PreviewForm()
    if not form.validate_on_submit():
        abort(422, description="The preview needs the template's text.")
    lead = db.session.get(Lead, form.lead.data) if form.lead.data else None
    if lead is not None and lead.campaign_id != campaign.id:
        lead = None
    values = (queries.merge_values(lead, campaign, queries.latest_audit(lead))
              if lead is not None else templates.examples())
    result = queries.preview(form.subject.data or "", form.body.data or "", values)
    return render("outreach/_preview.html", None, preview=result, lead=lead)


@bp.post("/campaigns/<slug>/follow-up")
@member
def follow_up(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form = FollowUpForm()
    if not form.validate_on_submit():
        flash("Follow-ups come 1 to 90 days after the first email.", "error")
    else:
        ops.set_follow_up_days(campaign, form.follow_up_days.data, actor=_actor())
        db.session.commit()
        flash("Follow-up saved.", "success")
    return redirect(url_for("outreach.templates_edit", slug=slug, step=2), 303)


@bp.post("/campaigns/<slug>/draft")
@member
def draft_campaign(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    if not EmptyForm().validate_on_submit():
        abort(400)
    result = ops.draft_campaign(campaign, actor=_actor())
    db.session.commit()
    return render("outreach/drafted.html", None, campaign=campaign, result=result,
                  title="Drafts")


@bp.post("/campaigns/<slug>/follow-ups")
@member
def draft_follow_ups(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    if not EmptyForm().validate_on_submit():
        abort(400)
    result = ops.draft_follow_ups(campaign, actor=_actor())
    db.session.commit()
    return render("outreach/drafted.html", None, campaign=campaign, result=result,
                  title="Follow-ups")


@bp.post("/leads/<int:lead_id>/draft")
@member
def draft_lead(lead_id: int) -> ResponseReturnValue:
    lead = get_lead_or_404(lead_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        message = ops.draft_for_lead(lead, actor=_actor())
    except ops.OutreachError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("leads.show", lead_id=lead.id), 303)
    db.session.commit()
    return redirect(url_for("outreach.show", outreach_id=message.id), 303)


@bp.post("/leads/<int:lead_id>/replied")
@member
def replied(lead_id: int) -> ResponseReturnValue:
    lead = get_lead_or_404(lead_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        ops.mark_replied(lead, actor=_actor())
    except ops.OutreachError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"{lead.business_name} marked as replied.", "success")
    return redirect(url_for("leads.show", lead_id=lead.id), 303)


@bp.get("/leads/<int:lead_id>/messages")
@member
def lead_messages(lead_id: int) -> ResponseReturnValue:
    lead = get_lead_or_404(lead_id)
    return render("outreach/_lead_messages.html", None, lead=lead,
                  messages=queries.lead_messages(lead.id), action_form=EmptyForm())
