"""``pitchfast public …``: the same operations and activity as the pages."""

from __future__ import annotations

from sqlalchemy import select

from app.cli import main
from app.extensions import db
from app.models import Activity
from app.public import queries


def test_publish_url_rotate_revoke_from_the_command_line(runner, factory):
    campaign = factory.campaign()
    audit = factory.audit(factory.lead(campaign))
    lead_id = audit.lead_id
    out = runner.invoke(main, ["public", "publish", str(audit.id), "--expires-days", "30"])
    assert out.exit_code == 0, out.output
    url = out.output.strip()
    assert url.startswith("http://127.0.0.1:5000/r/")
    assert runner.invoke(main, ["public", "url", str(lead_id)]).output.strip() == url
    rotated = runner.invoke(main, ["public", "rotate", str(lead_id)]).output.strip()
    assert rotated != url and queries.link_for_token(url.rsplit("/", 1)[1]) is None
    assert runner.invoke(main, ["public", "revoke", str(lead_id)]).exit_code == 0
    refused = runner.invoke(main, ["public", "url", str(lead_id)])
    assert refused.exit_code != 0 and "not live" in refused.output
    verbs = set(db.session.scalars(select(Activity.verb)))
    assert {"public.published", "public.rotated", "public.revoked"} <= verbs
    # Bulk publishing leaves the revoked link revoked and publishes the rest.
    other = factory.audit(factory.lead(campaign, name="Other"))
    out = runner.invoke(main, ["public", "publish-finished", "--campaign", campaign.slug])
    assert out.exit_code == 0 and "Published 1 audit page." in out.output
    assert not queries.is_live(queries.link_for_lead(lead_id))
    assert queries.is_live(queries.link_for_lead(other.lead_id))


def test_bad_input_gets_a_message(runner, factory):
    assert "No audit 999" in runner.invoke(main, ["public", "publish", "999"]).output
    assert "has no public page" in runner.invoke(main, ["public", "revoke", "5"]).output
    audit = factory.audit(factory.lead())
    audit.status = "running"
    db.session.commit()
    out = runner.invoke(main, ["public", "publish", str(audit.id)])
    assert out.exit_code != 0 and "Only a finished audit" in out.output
