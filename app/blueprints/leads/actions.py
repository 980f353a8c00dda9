"""Bulk actions on a selection or on every lead matching the filter in the URL."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import member
from app.activity import Actor
from app.blueprints.leads.forms import BulkForm, filter_from
from app.blueprints.leads.routes import bp
from app.campaigns.queries import get_campaign_or_404
from app.extensions import db
from app.htmx import render
from app.leads import operations
from app.leads.queries import matching_ids
from app.models import Campaign, LeadStatus

VERBS = {
    "audit": "Queued audits for",
    "status": "Moved",
    "blacklist": "Added to do-not-contact",
    "delete": "Deleted",
}


@bp.post("/campaigns/<slug>/leads/bulk")
@member
def bulk_action(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    _filter_form, f = filter_from(request.args)
    back = url_for("leads.index", slug=slug, **f.to_args())
    form = BulkForm()
    if not form.validate_on_submit():
        flash(form.ids.errors[0] if form.ids.errors else "Choose an action.", "error")
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
    if action == "delete" and not current_user.is_admin:  # the operation refuses it too
        abort(403, description="Only an admin can delete leads.")
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
        result = _apply(campaign, action, ids, form.new_status.data or "")
    except operations.NotAllowed as exc:
        db.session.rollback()
        abort(403, description=str(exc))
    except operations.BulkError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    db.session.commit()  # queued audit runs reach the worker once this commit is done
    flash(result.message(VERBS[action]), "success" if result.done else "warning")
    return redirect(back)


def _apply(
    campaign: Campaign, action: str, ids: list[int], new_status: str
) -> operations.BulkResult:
    actor = Actor.of_user(current_user)
    if action == "audit":
        return operations.audit_leads(campaign, ids, actor=actor)
    if action == "status":
        return operations.set_leads_status(campaign, ids, LeadStatus(new_status), actor=actor)
    if action == "blacklist":
        return operations.blacklist_leads(campaign, ids, actor=actor)
    return operations.delete_leads(campaign, ids, actor=actor)
