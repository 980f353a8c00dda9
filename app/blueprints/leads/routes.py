"""Lead pages: the searchable list, one lead, add, edit, status, delete, export.

The bulk actions (:mod:`.actions`), the live updates (:mod:`.live`) and the CSV import
pages (:mod:`.imports`) add their routes to the same ``bp``; the package imports them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import member
from app.activity import Actor
from app.blueprints.leads.forms import (
    BulkForm,
    LeadForm,
    LeadStatusForm,
    extra_rows,
    filter_from,
    move_choices,
)
from app.campaigns.queries import get_campaign_or_404
from app.extensions import db
from app.forms import EmptyForm
from app.htmx import render
from app.leads import operations, queries
from app.leads.search import LeadFilter, decode_cursor
from app.models import InvalidTransition, Lead, LeadStatus
from app.models.states import AdminOnlyTransition

bp = Blueprint("leads", __name__)


@bp.get("/campaigns/<slug>/leads")
@member
def index(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form, f = filter_from(request.args)
    result = queries.page(campaign.id, f, after=_cursor("after", f), before=_cursor("before", f),
                          last=request.args.get("last") == "1")
    bulk = BulkForm()
    if not current_user.is_admin:  # offered to admins only (the operation checks too)
        bulk.action.choices = [c for c in bulk.action.choices if c.value != "delete"]
    # The rows' live poller (.live.rows) fills in the progress bar once the page loads.
    return render(
        "leads/index.html",
        "results",
        campaign=campaign,
        form=form,
        page=result,
        filter_args=f.to_args(),
        bulk=bulk,
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
    return render("leads/show.html", None, **lead_context(lead))


def lead_context(lead: Lead, live: queries.LeadLive | None = None) -> dict[str, Any]:
    """The context of a lead's page and of its live fragments (:mod:`.live`)."""
    status_form = LeadStatusForm(formdata=None)
    status_form.status.choices = move_choices(
        queries.move_targets(lead, admin=current_user.is_admin)
    )
    live = live or queries.lead_live(lead)
    return {
        "lead": lead,
        "campaign": queries.lead_campaign(lead),
        "live": live,
        "audit_panel": live.audit_panel,
        "history": live.history,
        "audit": None,  # no audit is "current" in the history table
        "status_form": status_form,
        "action_form": EmptyForm(),
        "dnc": queries.do_not_contact(lead),
    }


@bp.route("/leads/<int:lead_id>/edit", methods=["GET", "POST"])
@member
def edit(lead_id: int) -> ResponseReturnValue:
    lead = queries.get_lead_or_404(lead_id)
    campaign = queries.lead_campaign(lead)
    form = LeadForm(obj=lead, extra_fields=extra_rows(lead.extra))
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
    if not form.validate_on_submit() or form.status.data not in {s.value for s in LeadStatus}:
        flash(next(iter(form.errors.values()))[0] if form.errors else "Choose a status.", "error")
        return redirect(url_for("leads.show", lead_id=lead.id))
    try:
        operations.set_lead_status(
            lead, LeadStatus(form.status.data), form.reason.data,
            actor=Actor.of_user(current_user),
        )
    except AdminOnlyTransition as exc:
        db.session.rollback()
        abort(403, description=str(exc))
    except InvalidTransition as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"Lead moved to {lead.status.value.replace('_', ' ')}.", "success")
    return redirect(url_for("leads.show", lead_id=lead.id))


@bp.post("/leads/<int:lead_id>/release")
@member
def release(lead_id: int) -> ResponseReturnValue:
    """An admin takes the lead off do-not-contact (members: 403 with the reason)."""
    lead = queries.get_lead_or_404(lead_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        status = operations.release_lead(lead, actor=Actor.of_user(current_user))
    except AdminOnlyTransition as exc:
        db.session.rollback()
        abort(403, description=str(exc))
    except InvalidTransition as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"Lead taken off the do-not-contact list: it is {status.value} again.", "success")
    return redirect(url_for("leads.show", lead_id=lead.id))


@bp.route("/leads/<int:lead_id>/delete", methods=["GET", "POST"])
@member
def delete(lead_id: int) -> ResponseReturnValue:
    """Admins: a confirmation page, then the lead goes with its audits and files."""
    lead = queries.get_lead_or_404(lead_id)
    campaign = queries.lead_campaign(lead)
    form = EmptyForm()
    if not form.validate_on_submit():
        if not current_user.is_admin:
            abort(403, description="Only an admin can delete leads.")
        return render("leads/delete_confirm.html", None, lead=lead, campaign=campaign, form=form)
    name = lead.business_name
    try:
        operations.delete_lead(lead, actor=Actor.of_user(current_user))
    except operations.NotAllowed as exc:
        db.session.rollback()
        abort(403, description=str(exc))
    db.session.commit()  # the lead's stored files are removed once this commit is done
    flash(f"Lead {name} deleted, with its audits and screenshots.", "success")
    return redirect(url_for("leads.index", slug=campaign.slug))
