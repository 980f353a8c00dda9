"""Deliveries to a real HTTP receiver on loopback: signed as documented, retried on 5xx,
not on 4xx, endpoints disabled after repeated failures; hostile URLs refused at
registration and again at delivery (DNS rebinding), connections pinned to the address
that was checked."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select
from webhook_support import execute, run_of

from app.activity import SYSTEM
from app.extensions import db
from app.models import Activity, DeliveryStatus, RunStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks import operations, signing
from app.webhooks.events import emit
from app.webhooks.operations import WebhookError

PUBLIC_IP = "93.184.216.34"  # never dialled: the tripwire routes it to loopback or refuses


def _endpoint(issued) -> WebhookEndpoint:
    db.session.expire_all()
    return db.session.get(WebhookEndpoint, issued.endpoint.id)


def _emit(event: str = "audit.finished", **data) -> list[int]:
    ids = [d.id for d in emit(event, data or {"audit_id": 7, "lead_id": 3})]
    db.session.commit()
    return ids


def test_a_test_event_reaches_the_receiver_signed(app, receiver, make_endpoint):
    issued = make_endpoint()
    delivery = operations.send_test(issued.endpoint, actor=SYSTEM)
    db.session.commit()
    assert execute(run_of(delivery.id).id) == "succeeded"

    [got] = receiver.requests
    body = json.loads(got.body)
    assert got.path == "/hook"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-PitchFast-Event"] == "webhook.test" == body["event"]
    assert got.headers["X-PitchFast-Delivery"] == body["id"] == delivery.public_id
    assert set(body) == {"id", "event", "created_at", "data"}
    assert body["data"]["endpoint_id"] == issued.endpoint.id
    # The receiver's check, with the secret shown once at registration.
    ts = signing.verify_headers(issued.secret, got.body, got.headers)
    assert got.headers["X-PitchFast-Signature"] == signing.signature(issued.secret, ts, got.body)
    db.session.expire_all()
    row = db.session.get(WebhookDelivery, delivery.id)
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 1
    assert row.status_code == 200 and row.response_excerpt == '{"ok": true}'
    endpoint = _endpoint(issued)
    assert endpoint.last_delivery_status == "delivered" and endpoint.last_status_code == 200


def test_replayed_and_forged_deliveries_are_detectable(app, receiver, make_endpoint):
    issued = make_endpoint()
    [delivery_id] = _emit(audit_id=11)
    execute(run_of(delivery_id).id)
    [got] = receiver.requests
    ts = int(got.headers["X-PitchFast-Timestamp"])
    sig = got.headers["X-PitchFast-Signature"]
    assert signing.verify(issued.secret, got.body, str(ts), sig) == ts
    with pytest.raises(signing.SignatureError) as replay:  # the same request 6 minutes later
        signing.verify(issued.secret, got.body, str(ts), sig, now=ts + 360)
    assert replay.value.code == "expired"
    forged = got.body.replace(b'"audit_id":11', b'"audit_id":12')
    with pytest.raises(signing.SignatureError) as tampered:
        signing.verify(issued.secret, forged, str(ts), sig)
    assert tampered.value.code == "mismatch"
    rotated = operations.rotate_secret(_endpoint(issued), actor=SYSTEM, config=app.config)
    db.session.commit()
    assert rotated.secret != issued.secret
    with pytest.raises(signing.SignatureError):  # the old secret's signatures stop passing
        signing.verify(rotated.secret, got.body, str(ts), sig)


def test_only_subscribed_enabled_endpoints_get_a_delivery(app, receiver, make_endpoint):
    wants = make_endpoint(events=("audit.finished", "audit.failed"))
    make_endpoint(events=("page.viewed",))
    off = make_endpoint()
    operations.disable_endpoint(_endpoint(off), actor=SYSTEM)
    db.session.commit()
    ids = _emit()
    rows = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids))).all()
    assert [r.endpoint_id for r in rows] == [wants.endpoint.id]
    assert run_of(ids[0]).subject_type == "webhook_delivery"
    with pytest.raises(ValueError, match="unknown webhook event"):
        emit("audit.exploded", {})
    db.session.rollback()  # an emit in a transaction that rolls back queues nothing
    emit("audit.failed", {"audit_id": 1})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_a_500_is_retried_with_the_same_delivery_id_then_delivered(app, receiver, make_endpoint):
    issued = make_endpoint()
    receiver.statuses[:] = [500, 503]
    [delivery_id] = _emit()
    run_id = run_of(delivery_id).id
    assert execute(run_id, now=False) == "retry"
    run = run_of(delivery_id)
    assert run.status == RunStatus.PENDING and run.not_before is not None  # backoff
    assert run.error_code == "http_500"
    row = db.session.get(WebhookDelivery, delivery_id)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.status_code == 500 and "\u202e" not in (row.response_excerpt or "")
    assert execute(run_id) == "retry"
    assert execute(run_id) == "succeeded"
    assert [r.headers["X-PitchFast-Delivery"] for r in receiver.requests] == [row.public_id] * 3
    assert len({r.body for r in receiver.requests}) == 1  # the same bytes every time
    for r in receiver.requests:
        signing.verify_headers(issued.secret, r.body, r.headers)
    db.session.expire_all()
    row = db.session.get(WebhookDelivery, delivery_id)
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 3
    assert _endpoint(issued).consecutive_failures == 0


@pytest.mark.parametrize(("status", "outcome"), [
    (408, "retry"), (429, "retry"), (502, "retry"),
    (400, "failed"), (404, "failed"), (410, "failed"), (302, "failed"),
])
def test_which_answers_are_retried(app, receiver, make_endpoint, status, outcome):
    make_endpoint()
    receiver.statuses[:] = [status]
    [delivery_id] = _emit()
    assert execute(run_of(delivery_id).id) == outcome
    assert len(receiver.requests) == 1  # a redirect is never followed
    if outcome == "failed":
        db.session.expire_all()
        row = db.session.get(WebhookDelivery, delivery_id)
        assert row.status == DeliveryStatus.FAILED and row.error_code == f"http_{status}"


def test_a_refused_connection_is_retried(app, receiver, make_endpoint, tripwire, resolver):
    resolver.table["down.example"] = [[PUBLIC_IP]]
    make_endpoint(url="https://down.example/hook")
    [delivery_id] = _emit()
    assert execute(run_of(delivery_id).id) == "retry"
    assert tripwire.attempts == [(PUBLIC_IP, 443)]
    assert run_of(delivery_id).error_code == "connection_refused"


def test_a_name_that_does_not_exist_fails_at_once(app, receiver, make_endpoint, tripwire,
                                                 resolver):
    """NXDOMAIN is permanent: the delivery fails on its first attempt (no six tries over
    half an hour); a lookup that merely failed (SERVFAIL, a timeout) is retried."""
    resolver.table["gone.example"] = [[PUBLIC_IP]]
    resolver.table["flaky.example"] = [[PUBLIC_IP]]
    make_endpoint(url="https://gone.example/hook")
    make_endpoint(url="https://flaky.example/hook")
    del resolver.table["gone.example"], resolver.table["flaky.example"]
    resolver.missing.add("gone.example")
    gone, flaky = _emit()
    assert execute(run_of(gone).id) == "failed"
    run = run_of(gone)
    assert run.error_code == "dns_failure" and run.attempt == 1
    assert "gone.example" in run.error
    db.session.expire_all()
    assert db.session.get(WebhookDelivery, gone).status == DeliveryStatus.FAILED
    assert execute(run_of(flaky).id) == "retry"
    assert run_of(flaky).error_code == "dns_failure"
    assert tripwire.attempts == []  # neither was dialled


def test_repeated_failures_disable_the_endpoint_with_the_reason(app, receiver, make_endpoint):
    issued = make_endpoint()
    receiver.statuses[:] = [410, 410, 410]
    for n in range(3):  # WEBHOOK_DISABLE_AFTER = 3 in these tests
        assert _endpoint(issued).enabled
        [delivery_id] = _emit(audit_id=n)
        assert execute(run_of(delivery_id).id) == "failed"
    endpoint = _endpoint(issued)
    assert not endpoint.enabled and endpoint.consecutive_failures == 3
    assert "3 deliveries in a row" in endpoint.disabled_reason
    assert "http_410" in endpoint.disabled_reason
    assert db.session.scalar(select(func.count()).select_from(Activity).where(
        Activity.verb == "webhook.disabled")) == 1
    assert _emit() == []  # nothing more is queued for it
    with pytest.raises(WebhookError):
        operations.send_test(endpoint, actor=SYSTEM)
    operations.enable_endpoint(endpoint, actor=SYSTEM)
    db.session.commit()
    endpoint = _endpoint(issued)
    assert endpoint.enabled and endpoint.consecutive_failures == 0
    assert endpoint.disabled_reason is None
    [delivery_id] = _emit()
    assert execute(run_of(delivery_id).id) == "succeeded"


def test_a_success_ends_the_run_of_failures(app, receiver, make_endpoint):
    issued = make_endpoint()
    receiver.statuses[:] = [410, 410]
    for _ in range(2):
        [delivery_id] = _emit()
        execute(run_of(delivery_id).id)
    assert _endpoint(issued).consecutive_failures == 2
    [delivery_id] = _emit()
    assert execute(run_of(delivery_id).id) == "succeeded"
    assert _endpoint(issued).consecutive_failures == 0 and _endpoint(issued).enabled


def test_deliveries_queued_before_a_disable_are_skipped(app, receiver, make_endpoint):
    issued = make_endpoint()
    [delivery_id] = _emit()
    operations.disable_endpoint(_endpoint(issued), actor=SYSTEM)
    db.session.commit()
    assert execute(run_of(delivery_id).id) == "failed"
    assert receiver.requests == []
    db.session.expire_all()
    assert db.session.get(WebhookDelivery, delivery_id).status == DeliveryStatus.SKIPPED
    assert _endpoint(issued).consecutive_failures == 0  # not the receiver's fault


def test_deleting_an_endpoint_cancels_its_pending_deliveries(app, receiver, make_endpoint):
    issued = make_endpoint()
    [delivery_id] = _emit()
    run_id = run_of(delivery_id).id
    operations.delete_endpoint(_endpoint(issued), actor=SYSTEM)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, issued.endpoint.id) is None
    assert db.session.get(WebhookDelivery, delivery_id) is None
    assert execute(run_id) == "not-claimed"
    assert run_of_status(run_id) == RunStatus.CANCELED
    assert receiver.requests == []


def run_of_status(run_id: int) -> RunStatus:
    from app.models import Run

    db.session.expire_all()
    return db.session.get(Run, run_id).status


HOSTILE = [
    ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
    ("http://10.1.2.3/hook", "blocked_address"),
    ("http://[::1]/hook", "blocked_address"),
    ("http://[::ffff:127.0.0.1]/hook", "blocked_address"),
    ("http://0x7f000001/hook", "blocked_address"),
    ("http://localhost/hook", "blocked_address"),
    ("https://metadata.example/hook", "resolves"),  # name → 169.254.169.254
    ("https://intranet.example/hook", "resolves"),  # name → 10.0.0.5
    ("https://v6.example/hook", "resolves"),  # name → ::1
    ("https://mixed.example/hook", "resolves"),  # one public and one private answer
    ("https://nowhere.example/hook", "looked up"),
    ("file:///etc/passwd", "https://"),
    ("gopher://example.com/", "https://"),
    ("https://user:pw@example.com/hook", "user name"),
    ("https://example.com:8443/hook", "default port"),
    ("http://127.0.0.1:1/hook", "default port"),  # loopback, another port: not allowlisted
    ("", "Enter the URL"),
]


@pytest.mark.parametrize(("url", "why"), HOSTILE)
def test_hostile_urls_are_refused_at_registration(app, resolver, tripwire, url, why):
    resolver.table.update({"metadata.example": [["169.254.169.254"]],
                           "intranet.example": [["10.0.0.5"]], "v6.example": [["::1"]],
                           "mixed.example": [[PUBLIC_IP, "192.168.1.1"]]})
    with pytest.raises(WebhookError) as err:
        operations.create_endpoint(url, ["audit.finished"], actor=SYSTEM, config=app.config)
    db.session.rollback()
    assert err.value.field == "url"
    if why == "blocked_address":
        assert "private, loopback, link-local" in err.value.message
    else:
        assert why in err.value.message
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
    assert tripwire.attempts == []


def test_dns_rebinding_is_refused_at_delivery(app, receiver, resolver, tripwire, make_endpoint):
    # Public when registered, private when delivered: the check at delivery refuses it, and
    # nothing is dialled (the tripwire sees no connection at all).
    resolver.table["rebind.example"] = [[PUBLIC_IP], ["10.0.0.9"]]
    make_endpoint(url="https://rebind.example/hook")
    [delivery_id] = _emit()
    assert execute(run_of(delivery_id).id) == "failed"  # permanent: not retried
    assert tripwire.attempts == [] and receiver.requests == []
    db.session.expire_all()
    row = db.session.get(WebhookDelivery, delivery_id)
    assert row.status == DeliveryStatus.FAILED and row.error_code == "blocked_address"
    assert "10.0.0.9" in row.error
    assert resolver.lookups == ["rebind.example", "rebind.example"]


@pytest.mark.parametrize("private", ["169.254.169.254", "::1", "127.0.0.1"])
def test_a_name_turning_private_is_refused_at_delivery(app, receiver, resolver, tripwire,
                                                       make_endpoint, private):
    resolver.table["turns.example"] = [[PUBLIC_IP], [private]]
    make_endpoint(url="http://turns.example/hook")
    [delivery_id] = _emit()
    assert execute(run_of(delivery_id).id) == "failed"
    assert tripwire.attempts == [] and receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(app, receiver, resolver, tripwire,
                                                            make_endpoint):
    # The name resolves to a public address; the tripwire sends that address (and only it)
    # to the loopback receiver: the request arrives with the endpoint's host name.
    resolver.table["hooks.example"] = [[PUBLIC_IP]]
    tripwire.routes[(PUBLIC_IP, 80)] = ("127.0.0.1", receiver.port)
    issued = make_endpoint(url="http://hooks.example/in?x=1")
    [delivery_id] = _emit()
    assert execute(run_of(delivery_id).id) == "succeeded"
    assert tripwire.attempts == [(PUBLIC_IP, 80)]
    [got] = receiver.requests
    assert got.path == "/in?x=1" and got.headers["Host"] == "hooks.example"
    signing.verify_headers(issued.secret, got.body, got.headers)


def test_a_slow_endpoint_times_out_and_is_retried(app, receiver, make_endpoint):
    make_endpoint()
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    receiver.delay = 2.5
    [delivery_id] = _emit()
    started = time.monotonic()
    assert execute(run_of(delivery_id).id) == "retry"
    assert time.monotonic() - started < 2.2
    assert run_of(delivery_id).error_code == "timeout"


def test_a_huge_answer_is_read_only_up_to_the_cap(app, receiver, make_endpoint):
    make_endpoint()
    receiver.body_size = 50_000_000
    [delivery_id] = _emit()
    started = time.monotonic()
    assert execute(run_of(delivery_id).id) == "succeeded"
    assert time.monotonic() - started < 5
    db.session.expire_all()
    assert len(db.session.get(WebhookDelivery, delivery_id).response_excerpt) == 500


def test_the_signing_secret_is_stored_nowhere(app, receiver, make_endpoint):
    issued = make_endpoint()
    [delivery_id] = _emit()
    execute(run_of(delivery_id).id)
    operations.rotate_secret(_endpoint(issued), actor=SYSTEM, config=app.config)
    db.session.commit()
    dump = []
    for table in db.metadata.sorted_tables:
        dump += [repr(tuple(row)) for row in db.session.execute(table.select())]
    text = "\n".join(dump)
    assert issued.secret not in text and issued.secret.removeprefix("whsec_") not in text
