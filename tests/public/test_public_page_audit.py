"""Our own audit engine, run against a published page served by the live server: the page
a prospect opens must itself score at least 95 in accessibility, mobile and speed, and fail
nothing but the deliberate noindex.

Loopback is blocked by the engine unless allowlisted, so this test allowlists exactly the
live server's ``host:port``. The live server speaks plain HTTP, so the two checks about
the transport (``is-on-https``, ``redirects-http``) say nothing about the page and are set
aside: in production ``PUBLIC_BASE_URL`` is https behind the proxy."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from publichelpers import agency

from app.activity import SYSTEM
from app.extensions import db
from app.public import operations, queries

pytestmark = pytest.mark.browser
TRANSPORT = {"is-on-https", "redirects-http"}


def test_our_engine_rates_the_published_page(app, factory, live_server, tmp_path):
    from app.audits.engine import config_from_mapping, get_engine

    agency()
    campaign = factory.campaign()
    audit = factory.audit(factory.lead(campaign))
    for i in range(5):
        factory.audit(factory.lead(campaign, name=f"Peer {i}"))
    link = operations.publish(audit, actor=SYSTEM)
    db.session.commit()
    url = f"{live_server}/r/{queries.token_for(link)}"
    db.session.rollback()  # SQLite: never hold the write lock while the live server serves
    host = urlsplit(live_server).netloc
    engine = get_engine(config_from_mapping({"AUDIT_ALLOW_TARGETS": [host],
                                             "AUDIT_TIMEOUT_SECONDS": 60}))
    try:
        result = engine.audit(url, timeout=60)
    finally:
        engine.close()
    doc = result.document
    assert doc["status"] == "ok", doc.get("error")
    scores = doc["scores"]
    fails = sorted(c["id"] for c in doc["checks"] if c["outcome"] == "fail")
    warns = sorted(c["id"] for c in doc["checks"] if c["outcome"] == "warn")
    print("scores", scores, "fails", fails, "warns", warns)
    assert set(fails) - TRANSPORT == {"is-crawlable"}
    for cat in ("accessibility", "mobile", "speed"):
        assert scores[cat] >= 95, (cat, scores, warns)
