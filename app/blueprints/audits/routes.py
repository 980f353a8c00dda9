"""Staff audit pages: the report, the lead audit panel and its Audit button."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from app import storage
from app.access import is_safe_next, member
from app.audits import report, service
from app.blueprints.audits.forms import AuditRequestForm
from app.extensions import db
from app.htmx import is_htmx, render, stop_polling, trigger
from app.jobs import runs
from app.models import Audit, Campaign, Lead

bp = Blueprint("audits", __name__)


def _get_or_404(model: Any, object_id: int) -> Any:
    """Load a record staff may see (every member sees every campaign) or 404."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


@bp.get("/audits/<int:audit_id>")
@member
def show(audit_id: int):
    audit = _get_or_404(Audit, audit_id)
    lead = db.session.get(Lead, audit.lead_id) if audit.lead_id else None
    return render(
        "audits/show.html", audit=audit, lead=lead,
        campaign=db.session.get(Campaign, lead.campaign_id) if lead else None,
        groups=report.findings_by_category(audit), metrics=report.metric_rows(audit),
        shots=report.screenshots(audit), changes=report.changes(audit),
        timings=report.timing_rows(audit),
        history=report.history_rows(lead.id) if lead else [],
    )


@bp.get("/leads/<int:lead_id>/audits")
@member
def lead_audits(lead_id: int):
    lead = _get_or_404(Lead, lead_id)
    return render("audits/lead.html", "history", lead=lead, history=report.history_rows(lead.id),
                  campaign=db.session.get(Campaign, lead.campaign_id))


@bp.post("/leads/<int:lead_id>/audit")
@member
def request_for_lead(lead_id: int):
    lead = _get_or_404(Lead, lead_id)
    form = AuditRequestForm()
    message, ok = "The form expired; reload the page and try again.", False
    if form.validate_on_submit():
        try:
            run_id = service.request_audit(lead, current_user.id).id
        except service.AuditRequestError as exc:
            db.session.rollback()
            message = exc.message
        else:
            message, ok = f"Audit queued for {lead.business_name}.", True
            db.session.commit()
            runs.submit([run_id])  # enqueue only after the commit
    if is_htmx():
        # Refused: 422 with the panel carrying the reason (base.html lets htmx swap 422).
        resp = render("audits/_lead_audit_panel.html", status=200 if ok else 422, lead=lead,
                      notice=message, notice_ok=ok)
        return trigger(resp, "audit-queued" if ok else "audit-refused", {"lead_id": lead.id})
    flash(message, "success" if ok else "error")
    target = form.next.data
    return redirect(target if is_safe_next(target) else url_for(".lead_audits", lead_id=lead.id))


@bp.get("/leads/<int:lead_id>/audit-panel")
@member
def panel(lead_id: int):
    lead = _get_or_404(Lead, lead_id)
    state = report.panel_state(lead)
    resp = render("audits/_lead_audit_panel.html", lead=lead, state=state)
    if state.active:
        return resp
    # Finished: tell the page (its status badge, score column) and stop polling.
    if request.headers.get("HX-Request") == "true":
        trigger(resp, "audit-finished", {"lead_id": lead.id})
    return stop_polling(resp)


@bp.app_template_global("audit_panel_state")
def audit_panel_state(lead: Lead) -> report.PanelState:
    """For ``audits/_lead_audit_panel.html`` included from other features' pages."""
    return report.panel_state(lead)


@bp.app_template_global("audit_image_url")
def audit_image_url(meta: dict[str, Any] | None) -> str | None:
    """URL of a stored screenshot (None until the files blueprint serves files)."""
    if not meta or not meta.get("key"):
        return None
    try:
        return storage.url(meta["key"])
    except BuildError:
        return None


@bp.app_template_global("lead_page_url")
def lead_page_url(lead: Lead) -> str:
    """The lead's own page when the leads feature provides one, else its audit history."""
    for endpoint in ("leads.show", "leads.detail", "leads.view"):
        try:
            return url_for(endpoint, lead_id=lead.id)
        except BuildError:
            continue
    return url_for("audits.lead_audits", lead_id=lead.id)


@bp.app_template_global("campaign_page_url")
def campaign_page_url(campaign: Campaign) -> str | None:
    """The campaign's page when the campaigns feature provides one."""
    for endpoint, args in (("campaigns.show", {"campaign_id": campaign.id}),
                           ("campaigns.show", {"slug": campaign.slug}),
                           ("campaigns.detail", {"campaign_id": campaign.id})):
        try:
            return url_for(endpoint, **args)
        except BuildError:
            continue
    return None


@bp.app_template_global("top_problems")
def top_problems(groups: list[report.CategoryGroup]) -> list[Any]:
    return report.top_problems(groups)


@bp.app_template_filter("audit_score_class")
def audit_score_class(value: Any) -> str:
    return report.score_class(value)
