"""The prospect's page over HTTP: content, headers, images bound to the token, the same
404 for every dead link, bad input, view counting."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from publichelpers import PHONE_UA, agency
from sqlalchemy import select

from app.activity import SYSTEM
from app.extensions import db
from app.models import Activity, PublicLink, PublicView
from app.models.base import utcnow
from app.public import operations, queries


@pytest.fixture
def published(app, factory):
    agency()
    lead = factory.lead(name="Rosa's Dental")
    audit = factory.audit(lead)
    link = operations.publish(audit, actor=SYSTEM)
    db.session.commit()
    return link, queries.token_for(link)


def get(client, url, **headers):
    headers.setdefault("User-Agent", PHONE_UA)
    # buffered: the response is closed as a server closes it, which counts the view
    return client.get(url, headers=headers, buffered=True)


def link_state(link_id):
    """The link as stored now, without holding SQLite's write lock afterwards."""
    db.session.expire_all()
    link = db.session.get(PublicLink, link_id)
    state = (link.view_count, link.first_viewed_at)
    db.session.rollback()
    return state


def test_page_shows_the_audit_and_the_agency_with_strict_headers(client, published):
    link, token = published
    resp = get(client, f"/r/{token}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Rosa&#39;s Dental" in html and "Bright Pixel Studio" in html
    assert "Your phone number cannot be tapped to call" in html  # a problem, in plain words
    assert "The site is served securely over HTTPS" in html  # what is good
    assert 'href="tel:+15125550100"' in html and "https://brightpixel.example.com/book" in html
    assert "1 Congress Ave" in html
    assert "<script" not in html
    assert resp.headers["X-Robots-Tag"].startswith("noindex")
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "'unsafe-inline'" not in csp
    # Nothing internal: no audit/lead ids, no storage keys, no staff names.
    assert f"audits/{link.audit_id}/" not in html and "/files/" not in html
    # Every image is bound to the token and has its size.
    imgs = re.findall(r"<img [^>]*>", html)
    assert imgs and all("width=" in i and "height=" in i for i in imgs)
    for src in re.findall(r'<img [^>]*src="([^"]+)"', html):
        assert src.startswith(f"/r/{token}/")
        img = get(client, src)
        assert img.status_code == 200 and img.content_type == "image/jpeg"
        assert "max-age=2592000" in img.headers["Cache-Control"]


def test_dead_links_are_one_and_the_same_404(client, app, published, factory):
    link, token = published
    unknown = get(client, "/r/" + "A" * 43)
    operations.revoke(link, actor=SYSTEM)
    db.session.commit()
    revoked = get(client, f"/r/{token}")
    shot = get(client, f"/r/{token}/s/desktop-viewport.jpg")
    pdf = get(client, f"/r/{token}/pdf")
    bodies = {r.get_data() for r in (unknown, revoked, shot, pdf)}
    assert {r.status_code for r in (unknown, revoked, shot, pdf)} == {404}
    assert len(bodies) == 1
    assert revoked.headers["X-Robots-Tag"].startswith("noindex")


@pytest.mark.parametrize("bad", [
    "x", "A" * 42, "A" * 44, "A" * 5000, "%C3%A9" * 43, "..%2F..%2Fetc%2Fpasswd",
    "../../etc/passwd", "a/b/c", "%00", "%F0%9F%98%80" * 20, "<script>", "' OR 1=1 --",
])
def test_tokens_of_every_shape_get_the_clean_404(client, published, bad):
    resp = get(client, f"/r/{bad}")
    assert resp.status_code == 404
    assert b"This link does not open a page" in resp.data


def test_case_changed_token_is_dead(client, published):
    _, token = published
    assert get(client, f"/r/{token.swapcase()}").status_code == 404
    assert get(client, f"/r/{token}").status_code == 200


def test_screenshot_names_outside_the_snapshot_are_404(client, published):
    _, token = published
    for name in ["nope.jpg", "..", "desktop-viewport.jpg%00", "DESKTOP-VIEWPORT.JPG"]:
        assert get(client, f"/r/{token}/s/{name}").status_code == 404


def test_views_count_once_per_visitor_and_never_for_bots_head_or_prefetch(client, app,
                                                                          published):
    link, token = published
    link_id = link.id
    from app.models import WebhookDelivery, WebhookEndpoint

    db.session.add(WebhookEndpoint(url="https://hooks.example.com/in", events=["page.viewed"],
                                   secret_salt="s" * 32, enabled=True, consecutive_failures=0))
    db.session.commit()
    url = f"/r/{token}"
    client.head(url, headers={"User-Agent": PHONE_UA}, buffered=True)
    get(client, url, **{"Sec-Purpose": "prefetch"})
    get(client, url, Purpose="prefetch")
    for ua in ["", "Mozilla/5.0 (compatible; Googlebot/2.1)", "curl/8.0",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
               "Gecko) HeadlessChrome/120.0 Safari/537.36", "Slackbot-LinkExpanding 1.0"]:
        assert get(client, url, **{"User-Agent": ua}).status_code == 200
    assert link_state(link_id) == (0, None)
    get(client, url)
    get(client, url)  # the same visitor within half an hour
    count, first_at = link_state(link_id)
    assert count == 1 and first_at is not None
    get(client, url, **{"User-Agent": PHONE_UA + " other"})  # another visitor
    assert link_state(link_id)[0] == 2
    first = db.session.scalars(select(Activity).where(Activity.verb == "public.first_view")).all()
    assert len(first) == 1 and "Rosa's Dental audit page" in first[0].summary
    assert first[0].actor_label == "Prospect"
    # the webhook hears of the first real view only, not of every later one
    events = db.session.scalars(select(WebhookDelivery.event)).all()
    assert events == ["page.viewed"]
    visitors = db.session.scalars(select(PublicView.visitor)).all()
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in visitors)
    assert "127.0.0.1" not in "".join(visitors)


