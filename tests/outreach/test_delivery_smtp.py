"""Sending approved outreach to a real SMTP server (aiosmtpd on loopback, STARTTLS and AUTH
required, a certificate trusted only through SMTP_CA_FILE): the bytes received, at most
once, and every way the server can say no."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from deliveryhelpers import SmtpServer, approved_message
from sqlalchemy import select

from app.extensions import db
from app.jobs import runs
from app.models import (
    Activity,
    BlacklistEntry,
    BlacklistReason,
    Campaign,
    Lead,
    LeadStatus,
    Outreach,
    OutreachStatus,
    Run,
    RunStatus,
)
from app.models.base import utcnow
from app.outreach import controls, delivery, pacing, queries, unsubscribe
from app.outreach.history import record_status

OS = OutreachStatus


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp: SmtpServer) -> dict[str, Any]:
    return {**app_config, **smtp.config(), "PUBLIC_BASE_URL": "https://pitch.example.com",
            "OUTREACH_PAUSE_AFTER_FAILURES": 3}


def _reload(o: Outreach) -> Outreach:
    db.session.expire_all()
    fresh = db.session.get(Outreach, o.id)
    assert fresh is not None
    return fresh


def _send_run(o: Outreach) -> Run:
    run = db.session.scalars(select(Run).where(Run.kind == "outreach_send",
                                               Run.subject_id == o.id)
                             .order_by(Run.id.desc())).first()
    assert run is not None
    return run


def _due_now(run: Run) -> None:
    """Time passes: a run waiting for its retry becomes due."""
    run_id = run.id
    run.not_before = utcnow() - timedelta(seconds=1)
    db.session.commit()  # (the test's session must hold no transaction while runs work)
    runs.submit([run_id])


def test_approved_message_is_sent_once_with_every_header(app, smtp, drain):
    o = approved_message()
    drain()
    got = smtp.wait_for(1)
    o = _reload(o)
    assert o.status == OS.SENT, o.last_error
    msg = got[0].message
    assert got[0].rcpt_tos == ["ana@smile.example"]
    assert got[0].mail_from == "sam@brightweb.example"
    assert msg["Message-ID"] == o.message_id
    assert msg["From"] == "Sam Lee <sam@brightweb.example>"
    assert msg["To"] == "ana@smile.example"
    assert msg["Subject"] == o.subject
    token = unsubscribe.token_for(o.id)
    assert msg["List-Unsubscribe"] == f"<https://pitch.example.com/u/{token}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = msg.get_content()
    assert f"https://pitch.example.com/u/{token}" in body  # the visible link
    assert "1 Main St, Porto" in body  # the postal address
    assert o.body.strip().splitlines()[0] in body
    # exactly what was handed over is what we keep and show
    assert o.sent_raw == got[0].raw
    assert o.smtp_response.startswith("250")
    assert o.unsubscribe_token_hash == unsubscribe.hash_token(token)
    lead = db.session.get(Lead, o.lead_id)
    assert lead.status == LeadStatus.CONTACTED
    steps = [(e.from_status, e.to_status) for e in queries.history(o.id)]
    assert steps[-3:] == [(OS.APPROVED, OS.QUEUED), (OS.QUEUED, OS.SENDING),
                          (OS.SENDING, OS.SENT)]
    assert db.session.scalar(select(Activity).where(Activity.verb == "outreach.sent"))
    assert _send_run(o).status == RunStatus.SUCCEEDED
    # nothing more goes out: another dispatch, another drain
    delivery.kick()
    db.session.commit()
    drain()
    assert len(smtp.received) == 1 and smtp.connections == 1


def test_no_injected_headers_reach_the_server(app, smtp, drain):
    o = approved_message()
    # Tampering after approval (straight in the database, with the fingerprint redone so
    # the approval still looks valid): the builder refuses it, nothing is sent.
    for bad in ("Hi\r\nBcc: victim@elsewhere.example", "Hi\u2028Bcc: x@y.example",
                "Hi =?utf-8?q?=0D=0ABcc:_x@y.example?=", "Hi %0d%0aBcc: x@y.example"):
        o = _reload(o)
        if o.status != OS.APPROVED:
            o.approved_at = utcnow()
            record_status(o, OS.PENDING_APPROVAL, actor=delivery.SENDER)
            record_status(o, OS.APPROVED, actor=delivery.SENDER)
            o.message_id = "<pf1.test@brightweb.example>"
        o.subject = bad
        o.approved_fingerprint = queries.fingerprint(o)
        db.session.commit()
        delivery.kick()
        db.session.commit()
        drain()
        o = _reload(o)
        assert o.status == OS.DRAFT, (bad, o.status)
        assert "subject" in (o.last_error or "") and "Not sent" in o.last_error
    assert smtp.received == [] and smtp.connections == 0


def test_a_hard_bounce_fails_the_message_and_adds_the_address(app, smtp, drain):
    smtp.behaviour.rcpt_replies["ana@smile.example"] = "550 5.1.1 <ana@smile.example>: no such user"
    o = approved_message()
    drain()
    o = _reload(o)
    assert o.status == OS.FAILED
    assert "550" in o.last_error and "refused the recipient" in o.last_error
    entry = db.session.scalar(select(BlacklistEntry).where(
        BlacklistEntry.value == "ana@smile.example"))
    assert entry is not None and entry.reason == BlacklistReason.BOUNCED
    run = _send_run(o)
    assert run.status == RunStatus.FAILED and run.error_code == "smtp_permanent"
    assert "550" in run.error
    assert smtp.received == []
    # the campaign is not paused by a recipient's bounce
    assert db.session.scalars(select(Campaign)).one().paused_at is None


@pytest.mark.parametrize("where,reply", [
    ("rcpt", "554 5.7.1 <{addr}>: Relay access denied"),
    ("rcpt", "550 relaying denied"),
    ("rcpt", "530 5.7.0 Authentication required"),
    ("data", "554 5.7.1 Message rejected by policy"),
    ("data", "550 Administrative prohibition"),
])
def test_a_misconfigured_server_does_not_fill_do_not_contact(app, smtp, drain, where, reply):
    addrs = ["a@one.example", "b@two.example", "c@three.example"]
    for addr in addrs:
        if where == "rcpt":
            smtp.behaviour.rcpt_replies[addr] = reply.format(addr=addr)
    if where == "data":
        smtp.behaviour.data_reply = reply
    first = approved_message(name="A One", email=addrs[0])
    camp = db.session.scalars(select(Campaign)).one()
    approved_message(name="B Two", email=addrs[1], camp=camp)
    approved_message(name="C Three", email=addrs[2], camp=camp)
    drain()
    o = _reload(first)
    assert o.status == OS.FAILED and "not added to do-not-contact" in o.last_error
    assert _send_run(o).error_code == "smtp_rejected"
    assert db.session.scalars(select(BlacklistEntry)).all() == []
    assert {lead.status for lead in db.session.scalars(select(Lead))} != {
        LeadStatus.BLACKLISTED}
    camp = db.session.scalars(select(Campaign)).one()
    db.session.refresh(camp)
    assert camp.paused_at is not None and "3 SMTP failures" in camp.paused_reason


@pytest.mark.parametrize("reply,bounce", [
    ("550 5.1.1 <x@y.example>: Recipient address rejected: User unknown", True),
    ("550 Requested action not taken: mailbox unavailable", True),
    ("553 5.1.3 Bad destination mailbox address syntax", True),
    ("550 5.7.1 Relaying denied", False),
    ("554 5.7.1 Service unavailable; Client host blocked", False),
    ("550 relay not permitted", False),
    ("535 5.7.8 Authentication credentials invalid", False),
    ("550 5.1.7 Bad sender's mailbox address syntax", False),
    ("554 Transaction failed", False),
])
def test_only_unknown_mailboxes_are_bounces(reply, bounce):
    from app import mail

    code = int(reply[:3])
    assert mail.is_bounce(code, reply[4:]) is bounce


def test_a_4xx_is_retried_and_then_sent_once(app, smtp, drain):
    smtp.behaviour.mail_reply = "451 4.3.0 Try again later"
    o = approved_message()
    drain()
    o = _reload(o)
    assert o.status == OS.QUEUED
    assert "451" in o.last_error and "tried again" in o.last_error
    run = _send_run(o)
    assert run.status == RunStatus.PENDING and run.not_before > utcnow()
    assert run.error_code == "smtp_temporary"
    smtp.behaviour.mail_reply = None
    _due_now(run)
    drain()
    o = _reload(o)
    assert o.status == OS.SENT and o.attempts == 2
    assert len(smtp.wait_for(1)) == 1


def test_a_timeout_before_the_data_is_retried(app, smtp, drain):
    smtp.behaviour.rcpt_delay = 3  # the client waits 2 s
    o = approved_message()
    drain()
    o = _reload(o)
    assert o.status == OS.QUEUED
    assert "no answer in time" in o.last_error
    assert _send_run(o).status == RunStatus.PENDING


@pytest.mark.parametrize("how", ["timeout", "drop"])
def test_no_answer_after_the_whole_message_is_unknown_never_resent(app, smtp, drain, how):
    if how == "timeout":
        smtp.behaviour.data_delay = 3
    else:
        smtp.behaviour.drop_after_data = True
    o = approved_message()
    drain()
    o = _reload(o)
    assert o.status == OS.UNKNOWN
    assert "may have been delivered" in o.last_error
    run = _send_run(o)
    assert run.status == RunStatus.FAILED and run.error_code == "smtp_unknown"
    smtp.behaviour.data_delay, smtp.behaviour.drop_after_data = 0, False
    delivery.kick()
    db.session.commit()
    drain()
    assert _reload(o).status == OS.UNKNOWN
    assert smtp.connections == 1  # never tried again


def test_a_requeued_run_finding_sending_marks_unknown_without_connecting(app, smtp, drain):
    o = approved_message()
    # The dispatcher queues the send run; its first attempt claims it and commits
    # ``sending``, then the worker dies before (or during) SMTP.
    pacing.dispatch()
    run = _send_run(o)
    claimed = runs.claim(run.id, 60)
    assert claimed is not None
    result = delivery.claim_message(o.id, app.config)
    assert isinstance(result, delivery.Claimed)
    db.session.commit()
    assert _reload(o).status == OS.SENDING
    # The lease runs out; the reaper hands the run over again.
    db.session.get(Run, run.id).lease_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert runs.reap()["requeued"] == 1
    drain()
    o = _reload(o)
    assert o.status == OS.UNKNOWN
    assert "not sent again" in queries.history(o.id)[-1].note
    assert smtp.connections == 0 and smtp.received == []
    assert _send_run(o).status == RunStatus.SUCCEEDED
    # a person settles it
    controls.settle(o, sent=True, actor=delivery.SENDER)
    db.session.commit()
    assert _reload(o).status == OS.SENT


def test_repeated_smtp_failures_pause_the_campaign(app, smtp, drain):
    smtp.behaviour.mail_reply = "421 4.7.0 Too many connections"
    first = approved_message(name="A One", email="a@one.example")
    camp = db.session.scalars(select(Campaign)).one()
    approved_message(name="B Two", email="b@two.example", camp=camp)
    approved_message(name="C Three", email="c@three.example", camp=camp)
    drain()
    camp = db.session.scalars(select(Campaign)).one()
    db.session.refresh(camp)
    assert camp.paused_at is not None
    assert "3 SMTP failures in a row" in camp.paused_reason and "421" in camp.paused_reason
    # the retries find the campaign paused: the messages wait, approved, slots given back
    smtp.behaviour.mail_reply = None
    for run in db.session.scalars(select(Run).where(Run.kind == "outreach_send",
                                                    Run.status == RunStatus.PENDING)).all():
        _due_now(run)
    drain()
    waiting = db.session.scalars(select(Outreach)).all()
    assert {o.status for o in waiting} == {OS.APPROVED}
    assert all(o.slot_at is None for o in waiting)
    assert smtp.received == []
    # resume: everything goes out
    controls.resume(camp, actor=delivery.SENDER)
    db.session.commit()
    drain()
    assert len(smtp.wait_for(3)) == 3
    assert _reload(first).status == OS.SENT


def test_login_refused_and_untrusted_certificate_are_clear(app, smtp, drain):
    app.config["SMTP_PASSWORD"] = "wrong"
    o = approved_message()
    drain()
    o = _reload(o)
    assert o.status == OS.QUEUED and "refused the login" in o.last_error
    assert "wrong" not in o.last_error and "SMTP_PASSWORD" in o.last_error
    app.config["SMTP_PASSWORD"] = smtp.config()["SMTP_PASSWORD"]
    app.config["SMTP_CA_FILE"] = None  # the self-signed certificate is not trusted now
    _due_now(_send_run(o))
    drain()
    o = _reload(o)
    assert o.status == OS.QUEUED and "TLS" in o.last_error and "certificate" in o.last_error
    assert smtp.received == []


def test_with_sending_off_approved_messages_wait(app, smtp, drain):
    app.config["SMTP_HOST"] = None
    o = approved_message()
    drain()
    assert _reload(o).status == OS.APPROVED
    assert smtp.connections == 0
    app.config["SMTP_HOST"] = "127.0.0.1"
    delivery.kick()
    db.session.commit()
    drain()
    assert _reload(o).status == OS.SENT


def test_do_not_contact_added_after_approval_stops_the_send(app, smtp, drain):
    from app.leads import dnc

    o = approved_message()
    dnc.add([(None, "ana@smile.example")], None)
    db.session.commit()
    drain()
    o = _reload(o)
    assert o.status == OS.CANCELED and "do-not-contact" in o.last_error
    assert smtp.connections == 0


def test_send_test_email(app, smtp):
    answer = controls.send_test(app.config, to="me@agency.example", actor=delivery.SENDER)
    assert answer.startswith("250")
    got = smtp.wait_for(1)
    assert got[0].rcpt_tos == ["me@agency.example"]
    assert got[0].message["Subject"] == "PitchFast test email"
    row = db.session.scalar(select(Activity).where(Activity.verb == "outreach.test_email"))
    assert row is not None and "me@agency.example" in row.summary


def test_the_cli_calls_the_same_operations(app, smtp, drain, runner):
    from app.cli import main

    result = runner.invoke(main, ["outreach", "send-test", "me@agency.example"])
    assert result.exit_code == 0, result.output
    assert "Sent to me@agency.example" in result.output
    assert smtp.wait_for(1)[0].rcpt_tos == ["me@agency.example"]
    smtp.behaviour.drop_after_data = True
    o = approved_message()
    drain()
    assert _reload(o).status == OS.UNKNOWN
    result = runner.invoke(main, ["outreach", "settle", str(o.id), "failed"])
    assert result.exit_code == 0, result.output
    assert _reload(o).status == OS.FAILED
    result = runner.invoke(main, ["outreach", "resume", "dentists"])
    assert result.exit_code == 1 and "not paused" in result.output
    assert "0 email(s) queued" in runner.invoke(main, ["outreach", "dispatch"]).output


def test_an_internationalized_domain_goes_out_in_its_ascii_form(app, smtp, drain):
    o = approved_message(email="info@müller.de")
    assert o.recipient == "info@müller.de"
    drain()
    o = _reload(o)
    assert o.status == OS.SENT, o.last_error
    got = smtp.wait_for(1)
    assert got[0].rcpt_tos == ["info@xn--mller-kva.de"]
    assert got[0].message["To"] == "info@xn--mller-kva.de"


def test_a_non_ascii_local_part_is_refused_at_draft_with_a_clear_message(app):
    import authoring_support as f

    from app.activity import SYSTEM
    from app.outreach import operations as ops

    f.agency()
    lead = f.lead(f.campaign(), email="jörg@example.de")
    with pytest.raises(ops.OutreachError, match="non-ASCII characters before the @"):
        ops.draft_for_lead(lead, actor=SYSTEM)


def test_deliver_turns_unencodable_addresses_into_a_mail_error(app, smtp):
    from app import mail

    raw = mail.plain_message(from_="a@b.example", to="x@y.example", subject="t", body="x")
    # an internationalized domain is sent in its ASCII form, straight to the real server
    mail.deliver(smtp.config(), raw, envelope_from="a@b.example", to="info@müller.de")
    assert smtp.wait_for(1)[0].rcpt_tos == ["info@xn--mller-kva.de"]
    # a non-ASCII local part has no ASCII form: a MailError, no connection opened
    before = smtp.connections
    with pytest.raises(mail.MailError) as caught:
        mail.deliver(smtp.config(), raw, envelope_from="a@b.example", to="jörg@example.de")
    assert caught.value.kind == "rejected" and "SMTPUTF8" in str(caught.value)
    assert smtp.connections == before


def test_a_window_closing_between_dispatch_and_send_puts_the_message_back(app, smtp, drain):
    o = approved_message()
    pacing.dispatch()
    o = _reload(o)
    assert o.status == OS.QUEUED and o.slot_at is not None
    # The window closes before the send run starts (set the window to one not open now).
    camp = db.session.scalars(select(Campaign)).one()
    now = utcnow()
    minute = now.hour * 60 + now.minute
    camp.timezone = "UTC"
    camp.send_window_start, camp.send_window_end = (
        (minute + 60, minute + 120) if minute < 1200 else (0, 60))
    db.session.commit()
    drain()
    o = _reload(o)
    assert o.status == OS.APPROVED and o.slot_at is None and o.recipient_domain is None
    assert "sending window" in (o.last_error or "")
    assert smtp.connections == 0 and smtp.received == []
    assert _send_run(o).status == RunStatus.SUCCEEDED


def test_a_real_smtp_server_without_an_https_base_url_sends_nothing(app, smtp, drain):
    o = approved_message()
    pacing.dispatch()  # queued while the set-up was fine
    app.config.update(SMTP_HOST="smtp.example.com", SMTP_SECURITY="starttls",
                      PUBLIC_BASE_URL="http://pitch.example.com")
    assert delivery.sending_blocked(app.config) and not delivery.sending_enabled(app.config)
    drain()
    o = _reload(o)
    assert o.status == OS.APPROVED and o.slot_at is None
    assert "PUBLIC_BASE_URL" in o.last_error and "https://" in o.last_error
    assert pacing.dispatch() == {"campaigns": 0, "queued": 0}
    assert _reload(o).status == OS.APPROVED
    # loopback SMTP (a test server) or an https:// address: not blocked
    assert delivery.sending_blocked({**app.config, "SMTP_HOST": "127.0.0.1"}) is None
    assert delivery.sending_blocked({**app.config, "PUBLIC_BASE_URL": "https://p.example"}) is None
