"""Upkeep never removes a file a live public page uses; once the link is revoked (or moves
to a newer audit) the old audit's full-size screenshots may go again. Old visitor keys
are forgotten."""

from __future__ import annotations

import re
from datetime import timedelta

from publichelpers import PHONE_UA
from sqlalchemy import func, select

from app.activity import SYSTEM
from app.extensions import db
from app.jobs import runs
from app.models import Audit, PublicView, Run, StoredFile
from app.models.base import utcnow
from app.public import operations, queries
from app.upkeep import operations as upkeep


def _files(audit_id):
    return db.session.scalar(select(func.count()).select_from(StoredFile).where(
        StoredFile.owner_type == "audit", StoredFile.owner_id == audit_id))


def test_live_links_keep_their_screenshots(app, factory):
    lead = factory.lead()
    audit = factory.audit(lead)
    link = operations.publish(audit, actor=SYSTEM)
    db.session.commit()
    later = utcnow() + timedelta(days=1)
    upkeep.remove_full_screenshots(before=later)
    db.session.commit()
    assert _files(audit.id) == 3
    operations.revoke(link, actor=SYSTEM)
    db.session.commit()
    done = upkeep.remove_full_screenshots(before=later)
    db.session.commit()
    assert done.files == 2 and _files(audit.id) == 1  # the annotated crop stays


def test_moving_the_link_to_a_newer_audit_frees_the_old_one(app, factory):
    lead = factory.lead()
    first = factory.audit(lead)
    operations.publish(first, actor=SYSTEM)
    second = factory.audit(lead)
    operations.publish(second, actor=SYSTEM)
    db.session.commit()
    upkeep.remove_full_screenshots(before=utcnow() + timedelta(days=1))
    db.session.commit()
    assert _files(first.id) == 1 and _files(second.id) == 3


def test_screenshots_upkeep_removed_are_left_off_the_page(app, client, auth, factory):
    lead = factory.lead()
    audit = factory.audit(lead)
    upkeep.remove_full_screenshots(before=utcnow() + timedelta(days=1))
    db.session.commit()
    assert _files(audit.id) == 1  # only the annotated crop is left
    link = operations.publish(db.session.get(Audit, audit.id), actor=SYSTEM)
    db.session.commit()
    token = queries.token_for(link)
    html = client.get(f"/r/{token}", headers={"User-Agent": PHONE_UA}).get_data(as_text=True)
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert srcs == [f"/r/{token}/s/mobile-annotated-tap-to-call.jpg"]
    for src in srcs:
        assert client.get(src, headers={"User-Agent": PHONE_UA}).status_code == 200
    # A removed screenshot is a 404 like any unknown name, never a broken file.
    assert client.get(f"/r/{token}/s/desktop-viewport.jpg").status_code == 404
    # The staff preview shows the same images.
    auth.login("member")
    preview = client.get(f"/audits/{audit.id}/preview").get_data(as_text=True)
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', preview)
    assert len(srcs) == 1 and all(src for src in srcs)
    for src in srcs:
        assert client.get(src).status_code == 200


def test_old_visitor_keys_are_pruned(app, factory):
    link = operations.publish(factory.audit(factory.lead()), actor=SYSTEM)
    db.session.add(PublicView(link_id=link.id, visitor="a" * 64,
                              viewed_at=utcnow() - timedelta(days=2)))
    db.session.add(PublicView(link_id=link.id, visitor="b" * 64, viewed_at=utcnow()))
    db.session.commit()
    run = runs.create("upkeep")
    db.session.commit()
    assert runs.execute(run.id) == "succeeded"
    db.session.rollback()
    assert db.session.get(Run, run.id).result["visitor_keys"] == 1
    assert db.session.scalar(select(func.count()).select_from(PublicView)) == 1
