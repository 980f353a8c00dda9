"""Lead pages: the searchable list, one lead, add, edit, status, export."""

from __future__ import annotations

from flask import Response, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user

from app.access import member
from app.blueprints.campaigns.routes import get_campaign_or_404
from app.blueprints.leads import actions, imports  # noqa: F401  (registers their routes)
from app.blueprints.leads.blueprint import bp
from app.blueprints.leads.forms import BulkForm, LeadForm, LeadStatusForm, choices
from app.blueprints.leads.helpers import filter_from, get_lead_or_404, lead_campaign
from app.extensions import db
from app.htmx import render
from app.leads import service
from app.leads.export import iter_csv
from app.leads.search import page
from app.models import InvalidTransition, LeadStatus

__all__ = ["bp"]


@bp.get("/campaigns/<slug>/leads")
@member
def index(slug: str):
    campaign = get_campaign_or_404(slug)
    form, f = filter_from(request.args)
    result = page(
        campaign.id, f, after=request.args.get("after"), before=request.args.get("before")
    )
    return render(
        "leads/index.html",
        "results",
        campaign=campaign,
        form=form,
        page=result,
        filter_args=f.to_args(),
        bulk=BulkForm(),
    )


@bp.get("/campaigns/<slug>/leads.csv")
@member
def export(slug: str):
    campaign = get_campaign_or_404(slug)
    _form, f = filter_from(request.args)
    name = f"{campaign.slug}-leads.csv"
    return Response(
        stream_with_context(iter_csv(campaign.id, f)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/campaigns/<slug>/leads/new", methods=["GET", "POST"])
@member
def new(slug: str):
    campaign = get_campaign_or_404(slug)
    form = LeadForm()
    if form.validate_on_submit():
        try:
            lead = service.create_lead(campaign, form.data_for_service(), current_user.id)
        except service.LeadError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Lead {lead.business_name} added.", "success")
            return redirect(url_for("leads.show", lead_id=lead.id))
    return render(
        "leads/form.html",
        "form",
        422 if form.errors else 200,
        form=form,
        campaign=campaign,
        lead=None,
    )


@bp.get("/leads/<int:lead_id>")
@member
def show(lead_id: int):
    lead = get_lead_or_404(lead_id)
    campaign = lead_campaign(lead)
    status_form = LeadStatusForm()
    status_form.status.choices = choices(
        (s.value, s.value.replace("_", " ")) for s in service.next_statuses(lead)
    )
    return render(
        "leads/show.html",
        None,
        lead=lead,
        campaign=campaign,
        status_form=status_form,
        **service.lead_page(lead),
    )


@bp.route("/leads/<int:lead_id>/edit", methods=["GET", "POST"])
@member
def edit(lead_id: int):
    lead = get_lead_or_404(lead_id)
    campaign = lead_campaign(lead)
    form = LeadForm(obj=lead)
    if form.validate_on_submit():
        try:
            service.update_lead(lead, form.data_for_service(), current_user.id)
        except service.LeadError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash("Lead saved.", "success")
            return redirect(url_for("leads.show", lead_id=lead.id))
    return render(
        "leads/form.html",
        "form",
        422 if form.errors else 200,
        form=form,
        campaign=campaign,
        lead=lead,
    )


@bp.post("/leads/<int:lead_id>/status")
@member
def set_status(lead_id: int):
    lead = get_lead_or_404(lead_id)
    form = LeadStatusForm()
    if not form.validate_on_submit():
        flash("Choose a status.", "error")
    else:
        try:
            service.set_status(lead, LeadStatus(form.status.data), current_user.id,
                               form.reason.data)
        except InvalidTransition as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"Lead moved to {lead.status.value.replace('_', ' ')}.", "success")
    return redirect(url_for("leads.show", lead_id=lead.id))
