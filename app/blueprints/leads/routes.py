"""Lead pages: the searchable list, one lead, add, edit, status, export.

The bulk actions (:mod:`.actions`) and the CSV import pages (:mod:`.imports`) add their
routes to the same ``bp``; the package imports them.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import member
from app.activity import Actor
from app.audits.queries import panel_state
from app.blueprints.leads.forms import BulkForm, LeadForm, LeadStatusForm, choices, filter_from
from app.campaigns.queries import get_campaign_or_404
from app.extensions import db
from app.htmx import render
from app.leads import operations, queries
from app.leads.search import LeadFilter, decode_cursor
from app.models import InvalidTransition, LeadStatus

bp = Blueprint("leads", __name__)


@bp.get("/campaigns/<slug>/leads")
@member
def index(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form, f = filter_from(request.args)
    result = queries.page(campaign.id, f, after=_cursor("after", f), before=_cursor("before", f))
    return render(
        "leads/index.html",
        "results",
        campaign=campaign,
        form=form,
        page=result,
        filter_args=f.to_args(),
        bulk=BulkForm(),
    )


def _cursor(name: str, f: LeadFilter) -> str | None:
    """The ``after``/``before`` cursor of the URL; a forged or stale one is a 422."""
    token = request.args.get(name) or None
    if token is not None and decode_cursor(token, f.sort_key) is None:
        abort(422, description="This page link is not valid (it may belong to another sort "
                               "order). Open the list from its first page.")
    return token


@bp.get("/campaigns/<slug>/leads.csv")
@member
def export(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    _form, f = filter_from(request.args)
    name = f"{campaign.slug}-leads.csv"
    return Response(
        stream_with_context(queries.iter_csv(campaign.id, f)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/campaigns/<slug>/leads/new", methods=["GET", "POST"])
@member
def new(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form = LeadForm()
    if form.validate_on_submit():
        try:
            lead = operations.create_lead(
                campaign, form.data_for_service(), actor=Actor.of_user(current_user)
            )
        except operations.LeadError as exc:
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
def show(lead_id: int) -> ResponseReturnValue:
    lead = queries.get_lead_or_404(lead_id)
    campaign = queries.lead_campaign(lead)
    status_form = LeadStatusForm()
    status_form.status.choices = choices(
        (s.value, s.value.replace("_", " ")) for s in queries.next_statuses(lead)
    )
    return render(
        "leads/show.html",
        None,
        lead=lead,
        campaign=campaign,
        status_form=status_form,
        audit_panel=panel_state(lead),
        **queries.lead_page(lead),
    )


@bp.route("/leads/<int:lead_id>/edit", methods=["GET", "POST"])
@member
def edit(lead_id: int) -> ResponseReturnValue:
    lead = queries.get_lead_or_404(lead_id)
    campaign = queries.lead_campaign(lead)
    form = LeadForm(obj=lead)
    if form.validate_on_submit():
        try:
            operations.update_lead(lead, form.data_for_service(), actor=Actor.of_user(current_user))
        except operations.LeadError as exc:
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
def set_status(lead_id: int) -> ResponseReturnValue:
    lead = queries.get_lead_or_404(lead_id)
    form = LeadStatusForm()
    if not form.validate_on_submit():
        flash("Choose a status.", "error")
    else:
        try:
            operations.set_lead_status(
                lead, LeadStatus(form.status.data), form.reason.data,
                actor=Actor.of_user(current_user),
            )
        except InvalidTransition as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"Lead moved to {lead.status.value.replace('_', ' ')}.", "success")
    return redirect(url_for("leads.show", lead_id=lead.id))
