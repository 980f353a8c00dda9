"""Bulk actions on a selection or on everything matching the filter."""

import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, BlacklistEntry, Lead, LeadStatus, Run, RunBatch, RunStatus


def _status(ids):
    return [db.session.get(Lead, i).status.value for i in ids]


def test_bulk_audit_creates_a_batch_and_runs_and_shows_progress(
    client, auth, campaign, add_leads, audit_stand_in, drain
):
    user = auth.login(role="member")
    ids = add_leads(campaign, 4)
    contacted = add_leads(campaign, 1, prefix="done", status="contacted")
    failing = add_leads(campaign, 1, prefix="fail")
    private = add_leads(campaign, 1, prefix="lan", website_url="http://10.0.0.1/")
    resp = client.post(
        "/campaigns/dentists/leads/bulk",
        data={"action": "audit", "ids": [*ids[:3], *contacted, *failing, *private]},
    )
    assert resp.status_code == 302
    batch = db.session.scalar(sa.select(RunBatch))
    assert batch.kind == "audit" and batch.total == 4 and batch.created_by_id == user.id
    runs = db.session.scalars(sa.select(Run).order_by(Run.id)).all()
    assert [r.subject_id for r in runs] == [*ids[:3], *failing]
    assert all(r.batch_id == batch.id and r.kind == "audit" and r.enqueued_at for r in runs)
    assert runs[0].payload == {"url": "http://biz0.example.com/"}
    assert _status(ids) == ["queued", "queued", "queued", "new"]
    assert _status(contacted) == ["contacted"]
    assert _status(private) == ["new"]  # refused before any run row exists
    flashes = client.get(resp.headers["Location"]).data.decode()
    assert "Queued audits for 4 leads." in flashes
    assert "1 in a status that cannot be audited again" in flashes
    assert "1 unsafe or invalid address (blocked_address)" in flashes

    progress = client.get("/campaigns/dentists/progress", headers={"HX-Request": "true"})
    assert progress.status_code == 200 and "4 remaining" in progress.data.decode()
    assert drain() == 4
    db.session.expire_all()
    assert _status(ids[:3]) == ["audited"] * 3
    assert db.session.get(Run, runs[-1].id).status == RunStatus.FAILED
    progress = client.get("/campaigns/dentists/progress", headers={"HX-Request": "true"})
    body = progress.data.decode()
    assert progress.status_code == 286
    assert "3 done" in body and "1 failed" in body and "0 remaining" in body

    # auditing the queued-again leads is refused while they are queued
    client.post("/campaigns/dentists/leads/bulk", data={"action": "audit", "ids": ids[3:]})
    resp = client.post("/campaigns/dentists/leads/bulk", data={"action": "audit", "ids": ids[3:]})
    assert "1 already queued" in client.get(resp.headers["Location"]).data.decode()


def test_bulk_on_everything_matching_the_filter(client, auth, campaign, add_leads):
    auth.login()
    leeds = add_leads(campaign, 5, prefix="leeds", city="Leeds")
    york = add_leads(campaign, 3, prefix="york", city="York")
    resp = client.post(
        "/campaigns/dentists/leads/bulk?city=Leeds",
        data={"action": "status", "new_status": "lost", "scope": "all"},
    )
    assert resp.status_code == 302 and "city=Leeds" in resp.headers["Location"]
    assert _status(leeds) == ["lost"] * 5 and _status(york) == ["new"] * 3


def test_bulk_move_to_a_sales_stage_says_what_happened(client, auth, campaign, add_leads):
    auth.login(role="member")
    new = add_leads(campaign, 2)
    audited = add_leads(campaign, 1, prefix="aud", status="audited", score=40)
    failed = add_leads(campaign, 1, prefix="bad", status="audit_failed")
    already = add_leads(campaign, 2, prefix="was", status="contacted")
    dnc = add_leads(campaign, 1, prefix="dnc", status="unsubscribed")
    page = client.get("/campaigns/dentists/leads").data.decode()
    select = page.split('name="new_status"')[1].split("</select>")[0]
    assert '<option selected value="">Move to…</option>' in select or (
        '<option value="">Move to…</option>' in select and "selected" not in select)
    assert '<option value="meeting">' in select and '<option value="drafted">' not in select
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Activity))
    resp = client.post(
        "/campaigns/dentists/leads/bulk",
        data={"action": "status", "new_status": "contacted",
              "ids": new + audited + failed + already + dnc},
    )
    page = client.get(resp.headers["Location"]).data.decode()
    assert ("Moved 4 leads to contacted; 2 were already there; "
            "1 is on the do-not-contact list.") in page
    assert _status(new + audited + failed) == ["contacted"] * 4
    assert _status(dnc) == ["unsubscribed"]
    feed = db.session.scalars(sa.select(Activity.summary).where(Activity.id > before)).all()
    assert feed == ["moved 4 leads to contacted in Dentists in Leeds"]

    # Nothing moved: an honest summary, and nothing in the feed.
    resp = client.post(
        "/campaigns/dentists/leads/bulk",
        data={"action": "status", "new_status": "contacted", "ids": already + dnc},
    )
    page = client.get(resp.headers["Location"]).data.decode()
    assert ("No lead moved to contacted: 2 were already there; "
            "1 is on the do-not-contact list.") in page
    assert db.session.scalar(sa.select(sa.func.max(Activity.id))) == before + 1
    assert "moved 0" not in " ".join(db.session.scalars(sa.select(Activity.summary)))


