"""End to end: a real audit (real Chromium, a small site on loopback) finishes and the
receiver gets a correctly signed ``audit.finished``; an audit that fails for good sends
``audit.failed``; a canceled one sends nothing."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from webhook_support import execute, run_of

from app.activity import SYSTEM
from app.audits import jobs as audit_jobs
from app.audits import operations as audit_operations
from app.audits import results
from app.extensions import db
from app.jobs import runs
from app.models import Campaign, Lead, Run, RunStatus, WebhookDelivery
from app.models.base import utcnow
from app.webhooks import signing

PAGE = b"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Luigi's Pizza</title>
<meta name="description" content="Wood-fired pizza on Elm Street since 1990."></head>
<body><h1>Luigi's Pizza</h1><p>Wood-fired pizza, call 555 010 2030.</p></body></html>"""


class Site(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        status, body = (200, PAGE) if self.path.split("?")[0] in ("/", "/index.html") \
            else (404, b"not found")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    target = f"127.0.0.1:{httpd.server_port}"
    yield target
    httpd.shutdown()
    httpd.server_close()
    from app.audits.engine import config_from_mapping, get_engine

    get_engine(config_from_mapping({"AUDIT_ALLOW_TARGETS": [target],
                                    "AUDIT_TIMEOUT_SECONDS": 40})).close()


@pytest.fixture
def app_config(app_config: dict[str, Any], site: str) -> dict[str, Any]:
    return {**app_config, "AUDIT_ALLOW_TARGETS": [site], "AUDIT_TIMEOUT_SECONDS": 40}


def _lead(site: str) -> Lead:
    campaign = Campaign(name="Pizzerias", slug="pizzerias")
    db.session.add(campaign)
    db.session.flush()
    lead = Lead(campaign_id=campaign.id, business_name="Luigi's Pizza",
                website_url=f"http://{site}/", domain=site)
    db.session.add(lead)
    db.session.commit()
    return lead


def _deliveries(event: str) -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.event == event)))


@pytest.mark.browser  # the real engine launches Chromium
def test_a_finished_audit_reaches_the_receiver_signed(app, site, receiver, make_endpoint):
    issued = make_endpoint(events=("audit.finished", "audit.failed"))
    lead = _lead(site)
    run_id = audit_operations.request_audit(lead, SYSTEM).id
    db.session.commit()
    assert runs.execute(run_id) == "succeeded"

    [delivery] = _deliveries("audit.finished")
    assert _deliveries("audit.failed") == []
    assert execute(run_of(delivery.id).id) == "succeeded"
    [got] = receiver.requests
    signing.verify_headers(issued.secret, got.body, got.headers)
    assert got.headers["X-PitchFast-Event"] == "audit.finished"
    body = json.loads(got.body)
    audit_id = db.session.get(Run, run_id).result["audit_id"]
    data = body["data"]
    assert data["audit_id"] == audit_id and data["lead_id"] == lead.id
    assert data["run_id"] == run_id and data["campaign_id"] == lead.campaign_id
    assert data["status"] == "ok" and isinstance(data["score"], int)
    assert body["id"] == got.headers["X-PitchFast-Delivery"]


def test_an_audit_failing_for_good_sends_audit_failed(app, site, receiver, make_endpoint):
    issued = make_endpoint(events=("audit.failed",))
    lead = _lead(site)
    run = audit_operations.request_audit(lead, SYSTEM)
    db.session.commit()
    results.begin_audit(run.id, lead.id, lead.website_url)
    audit_jobs.on_final_failure(run, "http_client_error", "HTTP 403 from the site.")
    db.session.commit()
    [delivery] = _deliveries("audit.failed")
    assert execute(run_of(delivery.id).id) == "succeeded"
    [got] = receiver.requests
    signing.verify_headers(issued.secret, got.body, got.headers)
    data = json.loads(got.body)["data"]
    assert data["lead_id"] == lead.id and data["error_code"] == "http_client_error"
    assert data["run_id"] == run.id


def test_a_canceled_audit_sends_nothing(app, site, receiver, make_endpoint):
    make_endpoint(events=("audit.failed", "audit.finished"))
    lead = _lead(site)
    run = audit_operations.request_audit(lead, SYSTEM)
    db.session.commit()
    runs.cancel(run)
    db.session.commit()
    assert _deliveries("audit.failed") == [] and _deliveries("audit.finished") == []


def test_an_audit_whose_worker_died_sends_audit_failed_after_the_commit(
        app, site, receiver, make_endpoint):
    # The reaper ends the run for good inside a savepoint (on_final_failure): the delivery
    # it queues must reach the queue after the reaper's commit, not at the savepoint's
    # release (which would wait on SQLite's write lock the reaper itself holds).
    issued = make_endpoint(events=("audit.failed",))
    lead = _lead(site)
    run = audit_operations.request_audit(lead, SYSTEM)
    db.session.commit()
    results.begin_audit(run.id, lead.id, lead.website_url)  # the worker had started it
    run.status, run.attempt, run.lease_token = RunStatus.RUNNING, run.max_attempts, "gone"
    run.lease_expires_at = utcnow() - timedelta(seconds=5)
    db.session.commit()
    started = time.monotonic()
    assert runs.reap()["dead"] == 1
    assert time.monotonic() - started < 5
    [delivery] = _deliveries("audit.failed")
    hook_run = run_of(delivery.id)
    assert hook_run.enqueued_at is not None  # handed over, and the hand-over recorded
    assert execute(hook_run.id) == "succeeded"
    [got] = receiver.requests
    signing.verify_headers(issued.secret, got.body, got.headers)
    assert json.loads(got.body)["data"]["error_code"] == "lease_expired"
