"""The admin pages: register (the secret shown once, never again), refuse bad input with a
message and nothing written, send a test event, rotate, disable and re-enable, delete; the
delivery log and the Runs page show deliveries. Members are refused."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from webhook_support import execute, run_of

from app.extensions import db
from app.models import Activity, WebhookDelivery, WebhookEndpoint
from app.webhooks import signing


def _register(client, receiver, **data):
    form = {"url": receiver.url(), "description": "n8n: audits to CRM",
            "events": ["audit.finished", "page.viewed"], **data}
    return client.post("/webhooks/new", data=form)


def _secret(html: str) -> str:
    found = re.search(r'id="webhook-secret" class="mono" value="(whsec_[A-Za-z0-9_-]+)"', html)
    assert found, html[:3000]
    return found.group(1)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_members_cannot_reach_the_webhook_pages(app, client, auth):
    auth.login(role="member")
    for path in ("/webhooks/", "/webhooks/new", "/webhooks/1", "/webhooks/deliveries/1"):
        assert client.get(path).status_code == 403
    assert client.post("/webhooks/new", data={"url": "https://x.example/"}).status_code == 403
    assert b"/webhooks/" not in client.get("/").data  # no nav entry either


def test_register_shows_the_secret_once(app, client, auth, receiver):
    auth.login()
    resp = _register(client, receiver)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    secret = _secret(resp.get_data(as_text=True))
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.events == ["audit.finished", "page.viewed"]
    assert endpoint.description == "n8n: audits to CRM"
    assert secret == signing.derive_secret(app.config["SECRET_KEY"], endpoint.secret_salt)
    for path in ("/webhooks/", f"/webhooks/{endpoint.id}"):
        page = client.get(path).get_data(as_text=True)
        assert receiver.url() in page and secret not in page
    assert _count(Activity) >= 1


def test_bad_input_gets_a_message_and_writes_nothing(app, client, auth, receiver):
    auth.login()
    cases = [
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "not a public address"),
        ({"url": "javascript:alert(1)"}, "must start with https://"),
        ({"url": "https://user:pw@example.com/"}, "user name or password"),
        ({"url": ""}, "Enter the URL"),
        ({"url": "https://x.example/" + "a" * 2100}, "longer than 2000"),
        ({"events": []}, "Choose at least one event"),
        ({"events": ["audit.exploded"]}, "not a valid choice"),
    ]
    for data, message in cases:
        resp = _register(client, receiver, **data)
        assert resp.status_code == 422, data
        assert message in resp.get_data(as_text=True), (data, resp.get_data(as_text=True)[:500])
    assert _count(WebhookEndpoint) == 0


def test_send_a_test_event_and_read_the_log(app, client, auth, receiver):
    auth.login()
    secret = _secret(_register(client, receiver).get_data(as_text=True))
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    resp = client.post(f"/webhooks/{endpoint.id}/test", follow_redirects=True)
    assert "Test event queued" in resp.get_data(as_text=True)
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert 'hx-trigger="every 2s"' in resp.get_data(as_text=True)  # live while pending
    assert execute(run_of(delivery.id).id) == "succeeded"
    [got] = receiver.requests
    signing.verify_headers(secret, got.body, got.headers)

    page = client.get(f"/webhooks/{endpoint.id}").get_data(as_text=True)
    assert delivery.public_id in page and "delivered" in page and "HTTP 200" in page
    block = client.get(f"/webhooks/{endpoint.id}", headers={"HX-Request": "true"})
    assert block.status_code == 286  # nothing pending: the log stops polling
    detail = client.get(f"/webhooks/deliveries/{delivery.id}").get_data(as_text=True)
    assert "webhook.test" in detail and delivery.public_id in detail

    # Deliveries are internal jobs: admins see them when they ask (members never do).
    assert "webhook.test" not in client.get("/runs/").get_data(as_text=True)
    runs_page = client.get("/runs/?internal=1").get_data(as_text=True)
    assert f"webhook.test → 127.0.0.1:{receiver.port}" in runs_page
    run_page = client.get(f"/runs/{delivery.run_id}").get_data(as_text=True)
    assert f"/webhooks/deliveries/{delivery.id}" in run_page
    assert "delivered, HTTP 200" in run_page  # the run's log


def test_rotate_disable_enable_delete(app, client, auth, receiver):
    auth.login()
    first = _secret(_register(client, receiver).get_data(as_text=True))
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    rotated = client.post(f"/webhooks/{endpoint.id}/rotate")
    second = _secret(rotated.get_data(as_text=True))
    assert second != first and "no longer works" in rotated.get_data(as_text=True)

    page = client.post(f"/webhooks/{endpoint.id}/enabled", follow_redirects=True)
    assert "Endpoint disabled" in page.get_data(as_text=True)
    assert "Re-enable" in page.get_data(as_text=True)
    refused = client.post(f"/webhooks/{endpoint.id}/test", follow_redirects=True)
    assert "Re-enable the endpoint" in refused.get_data(as_text=True)
    assert _count(WebhookDelivery) == 0
    client.post(f"/webhooks/{endpoint.id}/enabled")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).enabled

    resp = client.post(f"/webhooks/{endpoint.id}/delete", follow_redirects=True)
    assert "Endpoint deleted" in resp.get_data(as_text=True)
    assert _count(WebhookEndpoint) == 0
    assert client.get(f"/webhooks/{endpoint.id}").status_code == 404
