"""The sending pages (member only, CSRF on): the banner while SMTP is off, the SMTP card
(never the password), the pace form and its errors, resume after an automatic pause,
a message exactly as sent, settling one whose fate is unknown."""

from __future__ import annotations

from typing import Any

import authoring_support as f
import pytest
from deliveryhelpers import approved_message

from app.extensions import db
from app.models import Campaign, Lead, LeadStatus, Outreach, OutreachStatus
from app.models.base import utcnow
from app.outreach import delivery
from app.outreach.history import record_status

OS = OutreachStatus
RAW = b"From: Sam <sam@brightweb.example>\r\nSubject: Hello\r\n\r\nHi <b>Ana</b>\r\n"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "WTF_CSRF_ENABLED": True}


def _csrf(client: Any, path: str) -> str:
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page) or \
        re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert match, page[:300]
    return match.group(1)


def _login(client: Any, create_user: Any) -> Any:
    user = create_user(email="ann@agency.example", role="member")
    token = _csrf(client, "/login")
    resp = client.post("/login", data={"email": user.email, "password": "correct horse battery",
                                       "csrf_token": token})
    assert resp.status_code == 302
    return user


def _unknown_message() -> Outreach:
    o = approved_message()
    record_status(o, OS.QUEUED, actor=delivery.SENDER)
    record_status(o, OS.SENDING, actor=delivery.SENDER)
    record_status(o, OS.UNKNOWN, actor=delivery.SENDER, note=delivery.UNKNOWN_NOTE)
    o.sent_raw, o.sending_at, o.last_error = RAW, utcnow(), "no answer after the data"
    db.session.commit()
    return o


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get("/sending/").status_code == 302
    assert client.post("/sending/test").status_code in (302, 400)


def test_sending_off_banner_and_how_to_turn_it_on(client, create_user):
    _login(client, create_user)
    page = client.get("/sending/").get_data(as_text=True)
    assert "Sending is off" in page and "SMTP_HOST" in page
    f.agency()
    f.campaign("dentists")
    db.session.commit()
    assert "Sending is off" in client.get("/campaigns/dentists").get_data(as_text=True)
    assert "Sending is off" in client.get("/outreach/").get_data(as_text=True)


def test_smtp_card_never_shows_the_password(app, client, create_user):
    app.config.update(SMTP_HOST="smtp.example.com", SMTP_PORT=587, SMTP_USERNAME="me@x.example",
                      SMTP_PASSWORD="s3cret-smtp-pass")
    _login(client, create_user)
    page = client.get("/sending/").get_data(as_text=True)
    assert "smtp.example.com:587" in page and "STARTTLS" in page
    assert "s3cret-smtp-pass" not in page and "Sending is off" not in page
    assert "Send a test email to me" in page


def test_real_smtp_without_https_base_url_shows_why_sending_is_blocked(app, client,
                                                                      create_user):
    app.config.update(SMTP_HOST="smtp.example.com", SMTP_PORT=587,
                      PUBLIC_BASE_URL="http://pitch.example.com")
    _login(client, create_user)
    f.agency()
    f.campaign("dentists")
    db.session.commit()
    for path in ("/sending/", "/outreach/", "/campaigns/dentists"):
        page = client.get(path).get_data(as_text=True)
        assert "Sending is blocked" in page and "PUBLIC_BASE_URL" in page, path
    app.config.update(PUBLIC_BASE_URL="https://pitch.example.com")
    assert "Sending is blocked" not in client.get("/sending/").get_data(as_text=True)


def test_test_email_needs_the_csrf_token_and_says_what_failed(app, client, create_user):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMTP_SECURITY="none",
                      SMTP_TIMEOUT_SECONDS=2)
    _login(client, create_user)
    assert client.post("/sending/test").status_code == 400
    token = _csrf(client, "/sending/")
    resp = client.post("/sending/test", data={"csrf_token": token}, follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "was not sent" in text and "connection refused" in text


def test_pace_form_errors_and_save(client, create_user):
    _login(client, create_user)
    f.agency()
    f.campaign("dentists")
    db.session.commit()
    token = _csrf(client, "/sending/campaigns/dentists/pace")
    bad = client.post("/sending/campaigns/dentists/pace", data={
        "csrf_token": token, "daily_cap": "0", "window_start": "18:00", "window_end": "09:00",
        "timezone": "Mars/Olympus"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Unknown time zone" in text and "must end after it starts" in text
    assert "Number must be between 1" in text or "between 1 and" in text
    ok = client.post("/sending/campaigns/dentists/pace", data={
        "csrf_token": token, "daily_cap": "40", "domain_daily_cap": "5",
        "min_spacing_seconds": "30", "window_start": "09:00", "window_end": "17:30",
        "timezone": "Europe/Lisbon"})
    assert ok.status_code == 303
    db.session.expire_all()
    camp = db.session.query(Campaign).filter_by(slug="dentists").one()
    assert (camp.daily_cap, camp.domain_daily_cap, camp.min_spacing_seconds,
            camp.send_window_start, camp.send_window_end, camp.timezone) == (
        40, 5, 30, 540, 1050, "Europe/Lisbon")


def test_paused_campaign_shows_why_and_resumes(client, create_user):
    _login(client, create_user)
    f.agency()
    camp = f.campaign("dentists")
    camp.paused_at = utcnow()
    camp.paused_reason = "5 SMTP failures in a row; the last: 421 busy"
    db.session.commit()
    page = client.get("/campaigns/dentists").get_data(as_text=True)
    assert "Sending paused by itself" in page and "421 busy" in page
    token = _csrf(client, "/campaigns/dentists")
    resp = client.post("/sending/campaigns/dentists/resume", data={"csrf_token": token})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(Campaign, camp.id).paused_at is None
    again = client.post("/sending/campaigns/dentists/resume", data={"csrf_token": token},
                        follow_redirects=True)
    assert "not paused" in again.get_data(as_text=True)


def test_message_as_sent_download_and_settle(client, create_user):
    _login(client, create_user)
    o = _unknown_message()
    page = client.get(f"/sending/outreach/{o.id}").get_data(as_text=True)
    assert "Subject: Hello" in page and "Hi &lt;b&gt;Ana&lt;/b&gt;" in page  # escaped
    assert "Did it arrive?" in page
    eml = client.get(f"/sending/outreach/{o.id}.eml")
    assert eml.data == RAW and eml.mimetype == "message/rfc822"
    assert "attachment" in eml.headers["Content-Disposition"]
    token = _csrf(client, f"/sending/outreach/{o.id}")
    assert client.post(f"/sending/outreach/{o.id}/settle",
                       data={"csrf_token": token, "outcome": "maybe"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Outreach, o.id).status == OS.UNKNOWN
    client.post(f"/sending/outreach/{o.id}/settle", data={"csrf_token": token, "outcome": "sent"})
    db.session.expire_all()
    o = db.session.get(Outreach, o.id)
    assert o.status == OS.SENT and o.sent_at is not None
    assert db.session.get(Lead, o.lead_id).status == LeadStatus.CONTACTED
    assert "settled by a person" in client.get(f"/sending/outreach/{o.id}").get_data(
        as_text=True)
    assert "/sending/outreach/" in client.get(f"/outreach/{o.id}").get_data(as_text=True)
