"""An audit through the API: its result document (screenshots fetchable with a key),
publishing and revoking its public page; keys may fetch audit files only."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from app import storage
from app.extensions import db
from app.models import Activity, Audit, AuditStatus, Lead
from app.models.base import utcnow
from app.public.queries import is_live, link_for_lead


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _finished_audit(api) -> Audit:
    api.post("/campaigns", {"name": "Bakers", "slug": "bakers"})
    lead_id = api.post("/campaigns/bakers/leads", {"business_name": "Rosa's",
                                                    "website": "rosa.example"}).json["lead"]["id"]
    audit = Audit(lead_id=lead_id, url="http://rosa.example/", status=AuditStatus.SUCCEEDED,
                  score=71, opportunity=29, scores={"overall": 71, "seo": 80},
                  finished_at=utcnow())
    db.session.add(audit)
    db.session.flush()
    key = f"audits/{audit.id}/desktop-viewport.png"
    storage.save(key, _png(), "image/png", owner=("audit", audit.id))
    shot = {"name": "desktop-viewport.png", "content_type": "image/png", "width": 8,
            "height": 6, "kind": "viewport", "form_factor": "desktop", "key": key}
    audit.screenshots = {"desktop-viewport.png": shot}
    audit.snapshot = {"status": "ok", "url": "http://rosa.example/", "scores": audit.scores,
                      "checks": [{"id": "document-title", "outcome": "pass"}],
                      "screenshots": [shot]}
    lead = db.session.get(Lead, lead_id)
    lead.latest_audit_id, lead.score = audit.id, 71
    db.session.commit()
    return audit


def test_audit_document_and_its_screenshots(api, read_api, client):
    audit = _finished_audit(api)
    doc = read_api.get(f"/audits/{audit.id}").json
    assert doc["status"] == "ok" and doc["checks"][0]["id"] == "document-title"
    assert doc["audit"]["id"] == audit.id and doc["audit"]["status"] == "succeeded"
    url = doc["screenshots"][0]["url"]
    assert url.startswith("http://localhost/api/v1/files/audits/")
    path = url.removeprefix("http://localhost")
    got = client.get(path, headers={"Authorization": f"Bearer {read_api.key}"})
    assert got.status_code == 200 and got.mimetype == "image/png"
    assert got.data == _png()
    assert client.get(path).status_code == 401  # not without a key
    lead = read_api.get(f"/leads/{audit.lead_id}").json["lead"]
    assert lead["latest_audit"]["id"] == audit.id and lead["latest_audit"]["scores"]["seo"] == 80


def test_keys_fetch_audit_files_only(api):
    storage.save("logos/agency.png", _png(), "image/png")
    db.session.commit()
    assert api.get("/files/logos/agency.png").status_code == 404


def test_publish_and_revoke(api, read_api):
    audit = _finished_audit(api)
    assert read_api.post(f"/audits/{audit.id}/publish").status_code == 403
    resp = api.post(f"/audits/{audit.id}/publish")
    assert resp.status_code == 200, resp.json
    assert "/r/" in resp.json["public_url"]
    assert is_live(link_for_lead(audit.lead_id))
    gone = api.post(f"/audits/{audit.id}/revoke")
    assert gone.status_code == 204 and gone.data == b""
    db.session.expire_all()
    assert not is_live(link_for_lead(audit.lead_id))
    assert api.post(f"/audits/{audit.id}/revoke").status_code == 409
    labels = set(db.session.scalars(select(Activity.actor_label).where(
        Activity.verb.in_(["public.published", "public.revoked"]))))
    assert labels == {"API key 'n8n'"}


def test_an_unfinished_audit_cannot_be_published(api):
    audit = _finished_audit(api)
    audit.status = AuditStatus.RUNNING
    db.session.commit()
    resp = api.post(f"/audits/{audit.id}/publish")
    assert resp.status_code == 409 and resp.json["error"]["code"] == "not_publishable"
    running = api.get(f"/audits/{audit.id}").json
    assert running["audit"]["status"] == "running"


def test_a_lead_shows_its_latest_finished_audit_as_its_list_row_does(api):
    """A running audit made after a finished one is not the lead's "latest audit": the lead
    answers ``Lead.latest_audit_id``, the same audit as its row in the list."""
    done = _finished_audit(api)
    queued = Audit(lead_id=done.lead_id, url="http://rosa.example/", status=AuditStatus.RUNNING)
    db.session.add(queued)
    db.session.commit()
    assert queued.id > done.id
    lead = api.get(f"/leads/{done.lead_id}").json["lead"]
    [row] = api.get("/campaigns/bakers/leads").json["data"]
    assert lead["latest_audit"]["id"] == row["latest_audit_id"] == done.id
    assert lead["latest_audit"]["status"] == "succeeded"
