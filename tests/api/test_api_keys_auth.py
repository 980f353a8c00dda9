"""Keys: shown once, stored as a hash; 401 alike for unknown, revoked and expired keys;
malformed headers told what is wrong; read keys refused on writes; session cookies grant
nothing on the API and keys nothing on pages; the per-key limit held in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.activity import SYSTEM, Actor
from app.apikeys.operations import ApiKeyError, NotAllowed, create_key, revoke_key
from app.apikeys.tokens import key_hash
from app.extensions import db
from app.models import ApiKey, Campaign
from app.models.base import utcnow


def _bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_only_the_hash_is_stored(app, make_key):
    key = make_key("read", name="n8n")
    row = db.session.scalar(select(ApiKey))
    assert row.token_hash == key_hash(key) and key not in repr(row.__dict__)
    assert row.prefix == key[:9] and len(key) == 46 and key.startswith("pf_")


def test_unknown_revoked_expired_get_the_same_401(client, make_key):
    revoked = make_key("write")
    revoke_key(db.session.scalar(select(ApiKey)), actor=SYSTEM)
    db.session.commit()
    expired_row, expired = create_key("old", "write", actor=SYSTEM,
                                      expires_at=utcnow() + timedelta(seconds=1))
    db.session.commit()
    expired_row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    unknown = "pf_" + "A" * 43
    answers = []
    for key in (unknown, revoked, expired):
        resp = client.get("/api/v1/campaigns", headers=_bearer(key))
        assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
        answers.append(resp.json)
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("header, says", [
    (None, "needs a key"),
    ("Basic dXNlcjpwYXNz", "no other scheme"),
    ("Bearer  {key}", "spaces"),
    ("Bearer {key} ", "spaces"),
    ("Bearer {key}\t", "spaces"),
    ("Bearer sk_{tail}", "start with 'pf_'"),
    ("Bearer {key}x", "malformed"),
    ("Bearer pf_short", "malformed"),
])
def test_malformed_keys_are_told_what_is_wrong(client, make_key, header, says):
    key = make_key("write")
    headers = {} if header is None else {
        "Authorization": header.format(key=key, tail=key[3:])}
    resp = client.post("/api/v1/campaigns", json={"name": "x"}, headers=headers)
    assert resp.status_code == 401 and says in resp.json["error"]["message"]
    assert db.session.scalar(select(Campaign.id)) is None


def test_revoking_takes_effect_at_once(client, make_key):
    key = make_key("write")
    assert client.get("/api/v1/campaigns", headers=_bearer(key)).status_code == 200
    row = db.session.scalar(select(ApiKey))
    assert row.last_used_at is not None
    revoke_key(row, actor=SYSTEM)
    db.session.commit()
    assert client.get("/api/v1/campaigns", headers=_bearer(key)).status_code == 401


def test_read_key_may_not_write(read_api):
    assert read_api.get("/campaigns").status_code == 200
    resp = read_api.post("/campaigns", {"name": "Nope"})
    assert resp.status_code == 403 and resp.json["error"]["code"] == "forbidden"
    assert db.session.scalar(select(Campaign.id)) is None


def test_session_cookie_is_not_accepted_on_the_api(client, auth):
    auth.login("admin")
    assert client.get("/campaigns/").status_code == 200  # signed in on pages
    resp = client.get("/api/v1/campaigns")
    assert resp.status_code == 401 and resp.is_json
    post = client.post("/api/v1/campaigns", json={"name": "CSRF"})
    assert post.status_code == 401
    assert db.session.scalar(select(Campaign.id)) is None
    assert "Set-Cookie" not in resp.headers


def test_a_key_is_not_accepted_on_pages(client, make_key):
    key = make_key("write")
    for path in ("/", "/campaigns/", "/runs/", "/api-keys/reference"):
        resp = client.get(path, headers=_bearer(key))
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
    resp = client.post("/campaigns/new", data={"name": "x"}, headers=_bearer(key))
    assert resp.status_code in (302, 400, 401, 403)
    assert db.session.scalar(select(Campaign.id)) is None


def test_api_answers_set_no_cookie_and_no_store(api):
    resp = api.get("/campaigns")
    assert "Set-Cookie" not in resp.headers and resp.headers["Cache-Control"] == "no-store"


def test_rate_limit_per_key_with_retry_after(app, client, make_key):
    app.config.update(API_RATE_LIMIT=3, API_RATE_WINDOW_SECONDS=60)
    key, other = make_key("read"), make_key("read")
    codes = [client.get("/api/v1/campaigns", headers=_bearer(key)).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/v1/campaigns", headers=_bearer(key))
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json["error"]["code"] == "rate_limited"
    assert client.get("/api/v1/campaigns", headers=_bearer(other)).status_code == 200
    # The window is in the key's row: a new window opens once it has passed.
    row = db.session.scalar(select(ApiKey).where(ApiKey.token_hash == key_hash(key)))
    row.window_start = utcnow() - timedelta(seconds=61)
    db.session.commit()
    assert client.get("/api/v1/campaigns", headers=_bearer(key)).status_code == 200


def test_a_flood_of_made_up_keys_is_throttled_per_address_before_the_key_statement(
        app, client, make_key, count_statements):
    """Any well-formed ``pf_`` key costs the key's UPDATE (SQLite's write lock): after
    ``API_AUTH_FAILURE_LIMIT`` refusals an address gets 429 with ``Retry-After`` from one
    read, before any key statement, whatever key it sends; other addresses go on."""
    app.config.update(API_AUTH_FAILURE_LIMIT=3, API_AUTH_FAILURE_WINDOW_SECONDS=60)
    good = make_key("read")
    flood = {"REMOTE_ADDR": "203.0.113.9"}
    codes = [client.get("/api/v1/campaigns", headers=_bearer("pf_" + f"{i:043d}"),
                        environ_base=flood).status_code for i in range(3)]
    assert codes == [401, 401, 401]
    with count_statements() as seen:
        limited = client.get("/api/v1/campaigns", headers=_bearer("pf_" + "y" * 43),
                             environ_base=flood)
    assert limited.status_code == 429 and limited.json["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert len(seen.seen) == 1 and seen.seen[0].lstrip().upper().startswith("SELECT"), \
        seen.seen  # no key statement, no write
    # The limit is per address: another one is refused or served as usual...
    assert client.get("/api/v1/campaigns", headers=_bearer(good),
                      environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200
    # ...and a good key pays nothing extra: the key's statement, then the page's one.
    with count_statements() as seen:
        assert client.get("/api/v1/campaigns", headers=_bearer(good)).status_code == 200
    assert len(seen.seen) == 2, seen.seen


def test_the_limit_holds_across_apps_sharing_the_database(app, app_config, make_key):
    """Two app instances (two web processes, each request in its own context) count in
    the same row of the same database."""
    from app import create_app

    key = make_key("read")
    apps = [create_app({**app_config, "API_RATE_LIMIT": 4}) for _ in range(2)]
    clients = [a.test_client() for a in apps]
    codes = [clients[i % 2].get("/api/v1/campaigns", headers=_bearer(key)).status_code
             for i in range(6)]
    assert codes == [200, 200, 200, 200, 429, 429]
    for a in apps:
        with a.app_context():
            db.engine.dispose()


def test_key_operations_check_who_and_what(app, create_user):
    member = create_user(role="member")
    with pytest.raises(NotAllowed):
        create_key("x", "read", actor=Actor.of_user(member))
    with pytest.raises(NotAllowed):
        create_key("x", "read", actor=Actor.of_api_key(1, "n8n"))
    with pytest.raises(ApiKeyError):
        create_key("  ", "read", actor=SYSTEM)
    with pytest.raises(ApiKeyError):
        create_key("x", "admin", actor=SYSTEM)
    with pytest.raises(ApiKeyError):
        create_key("x", "read", actor=SYSTEM, expires_at=utcnow() - timedelta(days=1))
    row, _ = create_key("\u202eexe.png", "read", actor=SYSTEM)
    assert "\u202e" not in row.name
