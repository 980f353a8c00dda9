"""Live updates: one mechanism for every page that shows leads.

htmx polls a small state endpoint; the answer replaces the poller itself and, out of band,
every region that shows the same facts, so they always change together:

* ``GET /leads/<id>/live?v=VERSION`` — a lead's pages. 204 when nothing changed since the
  version the page shows; otherwise the poller (every 2 s while an audit of the lead is
  queued or running, every 20 s otherwise, so a page left open learns of audits started
  elsewhere) and the lead's fragments, the blocks of ``leads/show.html``: heading badge
  and score, audit panel, score trend, audit history, status card, contact details (an
  audit fills empty ones from the site), activity. Each page names the ones it shows with
  ``hx-select-oob`` on the poller's wrapper.
* ``GET /campaigns/<slug>/leads/live?ids=…`` — a list page: the rows' status and score
  cells and the campaign's progress bar, every 2 s while any audit is active, then 286.

When a poll fails, ``static/js/live.js`` shows a "Updates paused" notice.
"""

from __future__ import annotations

from flask import abort, make_response, request
from flask.typing import ResponseReturnValue
from jinja2_fragments.flask import render_blocks

from app.access import member
from app.audits.queries import panel_state
from app.blueprints.leads.forms import LiveLeadForm, LiveRowsForm
from app.blueprints.leads.routes import bp, lead_context
from app.campaigns.queries import batch_progress, get_campaign_or_404
from app.htmx import render, stop_polling, vary
from app.leads import queries

#: The blocks of ``leads/show.html`` a lead's live answer carries.
LEAD_BLOCKS = ["live_poller", "lead_badge", "lead_score", "lead_audit_actions", "lead_trend",
               "lead_history", "lead_status_card", "lead_contact", "lead_feed"]


@bp.get("/leads/<int:lead_id>/live")
@member
def live(lead_id: int) -> ResponseReturnValue:
    lead = queries.get_lead_or_404(lead_id)
    form = LiveLeadForm(request.args)
    if not form.validate():
        abort(422, description="This live update link is not valid; reload the page.")
    panel = panel_state(lead)
    if form.v.data and form.v.data == queries.lead_version(lead, panel):
        return vary(make_response("", 204))  # nothing changed: no swap, keep polling
    context = lead_context(lead, queries.lead_live(lead, panel))
    return vary(make_response(render_blocks("leads/show.html", LEAD_BLOCKS, **context)))


@bp.get("/campaigns/<slug>/leads/live")
@member
def rows(slug: str) -> ResponseReturnValue:
    campaign = get_campaign_or_404(slug)
    form = LiveRowsForm(request.args)
    if not form.validate():
        abort(422, description="This live update link is not valid; reload the page.")
    # Progress first, rows second: if the progress already counts an audit as finished,
    # the rows read after it see that audit's lead too, so polling never stops early.
    batches = batch_progress(campaign.id)
    found = queries.live_rows(campaign.id, form.ids.data or [])
    active = bool(found.active) or not all(b["complete"] for b in batches)
    resp = render("leads/_live_rows.html", campaign=campaign, batches=batches, rows=found,
                  ids=form.ids.data or [], active=active)
    return resp if active else stop_polling(resp)
