"""Slack, Zapier and Discord hook URLs carry their secret in the path (or the query):
outside the admin's webhook pages only ``scheme://host[:port]`` is shown, in activity,
run logs, run and delivery errors, and the API's answer for a run (which a read key
sees)."""

from __future__ import annotations

from sqlalchemy import select
from webhook_support import execute, run_of

from app.activity import SYSTEM
from app.apikeys.operations import create_key
from app.extensions import db
from app.models import Activity, Run, RunLog, WebhookDelivery, WebhookEndpoint
from app.webhooks import operations
from app.webhooks.events import emit
from app.webhooks.targets import origin, scrub

SECRET = "T0SECRET/B0SECRET/xoxSECRETpart"


def _leaks() -> list[str]:
    db.session.expire_all()
    texts = [a.summary for a in db.session.scalars(select(Activity))]
    texts += [log.message for log in db.session.scalars(select(RunLog))]
    texts += [r.error or "" for r in db.session.scalars(select(Run))]
    texts += [d.error or "" for d in db.session.scalars(select(WebhookDelivery))]
    texts += [e.disabled_reason or "" for e in db.session.scalars(select(WebhookEndpoint))]
    return [t for t in texts if "SECRET" in t]


def test_origin_and_scrub():
    url = "https://hooks.slack.com/services/T0SECRET/B0SECRET/xoxSECRETpart?token=SECRET"
    assert origin(url) == "https://hooks.slack.com"
    assert origin("http://127.0.0.1:8080/x/SECRET") == "http://127.0.0.1:8080"
    said = scrub(f"{url} did not answer in time (GET /services/T0SECRET/B0SECRET/"
                 "xoxSECRETpart).", url)
    assert "SECRET" not in said and "https://hooks.slack.com did not answer" in said


def test_the_hook_path_never_leaves_the_webhook_pages(app, client, receiver, make_endpoint):
    base = receiver.url().rsplit("/", 1)[0]
    url = f"{base}/services/{SECRET}?token=SECRETtoken"
    issued = make_endpoint(url=url)
    assert issued.endpoint.url == url  # the admin pages still have it whole
    # a delivery, a timeout (whose message names the URL), then failures until disabled
    test = operations.send_test(issued.endpoint, actor=SYSTEM)
    db.session.commit()
    assert execute(run_of(test.id).id) == "succeeded"
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    receiver.delay = 2
    [slow] = [d.id for d in emit("audit.finished", {"audit_id": 1, "lead_id": 1})]
    db.session.commit()
    assert execute(run_of(slow).id) == "retry"
    assert run_of(slow).error_code == "timeout"
    receiver.delay = 0
    receiver.statuses[:] = [410, 410, 410]
    for n in range(3):
        [failed] = [d.id for d in emit("audit.finished", {"audit_id": n, "lead_id": 1})]
        db.session.commit()
        assert execute(run_of(failed).id) == "failed"
    operations.enable_endpoint(db.session.get(WebhookEndpoint, issued.endpoint.id), actor=SYSTEM)
    db.session.commit()
    assert receiver.requests[0].path == f"/services/{SECRET}?token=SECRETtoken"
    assert _leaks() == []
    assert db.session.scalar(select(RunLog.id).where(RunLog.message.contains(base)))
    # A read key asking the API about the timed-out run sees the host only.
    _row, key = create_key("reader", "read", actor=SYSTEM)
    db.session.commit()
    answer = client.get(f"/api/v1/runs/{run_of(slow).id}",
                        headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200 and answer.json["error"]
    assert "SECRET" not in answer.get_data(as_text=True)
    assert base in answer.json["error"]
