"""Campaign pages: list, create, edit, status moves, figures, live batch progress."""

import sqlalchemy as sa

from app.cli import main
from app.extensions import db
from app.jobs import runs
from app.models import Activity, Campaign, CampaignStatus, Lead, Run, RunBatch, RunStatus
from app.models.base import utcnow


def test_pages_need_a_login(client, campaign):
    for url in (
        "/campaigns/",
        "/campaigns/new",
        "/campaigns/dentists",
        "/campaigns/dentists/leads",
    ):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_create_edit_and_move_a_campaign(client, auth):
    auth.login(role="member")
    resp = client.get("/campaigns/")
    assert b"Create your first campaign" in resp.data
    resp = client.post("/campaigns/new", data={"name": "<b>Dentists</b> & co", "niche": "dentists"})
    assert resp.status_code == 302
    campaign = db.session.scalar(sa.select(Campaign))
    assert campaign.slug == "b-dentists-b-co" and campaign.status == CampaignStatus.DRAFT
    page = client.get(resp.headers["Location"]).data.decode()
    assert "&lt;b&gt;Dentists&lt;/b&gt; &amp; co" in page and "<b>Dentists</b>" not in page
    index = client.get("/campaigns/").data.decode()
    assert "&lt;b&gt;Dentists&lt;/b&gt;" in index and "<b>Dentists</b>" not in index

    resp = client.post(
        f"/campaigns/{campaign.slug}/edit",
        data={"name": "Dentists", "niche": "teeth", "sender_email": "not-an-email"},
    )
    assert resp.status_code == 422 and b"Invalid email address" in resp.data
    resp = client.post(
        f"/campaigns/{campaign.slug}/edit", data={"name": "Dentists", "niche": "teeth"}
    )
    assert resp.status_code == 302
    db.session.refresh(campaign)
    assert campaign.name == "Dentists" and campaign.niche == "teeth"

    for status in ("active", "paused", "active"):
        resp = client.post(f"/campaigns/{campaign.slug}/status", data={"status": status})
        assert resp.status_code == 302, resp.data
        db.session.refresh(campaign)
        assert campaign.status.value == status
    # Archiving is for admins: a member gets a 403 saying so, and the button is not shown.
    page = client.get(f"/campaigns/{campaign.slug}").data.decode()
    assert 'value="archived"' not in page and "Pause" in page
    resp = client.post(f"/campaigns/{campaign.slug}/status", data={"status": "archived"})
    assert resp.status_code == 403 and b"Only an admin can archive a campaign." in resp.data
    db.session.refresh(campaign)
    assert campaign.status.value == "active"
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(Activity).where(Activity.verb == "campaign.archived")
    ) == 0
    auth.logout()
    auth.login(role="admin")
    assert 'value="archived"' in client.get(f"/campaigns/{campaign.slug}").data.decode()
    resp = client.post(f"/campaigns/{campaign.slug}/status", data={"status": "archived"})
    assert resp.status_code == 302
    db.session.refresh(campaign)
    assert campaign.status.value == "archived"
    link = f'href="/campaigns/{campaign.slug}"'.encode()
    assert link not in client.get("/campaigns/").data
    assert link in client.get("/campaigns/?archived=1").data
    resp = client.post(f"/campaigns/{campaign.slug}/status", data={"status": "paused"})
    assert resp.status_code == 409 and b"Cannot move campaign from archived to paused" in resp.data
    # Restoring an archived campaign is for admins too.
    auth.logout()
    auth.login(role="member")
    page = client.get(f"/campaigns/{campaign.slug}").data.decode()
    assert "only an admin can restore it" in page and 'value="active"' not in page
    resp = client.post(f"/campaigns/{campaign.slug}/status", data={"status": "active"})
    assert resp.status_code == 403
    assert b"Only an admin can restore an archived campaign." in resp.data
    db.session.refresh(campaign)
    assert campaign.status.value == "archived"


def test_web_and_cli_record_the_same_activity_with_their_actor(client, auth, runner):
    user = auth.login()
    assert client.post("/campaigns/new", data={"name": "From the web"}).status_code == 302
    assert runner.invoke(main, ["campaigns", "create", "From the CLI"]).exit_code == 0
    rows = db.session.execute(
        sa.select(Activity.verb, Activity.actor_kind, Activity.user_id, Activity.summary)
        .where(Activity.verb == "campaign.create")
        .order_by(Activity.id)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("campaign.create", "user", user.id, "created campaign From the web"),
        ("campaign.create", "system", None, "created campaign From the CLI"),
    ]


def test_slug_must_be_unique_and_valid(client, auth, campaign):
    auth.login()
    resp = client.post("/campaigns/new", data={"name": "Other", "slug": "dentists"})
    assert resp.status_code == 422 and b"already uses this slug" in resp.data
    resp = client.post("/campaigns/new", data={"name": "Other", "slug": "Not OK"})
    assert resp.status_code == 422 and b"single hyphens" in resp.data
    resp = client.post("/campaigns/new", data={"name": ""})
    assert resp.status_code == 422


def test_campaign_page_shows_counts_chart_and_progress(client, auth, campaign, add_leads):
    auth.login()
    add_leads(
        campaign,
        6,
        score=lambda i: [5, 15, 55, 85, 95, 100][i],
        status=lambda i: "audited" if i else "contacted",
        audited_at=utcnow(),
    )
    add_leads(campaign, 4, prefix="fresh")
    page = client.get("/campaigns/dentists").data.decode()
    assert "audited 5" in page and "new 4" in page and "contacted 1" in page
    assert 'class="histogram"' in page and "90–100: 2 leads" in page
    assert "0–9: 1" in page
    assert 'id="progress"' in page and "every 2s" not in page


def test_batch_progress_polls_until_complete(client, auth, campaign, add_leads):
    user = auth.login()
    ids = add_leads(campaign, 3)
    batch = RunBatch(kind="noop", campaign_id=campaign.id, total=3, created_by_id=user.id)
    db.session.add(batch)
    db.session.flush()
    made = [runs.create("noop", subject=("lead", i), batch_id=batch.id) for i in ids]
    made[0].status = RunStatus.SUCCEEDED
    made[1].status = RunStatus.FAILED
    db.session.commit()

    page = client.get("/campaigns/dentists").data.decode()
    assert 'hx-trigger="every 2s"' in page
    resp = client.get("/campaigns/dentists/progress", headers={"HX-Request": "true"})
    body = resp.data.decode()
    assert resp.status_code == 200 and "<html" not in body
    assert "1 done" in body and "1 failed" in body and "1 remaining" in body
    assert 'hx-trigger="every 2s"' in body
    # The figures that count the same leads ride along out of band, so they agree.
    assert 'id="campaign-stats" hx-swap-oob="true"' in body
    assert 'id="score-distribution" hx-swap-oob="true"' in body
    assert body.lstrip().startswith('<div id="progress"')
    assert 'id="progress" hx-swap-oob' not in body

    db.session.execute(
        sa.update(Run).values(status=RunStatus.SUCCEEDED).where(Run.id == made[2].id)
    )
    db.session.commit()
    resp = client.get("/campaigns/dentists/progress", headers={"HX-Request": "true"})
    assert resp.status_code == 286
    body = resp.data.decode()
    assert "2 done" in body and "0 remaining" in body and "complete" in body
    assert "every 2s" not in body


def test_unknown_campaign_is_404(client, auth):
    auth.login()
    assert client.get("/campaigns/nope").status_code == 404
    assert client.get("/campaigns/nope/leads").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0
