"""Managing keys: the admin page (made, shown once, listed, revoked), members refused;
the CLI (`pitchfast keys create/list/revoke`) calling the same operations."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.apikeys.tokens import key_hash
from app.cli import main
from app.extensions import db
from app.models import Activity, ApiKey

KEY_RE = re.compile(r"pf_[A-Za-z0-9_-]{43}")


def test_admin_creates_sees_once_and_revokes(client, auth):
    admin = auth.login("admin")
    page = client.get("/api-keys/")
    assert page.status_code == 200 and "No API keys yet" in page.get_data(as_text=True)
    made = client.post("/api-keys/", data={"name": "n8n", "scope": "write",
                                           "expires": "2099-01-31"})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    key = KEY_RE.search(made.get_data(as_text=True)).group(0)
    row = db.session.scalar(select(ApiKey))
    assert row.token_hash == key_hash(key) and row.expires_at.year == 2099
    listing = client.get("/api-keys/").get_data(as_text=True)
    assert "n8n" in listing and key not in listing and key[:9] in listing
    assert client.get("/api/v1/campaigns", headers={
        "Authorization": f"Bearer {key}"}).status_code == 200
    assert "just now" in client.get("/api-keys/").get_data(as_text=True)  # last used
    client.post(f"/api-keys/{row.id}/revoke")
    assert client.get("/api/v1/campaigns", headers={
        "Authorization": f"Bearer {key}"}).status_code == 401
    assert "revoked" in client.get("/api-keys/").get_data(as_text=True)
    verbs = db.session.scalars(select(Activity.verb).where(
        Activity.actor_label == admin.email, Activity.verb.like("apikey.%"))).all()
    assert sorted(verbs) == ["apikey.create", "apikey.revoke"]


def test_bad_form_is_422_with_messages(client, auth):
    auth.login("admin")
    resp = client.post("/api-keys/", data={"name": "", "scope": "owner",
                                           "expires": "2001-01-01"})
    assert resp.status_code == 422
    assert db.session.scalar(select(ApiKey.id)) is None
    past = client.post("/api-keys/", data={"name": "old", "scope": "read",
                                           "expires": "2001-01-01"})
    assert past.status_code == 422 and "future" in past.get_data(as_text=True)


def test_members_may_read_the_reference_but_not_manage_keys(client, auth):
    auth.login("member")
    assert client.get("/api-keys/").status_code == 403
    assert client.post("/api-keys/", data={"name": "x", "scope": "read"}).status_code == 403
    ref = client.get("/api-keys/reference")
    text = ref.get_data(as_text=True)
    assert ref.status_code == 200
    for needle in ("/api/v1/campaigns/{slug}/leads", "business_name", "next_cursor",
                   "Retry-After", "leads:import"):
        assert needle in text, needle


def test_cli_create_list_revoke(app, runner):
    made = runner.invoke(main, ["keys", "create", "zapier", "--scope", "read",
                                "--expires", "30d"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    assert KEY_RE.fullmatch(key) and "shown" in made.stderr
    listed = runner.invoke(main, ["keys", "list"])
    assert "zapier" in listed.output and key[:9] in listed.output and key not in listed.output
    row = db.session.scalar(select(ApiKey))
    assert runner.invoke(main, ["keys", "revoke", str(row.id)]).exit_code == 0
    db.session.expire_all()
    assert row.revoked_at is not None
    again = runner.invoke(main, ["keys", "revoke", str(row.id)])
    assert "already revoked" in again.output
    assert runner.invoke(main, ["keys", "revoke", "999"]).exit_code == 1
    bad = runner.invoke(main, ["keys", "create", "x", "--scope", "admin"])
    assert bad.exit_code == 2
    bad_date = runner.invoke(main, ["keys", "create", "x", "--scope", "read",
                                    "--expires", "tomorrow"])
    assert bad_date.exit_code == 2 and "30d" in bad_date.output


def test_more_keys_than_a_page_are_paged_not_cut(app, runner, client, auth):
    """Past 200 keys the page and `keys list` say how many there are and page on; no key
    is silently left out."""
    from app.apikeys.queries import PER_PAGE

    db.session.add_all(ApiKey(name=f"bulk {i}", scope="read", prefix=f"pf_{i:06d}",
                              token_hash=key_hash(f"pf_bulk_{i}"), window_count=0)
                       for i in range(PER_PAGE + 5))
    db.session.commit()
    first = runner.invoke(main, ["keys", "list"])
    assert first.exit_code == 0 and len(first.stdout.splitlines()) == PER_PAGE
    assert f"Showing 1–{PER_PAGE} of {PER_PAGE + 5} keys; --page 2 for more." in first.stderr
    second = runner.invoke(main, ["keys", "list", "--page", "2"])
    assert len(second.stdout.splitlines()) == 5 and "bulk 0\n" in second.stdout
    assert f"Showing {PER_PAGE + 1}–{PER_PAGE + 5} of {PER_PAGE + 5} keys." in second.stderr
    auth.login("admin")
    page1 = client.get("/api-keys/").get_data(as_text=True)
    assert f"of {PER_PAGE + 5} keys" in page1 and "page=2" in page1
    assert page1.count('data-label="Key"') == PER_PAGE
    page2 = client.get("/api-keys/?page=2").get_data(as_text=True)
    assert page2.count('data-label="Key"') == 5 and ">bulk 0<" in page2
