"""Staff audit pages: the report, a lead's audits, the lead audit panel and its Audit button."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import is_safe_next, member
from app.activity import Actor
from app.audits import operations, queries
from app.blueprints.audits.forms import AuditRequestForm
from app.extensions import db
from app.htmx import is_htmx, render, stop_polling, trigger
from app.leads.queries import get_lead_or_404, live_mark

bp = Blueprint("audits", __name__)


@bp.get("/audits/<int:audit_id>")
@member
def show(audit_id: int) -> ResponseReturnValue:
    audit = queries.get_audit_or_404(audit_id)
    return render("audits/show.html", **queries.report_page(audit))


@bp.get("/leads/<int:lead_id>/audits")
@member
def lead_audits(lead_id: int) -> ResponseReturnValue:
    lead = get_lead_or_404(lead_id)
    page = queries.lead_audits_page(lead)
    # The lead's live poller (leads/_live_poller.html) starts from this version.
    return render("audits/lead.html", "history", **page,
                  live=live_mark(lead, page["audit_panel"]))


@bp.post("/leads/<int:lead_id>/audit")
@member
def request_for_lead(lead_id: int) -> ResponseReturnValue:
    lead = get_lead_or_404(lead_id)
    form = AuditRequestForm()
    message, ok = "The form expired; reload the page and try again.", False
    if form.validate_on_submit():
        try:
            operations.request_audit(lead, Actor.of_user(current_user))
        except operations.AuditRequestError as exc:
            db.session.rollback()
            message = exc.message
        else:
            db.session.commit()  # the run reaches the worker once this commit is done
            message, ok = f"Audit queued for {lead.business_name}.", True
    if is_htmx():
        # Refused: 422 with the panel carrying the reason (base.html lets htmx swap 422).
        resp = render("audits/_lead_audit_panel.html", status=200 if ok else 422, lead=lead,
                      audit_panel=queries.panel_state(lead), notice=message, notice_ok=ok)
        return trigger(resp, "audit-queued" if ok else "audit-refused", {"lead_id": lead.id})
    flash(message, "success" if ok else "error")
    target = form.next.data
    return redirect(target if is_safe_next(target) else url_for(".lead_audits", lead_id=lead.id))


@bp.get("/leads/<int:lead_id>/audit-panel")
@member
def panel(lead_id: int) -> ResponseReturnValue:
    lead = get_lead_or_404(lead_id)
    state = queries.panel_state(lead)
    resp = render("audits/_lead_audit_panel.html", lead=lead, audit_panel=state)
    if state.active:
        return resp
    # Finished: tell the page (its status badge, score column) and stop polling.
    if is_htmx():
        trigger(resp, "audit-finished", {"lead_id": lead.id})
    return stop_polling(resp)
