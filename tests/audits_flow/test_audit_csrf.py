"""The Audit button with CSRF protection on (as in production)."""

from __future__ import annotations

import re

import pytest
from flask import g
from sqlalchemy import func, select

from app.extensions import db
from app.models import Run


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def test_audit_button_needs_the_csrf_token(client, auth, make_lead):
    lead = make_lead("https://a.example/")
    user = auth._create(role="member")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"email": user.email, "password": "correct horse battery",
                                "csrf_token": token})
    # The test's app context (and so flask.g) outlives each request; forget the pre-login
    # token cached in g so the page below issues one for the new session, as a browser sees.
    g.pop("csrf_token", None)
    assert client.post(f"/leads/{lead.id}/audit").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Run)) == 0
    page = client.get(f"/leads/{lead.id}/audits").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post(f"/leads/{lead.id}/audit", data={"csrf_token": token})
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Run)) == 1
