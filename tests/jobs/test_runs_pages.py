"""The Runs pages: filters, keyset pages, live polling, detail, retry and cancel."""

from __future__ import annotations

import re

import pytest
from flask import g, url_for
from jobhelpers import closed_port, make_run, refresh, set_run
from sqlalchemy import select

from app.extensions import db
from app.jobs import runs
from app.models import Activity, RunLog, RunStatus
from app.models.base import utcnow

HX = {"HX-Request": "true"}


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'id="run-(\d+)"', html)]


def test_runs_page_needs_sign_in(client):
    resp = client.get("/runs/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_list_filters_by_status_and_kind(client, auth, app):
    """Admins who ask see internal jobs too, filtered by status and kind."""
    auth.login(role="admin")
    a, b, c = make_run(), make_run("noop"), make_run("noop")
    set_run(c.id, status=RunStatus.FAILED, error_code="boom")
    html = client.get("/runs/?internal=1").get_data(as_text=True)
    assert _ids(html) == [c.id, b.id, a.id]
    html = client.get("/runs/?internal=1&kind=noop").get_data(as_text=True)
    assert _ids(html) == [c.id, b.id]
    html = client.get("/runs/?internal=1&kind=noop&status=failed").get_data(as_text=True)
    assert _ids(html) == [c.id] and "It failed." in html
    html = client.get("/runs/?internal=1&status=succeeded").get_data(as_text=True)
    assert _ids(html) == [] and "No runs match these filters" in html


def test_people_see_their_kinds_and_failed_includes_dead(client, auth, app):
    """Members see the runs they start (audits), not internal jobs; "failed" lists runs that
    failed at once and those that gave up after their retries."""
    auth.login(role="member")
    internal = make_run("noop")
    failed, dead, ok = (make_run("audit", payload={"url": "http://x.example/"})
                        for _ in range(3))
    set_run(failed.id, status=RunStatus.FAILED, error_code="dns_failure", finished_at=utcnow())
    set_run(dead.id, status=RunStatus.DEAD, error_code="timeout", finished_at=utcnow())
    set_run(ok.id, status=RunStatus.SUCCEEDED, finished_at=utcnow())
    html = client.get("/runs/").get_data(as_text=True)
    assert _ids(html) == [ok.id, dead.id, failed.id] and internal.id not in _ids(html)
    assert "Include internal jobs" not in html
    assert '<option value="noop">' not in html and '<option value="audit">Audit' in html
    html = client.get("/runs/?status=failed").get_data(as_text=True)
    assert _ids(html) == [dead.id, failed.id]
    assert re.search(r'data-chip="failed".*?chip-n">2<', html, re.S)
    assert "The website&#39;s name doesn&#39;t resolve (DNS)" in html
    assert client.get("/runs/?kind=noop").status_code == 422  # not a choice for members
    assert internal.id not in _ids(client.get("/runs/?internal=1").get_data(as_text=True))


def test_bad_filter_gets_a_clear_message(client, auth):
    auth.login(role="member")
    make_run("audit")
    resp = client.get("/runs/?status=exploded&before=abc")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Not a valid choice" in html
    assert "Not a valid integer" in html and len(_ids(html)) == 1


def test_keyset_pagination(client, auth, app, monkeypatch):
    from app.runs import queries

    monkeypatch.setattr(queries, "PER_PAGE", 3)
    auth.login(role="member")
    ids = [make_run("audit").id for _ in range(7)][::-1]  # newest first
    html = client.get("/runs/").get_data(as_text=True)
    assert _ids(html) == ids[:3] and "Newer" not in html
    older = re.search(r'href="([^"]*before=\d+[^"]*)"', html).group(1).replace("&amp;", "&")
    html = client.get(older).get_data(as_text=True)
    assert _ids(html) == ids[3:6]
    newer = re.search(r'href="([^"]*after=\d+[^"]*)"', html).group(1).replace("&amp;", "&")
    assert _ids(client.get(newer).get_data(as_text=True)) == ids[:3]
    html = client.get(f"/runs/?before={ids[5]}").get_data(as_text=True)
    assert _ids(html) == ids[6:] and "Older" not in html


def test_table_polls_while_active_then_stops(client, auth, drain, app):
    auth.login(role="admin")
    run = make_run()
    page = client.get("/runs/?internal=1").get_data(as_text=True)
    assert 'hx-trigger="every 3s"' in page and 'hx-get="/runs/?internal=1"' in page
    frag = client.get("/runs/?internal=1", headers=HX)
    assert frag.status_code == 200 and "<html" not in frag.get_data(as_text=True)
    assert 'data-status="pending"' in frag.get_data(as_text=True)
    runs.submit([run.id])
    drain()
    frag = client.get("/runs/?internal=1", headers=HX)
    body = frag.get_data(as_text=True)
    assert frag.status_code == 286 and 'data-status="succeeded"' in body
    assert "hx-trigger" not in body


def test_subject_shows_the_business_name_linked(client, auth, app):
    from app.activity import SYSTEM
    from app.campaigns.operations import create_campaign
    from app.leads.operations import create_lead

    auth.login(role="member")
    campaign = create_campaign("Dentists", None, actor=SYSTEM)
    lead = create_lead(campaign, {"business_name": "Acme <Dental>",
                                  "website_url": "https://acme.example/"}, actor=SYSTEM)
    db.session.commit()
    make_run("audit", subject=("lead", lead.id))
    gone = make_run("audit", subject=("lead", 999999))
    html = client.get("/runs/").get_data(as_text=True)
    with app.test_request_context():
        href = url_for("leads.show", lead_id=lead.id)
    assert re.search(rf'<a href="{href}">(<bdi>)?Acme &lt;Dental&gt;(</bdi>)?</a>', html)
    assert "lead #" not in html
    assert "a deleted lead" in html
    assert "Acme &lt;Dental&gt;" in client.get(f"/runs/{gone.id - 1}").get_data(as_text=True)


def test_detail_shows_fields_redacted_error_and_log(client, auth, app):
    auth.login(role="admin")
    run = make_run("test.permanent", payload={"url": "https://bob:pw123456@example.com/"})
    runs.execute(run.id)
    resp = client.get(f"/runs/{run.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and f"#{run.id}" in html and "Technical details" in html
    assert "ValueError" in html and "hunter2secret" not in html and "pw123456" not in html
    assert "attempt 1/3 started" in html and "Retry" in html and ">Cancel<" not in html
    assert client.get(f"/runs/{run.id}", headers=HX).status_code == 286
    assert client.get("/runs/999999").status_code == 404


def test_retry_then_submit_after_commit(client, auth, app, huey, drain):
    user = auth.login(role="member")
    run = make_run("test.permanent")
    runs.execute(run.id)
    resp = client.post(f"/runs/{run.id}/retry")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/runs/{run.id}")
    got = refresh(run.id)
    assert got.status == RunStatus.PENDING and got.enqueued_at is not None
    assert [t.args for t in huey.pending()] == [(run.id,)]
    act = db.session.scalars(select(Activity).where(Activity.verb == "run.retried")).one()
    assert act.user_id == user.id and act.subject_id == run.id
    drain()
    got = refresh(run.id)
    assert got.status == RunStatus.FAILED and got.attempt == 2
    html = client.get(f"/runs/{run.id}").get_data(as_text=True)
    # A member reads what happened; codes, payloads, workers and the log are for admins.
    assert "What to do:" in html and "retry requested" not in html
    assert "Technical details" not in html and "ValueError" not in html
    assert runs.WORKER_ID not in html
    auth.logout()
    auth.login(role="admin")
    html = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "Technical details" in html and "retry requested" in html and "ValueError" in html


def test_cancel_pending_and_refuse_bad_actions(client, auth, app, huey, drain):
    auth.login(role="member")
    run = make_run()
    runs.submit([run.id])
    resp = client.post(f"/runs/{run.id}/cancel", follow_redirects=True)
    assert "canceled" in resp.get_data(as_text=True)
    assert refresh(run.id).status == RunStatus.CANCELED
    assert db.session.scalar(select(Activity.id).where(Activity.verb == "run.canceled"))
    drain()  # the queued task finds the run canceled and does nothing
    assert refresh(run.id).status == RunStatus.CANCELED and refresh(run.id).attempt == 0
    resp = client.post(f"/runs/{run.id}/cancel", follow_redirects=True)
    assert "Only pending or running runs can be canceled" in resp.get_data(as_text=True)
    done = make_run()
    runs.execute(done.id)
    resp = client.post(f"/runs/{done.id}/retry", follow_redirects=True)
    assert "Only failed, dead or canceled runs can be retried" in resp.get_data(as_text=True)
    assert refresh(done.id).status == RunStatus.SUCCEEDED


class TestCsrf:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_actions_need_the_csrf_token(self, client, create_user, app):
        run = make_run("test.permanent")
        runs.execute(run.id)
        user = create_user(role="member")
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        resp = client.post("/login", data={"email": user.email, "password": "correct horse battery",
                                           "csrf_token": token})
        assert resp.status_code == 302
        assert client.post(f"/runs/{run.id}/retry").status_code == 400
        assert refresh(run.id).status == RunStatus.FAILED
        # The fixture's app context outlives requests; drop the token Flask-WTF cached
        # in `g` before the login rotated the session (a real request starts afresh).
        g.pop("csrf_token", None)
        page = client.get(f"/runs/{run.id}").get_data(as_text=True)
        tokens = re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        resp = client.post(f"/runs/{run.id}/retry", data={"csrf_token": tokens[-1]})
        assert resp.status_code == 303, (tokens, resp.get_data(as_text=True))
        assert refresh(run.id).status == RunStatus.PENDING


class TestQueueDown:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "HUEY_URL": f"redis://127.0.0.1:{closed_port()}/0"}

    def test_unreachable_queue_leaves_run_pending(self, client, auth, app, caplog):
        auth.login(role="member")
        run = make_run("test.permanent")
        runs.execute(run.id)
        resp = client.post(f"/runs/{run.id}/retry", follow_redirects=True)
        assert resp.status_code == 200
        got = refresh(run.id)
        assert got.status == RunStatus.PENDING and got.enqueued_at is None
        assert "could not enqueue run" in caplog.text
        lines = db.session.scalars(select(RunLog.message).where(RunLog.run_id == run.id)).all()
        assert "job queue unreachable; the reaper will retry" in lines
        second = make_run()
        assert runs.submit([second.id]) == 0
        assert refresh(second.id).status == RunStatus.PENDING
        assert runs.reap()["resubmitted"] == 0  # nothing crashes while the queue is down