def test_record_view_counts_a_visitor_once_per_half_hour(app, published):
    link, _ = published
    start = utcnow()
    assert operations.record_view(link, visitor="v" * 64, now=start) is True
    # Again within the window (another process, or this one restarted): not counted.
    later = start + operations.VIEW_WINDOW - timedelta(seconds=1)
    assert operations.record_view(link, visitor="v" * 64, now=later) is False
    assert operations.record_view(link, visitor="w" * 64, now=later) is True
    db.session.commit()
    assert link_state(link.id)[0] == 2
    after = start + operations.VIEW_WINDOW + timedelta(seconds=1)
    assert operations.record_view(link, visitor="v" * 64, now=after) is True
    db.session.commit()
    assert link_state(link.id)[0] == 3


def test_a_fetch_right_after_an_outreach_email_is_not_a_view(client, published):
    from app.models import Outreach, OutreachStatus

    link, token = published
    link_id, lead_id = link.id, link.lead_id
    sent = Outreach(lead_id=lead_id, recipient="rosa@example.com", subject="Your site",
                    body="Hello", status=OutreachStatus.SENT, sent_at=utcnow())
    db.session.add(sent)
    db.session.commit()
    assert queries.recently_emailed(lead_id)
    assert get(client, f"/r/{token}").status_code == 200  # the mail scanner's fetch
    assert link_state(link_id) == (0, None)
    # A minute later the same address is a person.
    sent = db.session.get(Outreach, sent.id)
    sent.sent_at = utcnow() - timedelta(seconds=queries.SCANNER_SECONDS + 1)
    db.session.commit()
    assert not queries.recently_emailed(lead_id)
    app = client.application
    app.extensions.get("public_seen", {}).clear()  # this process's half-hour memory
    get(client, f"/r/{token}")
    assert link_state(link_id)[0] == 1


def test_floods_of_dead_tokens_over_the_limit_take_no_write_lock(client, published,
                                                                monkeypatch):
    from app.blueprints.public import routes

    writes = []
    real = routes.writing
    monkeypatch.setattr(routes, "writing", lambda: (writes.append(1), real())[1])
    codes = [get(client, f"/r/{'C' * 42}{i % 10}").status_code for i in range(45)]
    assert codes[:30] == [404] * 30 and set(codes[30:]) == {429}
    assert len(writes) == 30  # only the misses that were counted wrote
    resp = get(client, f"/r/{'C' * 43}")
    assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 60


def test_floods_of_unknown_tokens_are_limited_but_real_links_still_open(client, published):
    _, token = published
    codes = [get(client, f"/r/{'B' * 42}{i % 10}").status_code for i in range(40)]
    assert codes[:30] == [404] * 30 and 429 in codes[30:]
    assert get(client, f"/r/{token}").status_code == 200  # a real prospect is never hurt


def test_html_and_long_business_names_and_no_agency_details(client, app, factory):
    lead = factory.lead(name="<script>alert(1)</script>" + "Ü" * 275, city=None)  # 300: full
    audit = factory.audit(lead, with_shots=False)
    link = operations.publish(audit, actor=SYSTEM)
    db.session.commit()
    resp = get(client, f"/r/{queries.token_for(link)}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert "<img" not in html  # no screenshots, no logo: no broken images
    assert "Your web team" in html and "<address>" not in html


def test_site_down_variant(client, app, factory):
    audit = factory.audit(factory.lead(name="Closed Cafe"), status="site_down")
    link = operations.publish(audit, actor=SYSTEM)
    db.session.commit()
    html = get(client, f"/r/{queries.token_for(link)}").get_data(as_text=True)
    assert "What your visitors see instead of your website" in html
    assert "The site answers with an error" in html and "Why this matters" in html
    assert "Your grades" not in html


def test_unpublished_reaudit_changes_nothing_the_prospect_sees(client, app, published, factory):
    link, token = published
    from app.models import Lead

    lead = db.session.get(Lead, link.lead_id)
    factory.audit(lead, checks=[{"id": "viewport", "category": "mobile", "outcome": "fail",
                                 "severity": "critical", "title": "NEW UNPUBLISHED PROBLEM",
                                 "evidence": {}}])
    assert "NEW UNPUBLISHED PROBLEM" not in get(client, f"/r/{token}").get_data(as_text=True)


def test_the_agency_logo_is_served_through_the_token(client, published):
    import io

    from PIL import Image

    from app.settings import operations as settings_ops

    link, token = published
    buf = io.BytesIO()
    Image.new("RGB", (280, 80), (15, 118, 110)).save(buf, "PNG")
    settings_ops.save_logo(buf.getvalue(), actor=SYSTEM)
    db.session.commit()
    from app.settings import queries as settings_queries

    settings_queries.clear_cache()
    html = get(client, f"/r/{token}").get_data(as_text=True)
    assert f'src="/r/{token}/logo"' in html and 'alt="Bright Pixel Studio"' in html
    logo = get(client, f"/r/{token}/logo")
    assert logo.status_code == 200 and logo.content_type == "image/png"
    operations.revoke(link, actor=SYSTEM)
    db.session.commit()
    assert get(client, f"/r/{token}/logo").status_code == 404
