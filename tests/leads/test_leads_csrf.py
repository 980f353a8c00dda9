"""With CSRF on, every form of the campaign and lead pages carries its token, and a
post without it changes nothing."""

import re

import pytest
import sqlalchemy as sa
from flask import g

from app.extensions import db
from app.models import Lead


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def _token(html):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_bulk_and_lead_forms_need_the_token(client, create_user, campaign, add_leads):
    create_user(email="m@example.com", role="admin")  # deleting leads is for admins
    login = client.get("/login").data.decode()
    resp = client.post(
        "/login",
        data={
            "email": "m@example.com",
            "password": "correct horse battery",
            "csrf_token": _token(login),
        },
    )
    assert resp.status_code == 302
    # The test keeps one app context (so one ``g``) across requests; Flask-WTF caches the
    # token there, so drop the pre-login one as a fresh request context would.
    g.pop("csrf_token", None)
    ids = add_leads(campaign, 2)
    resp = client.post(
        "/campaigns/dentists/leads/bulk", data={"action": "delete", "ids": ids, "confirm": "yes"}
    )
    assert resp.status_code == 400 and b"Your form expired" in resp.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 2
    page = client.get("/campaigns/dentists/leads").data.decode()
    token = _token(page)
    resp = client.post(
        "/campaigns/dentists/leads/bulk",
        data={"action": "delete", "ids": ids, "confirm": "yes", "csrf_token": token},
    )
    assert resp.status_code == 302, (token, resp.data.decode()[-2000:])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0
    resp = client.post("/campaigns/dentists/status", data={"status": "active"})
    assert resp.status_code == 400
    for url in (
        "/campaigns/dentists",
        "/campaigns/dentists/leads/import",
        "/campaigns/new",
        "/campaigns/dentists/leads/new",
    ):
        assert 'name="csrf_token"' in client.get(url).data.decode(), url
