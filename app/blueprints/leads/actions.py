"""Bulk actions on a selection or on every lead matching the filter in the URL."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from app.access import member
from app.blueprints.campaigns.routes import get_campaign_or_404
from app.blueprints.leads.blueprint import bp
from app.blueprints.leads.forms import BulkForm
from app.blueprints.leads.helpers import filter_from
from app.extensions import db
from app.htmx import render
from app.jobs import runs
from app.leads import bulk
from app.leads.search import matching_ids
from app.models import LeadStatus

VERBS = {
    "audit": "Queued audits for",
    "status": "Moved",
    "blacklist": "Added to do-not-contact",
    "delete": "Deleted",
}


@bp.post("/campaigns/<slug>/leads/bulk")
@member
def bulk_action(slug: str):
    campaign = get_campaign_or_404(slug)
    _filter_form, f = filter_from(request.args)
    back = url_for("leads.index", slug=slug, **f.to_args())
    form = BulkForm()
    if not form.validate_on_submit():
        flash("Choose an action.", "error")
        return redirect(back)
    ids = (
        matching_ids(campaign.id, f)
        if form.scope.data == "all"
        else sorted(set(form.ids.data or []))
    )
    if not ids:
        flash(
            "No leads selected: tick some rows, or choose “all leads matching the filter”.", "error"
        )
        return redirect(back)
    action = form.action.data
    if action == "status" and form.new_status.data not in {s.value for s in LeadStatus}:
        flash("Choose the new status.", "error")
        return redirect(back)
    if action == "delete" and form.confirm.data != "yes":
        return render(
            "leads/bulk_confirm.html",
            None,
            campaign=campaign,
            form=form,
            ids=ids,
            count=len(ids),
            filter_args=f.to_args(),
            back=back,
        )
    try:
        result = _apply(campaign, action, ids, form.new_status.data)
    except bulk.BulkError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    db.session.commit()
    if result.run_ids:
        runs.submit(result.run_ids)
    flash(result.message(VERBS[action]), "success" if result.done else "warning")
    return redirect(back)


def _apply(campaign, action: str, ids: list[int], new_status: str | None) -> bulk.BulkResult:
    user_id = current_user.id
    if action == "audit":
        return bulk.audit(campaign, ids, user_id)
    if action == "status":
        return bulk.set_status(campaign, ids, LeadStatus(new_status), user_id)
    if action == "blacklist":
        return bulk.blacklist(campaign, ids, user_id)
    return bulk.delete_leads(campaign, ids, user_id)
