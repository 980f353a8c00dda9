"""Roles: only admins delete leads (one or in bulk); deleting a lead deletes its stored
files (screenshots, crops) from disk once the transaction commits."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from app import storage
from app.activity import SYSTEM, Actor
from app.extensions import db
from app.leads import operations
from app.models import Activity, Audit, AuditStatus, Finding, Lead, StoredFile


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _files_root(app) -> Path:
    return Path(app.config["STORAGE_URL"][len("file://"):])


@pytest.fixture
def audited_lead(app, campaign, add_leads):
    """Factory: a lead with a finished audit, a finding and three stored images on disk."""

    def make(prefix: str = "shot") -> tuple[int, list[str]]:
        lead_id = add_leads(campaign, 1, prefix=prefix, status="audited", score=40)[0]
        audit = Audit(lead_id=lead_id, status=AuditStatus.SUCCEEDED, url="http://x.example/",
                      score=40)
        db.session.add(audit)
        db.session.flush()
        db.session.add(Finding(audit_id=audit.id, check_id="seo.title", category="seo",
                               outcome="fail", severity="high", title="No title"))
        keys = [f"audits/{audit.id}/{name}" for name in
                ("desktop-viewport.jpg", "mobile-viewport.jpg", "annotated-1.jpg")]
        for key in keys:
            storage.save(key, b"\xff\xd8 image " + key.encode(), "image/jpeg",
                         owner=("audit", audit.id))
        audit.screenshots = {k.rsplit("/", 1)[1]: {"key": k} for k in keys}
        db.session.commit()
        return lead_id, keys

    return make


def test_a_member_cannot_delete_leads(app, client, auth, campaign, add_leads, audited_lead):
    member = auth.login(role="member")
    lead_id, keys = audited_lead()
    others = add_leads(campaign, 2)
    ids = [lead_id, *others]
    before = _count(Activity)

    page = client.get("/campaigns/dentists/leads").data.decode()
    assert '<option value="delete">' not in page and '<option value="audit">' in page
    lead_page = client.get(f"/leads/{lead_id}").data.decode()
    assert f'href="/leads/{lead_id}/delete"' not in lead_page

    for data in ({"action": "delete", "ids": ids},
                 {"action": "delete", "ids": ids, "confirm": "yes"},
                 {"action": "delete", "scope": "all", "confirm": "yes"}):
        resp = client.post("/campaigns/dentists/leads/bulk", data=data)
        assert resp.status_code == 403 and b"Only an admin can delete leads." in resp.data
    for method in ("get", "post"):
        resp = getattr(client, method)(f"/leads/{lead_id}/delete")
        assert resp.status_code == 403 and b"Only an admin can delete leads." in resp.data
    # An htmx (boosted) request gets the message as a flash fragment to show.
    resp = client.post(f"/leads/{lead_id}/delete", headers={"HX-Request": "true"})
    assert resp.status_code == 403 and b'class="flash flash-error"' in resp.data

    # The operation refuses a member whatever calls it.
    for delete in (lambda: operations.delete_leads(campaign, ids, actor=Actor.of_user(member)),
                   lambda: operations.delete_lead(db.session.get(Lead, lead_id),
                                                  actor=Actor.of_user(member))):
        with pytest.raises(operations.NotAllowed, match="Only an admin can delete leads."):
            delete()
        db.session.rollback()

    assert _count(Lead) == 3 and _count(Audit) == 1 and _count(StoredFile) == 3
    assert all((_files_root(app) / key).is_file() for key in keys)
    assert _count(Activity) == before


def test_an_admin_deletes_a_lead_and_its_files(app, client, auth, campaign, audited_lead):
    auth.login(role="admin")
    lead_id, keys = audited_lead()
    root = _files_root(app)
    assert all((root / key).is_file() for key in keys)
    page = client.get(f"/leads/{lead_id}").data.decode()
    assert f'href="/leads/{lead_id}/delete"' in page
    confirm = client.get(f"/leads/{lead_id}/delete").data.decode()
    assert "Delete Shot 00000?" in confirm and "screenshots" in confirm

    resp = client.post(f"/leads/{lead_id}/delete")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/campaigns/dentists/leads")
    assert _count(Lead) == 0 and _count(Audit) == 0 and _count(Finding) == 0
    assert _count(StoredFile) == 0
    assert not any((root / key).exists() for key in keys)
    assert db.session.scalar(
        sa.select(Activity.summary).where(Activity.verb == "lead.delete")
    ) == "deleted lead Shot 00000"


def test_bulk_delete_removes_files_only_once_committed(app, client, auth, campaign, add_leads,
                                                        audited_lead):
    root = _files_root(app)
    first, first_keys = audited_lead("one")
    second, second_keys = audited_lead("two")
    keep = add_leads(campaign, 1, prefix="keep")

    # Rolled back: the rows and the files all stay.
    operations.delete_leads(campaign, [first, second], actor=SYSTEM)
    db.session.rollback()
    assert _count(Lead) == 3 and _count(StoredFile) == 6
    assert all((root / key).is_file() for key in first_keys + second_keys)

    auth.login(role="admin")
    resp = client.post("/campaigns/dentists/leads/bulk",
                       data={"action": "delete", "ids": [first, second], "confirm": "yes"})
    assert resp.status_code == 302
    assert "Deleted 2 leads." in client.get(resp.headers["Location"]).data.decode()
    assert list(db.session.scalars(sa.select(Lead.id))) == keep
    assert _count(StoredFile) == 0 and _count(Audit) == 0
    assert not any((root / key).exists() for key in first_keys + second_keys)