def test_bulk_status_refuses_what_people_do_not_set(client, auth, campaign, add_leads):
    auth.login()
    new = add_leads(campaign, 2)
    for status, message in (
        ("drafted", "Leads become drafted through outreach"),
        ("audited", "Leads become audited through audits, not by hand"),
        ("blacklisted", "use “Add to do-not-contact”"),
        ("", "Choose the new status."),
        ("nonsense", "Choose the new status."),
    ):
        resp = client.post("/campaigns/dentists/leads/bulk",
                           data={"action": "status", "new_status": status, "ids": new})
        assert message in client.get(resp.headers["Location"]).data.decode(), status
    assert _status(new) == ["new", "new"]
    resp = client.post("/campaigns/dentists/leads/bulk", data={"action": "status", "ids": new})
    assert "Choose the new status." in client.get(resp.headers["Location"]).data.decode()


def test_bulk_blacklist_adds_domains_and_emails(client, auth, campaign, add_leads):
    auth.login()
    ids = add_leads(campaign, 2, email=lambda i: f"boss{i}@biz{i}.example.com")
    client.post("/campaigns/dentists/leads/bulk", data={"action": "blacklist", "ids": ids})
    client.post(
        "/campaigns/dentists/leads/bulk", data={"action": "blacklist", "ids": ids}
    )  # idempotent
    values = sorted(db.session.scalars(sa.select(BlacklistEntry.value)))
    assert values == [
        "biz0.example.com",
        "biz1.example.com",
        "boss0@biz0.example.com",
        "boss1@biz1.example.com",
    ]
    assert _status(ids) == ["blacklisted"] * 2
    page = client.get(f"/leads/{ids[0]}").data.decode()
    assert "Do not contact" in page


def test_bulk_delete_asks_for_confirmation(client, auth, campaign, add_leads):
    auth.login()
    ids = add_leads(campaign, 3)
    resp = client.post("/campaigns/dentists/leads/bulk", data={"action": "delete", "ids": ids[:2]})
    assert resp.status_code == 200 and "Delete 2 leads?" in resp.data.decode()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 3
    resp = client.post(
        "/campaigns/dentists/leads/bulk",
        data={"action": "delete", "ids": ids[:2], "confirm": "yes"},
    )
    assert resp.status_code == 302
    assert list(db.session.scalars(sa.select(Lead.id))) == [ids[2]]


def test_bulk_needs_a_selection_and_stays_in_its_campaign(
    client, auth, campaign, make_campaign, add_leads
):
    auth.login()
    other = make_campaign("Other", "other")
    theirs = add_leads(other, 2, prefix="other")
    resp = client.post(
        "/campaigns/dentists/leads/bulk", data={"action": "delete", "confirm": "yes"}
    )
    assert "No leads selected" in client.get(resp.headers["Location"]).data.decode()
    client.post(
        "/campaigns/dentists/leads/bulk", data={"action": "delete", "ids": theirs, "confirm": "yes"}
    )
    client.post(
        "/campaigns/dentists/leads/bulk",
        data={"action": "status", "new_status": "lost", "ids": theirs},
    )
    assert _status(theirs) == ["new", "new"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RunBatch)) == 0
    assert LeadStatus.NEW.value == "new"


def test_bulk_audit_has_a_size_limit(client, auth, campaign, add_leads, monkeypatch):
    from app.leads import operations

    auth.login()
    monkeypatch.setattr(operations, "MAX_AUDIT_BATCH", 2)
    add_leads(campaign, 3)
    resp = client.post("/campaigns/dentists/leads/bulk", data={"action": "audit", "scope": "all"})
    page = client.get(resp.headers["Location"]).data.decode()
    assert "At most 2 leads can be audited at once (3 chosen)" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Run)) == 0
