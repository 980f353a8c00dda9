"""Sessions live on the server (issue 7.5): a row per signed-in browser, checked on every
request, so ending it ends it everywhere, a copied cookie included.

Each test replays what an attacker or a careless admin did: reuse a cookie after
sign-out, keep a session across deactivation and reactivation, keep working after a role
change; and checks what people can see and end themselves.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, User, UserSession
from app.models.base import utcnow

PW = "correct horse battery"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0.0.0 Safari/537.36")


def _browser(app, email, password=PW, agent=FIREFOX, addr="127.0.0.1"):
    """A new browser signed in as ``email`` (its requests all carry that agent and address)."""
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": addr})
    resp = client.post("/login", data={"email": email, "password": password})
    assert resp.status_code == 302, resp.data[:300]
    return client


def _thief(app, victim):
    """Another machine replaying ``victim``'s session cookie (same agent and address, as a
    thief copying a cookie would send)."""
    thief = app.test_client()
    thief.environ_base.update(victim.environ_base)
    thief.set_cookie("session", victim.get_cookie("session").value)
    return thief


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _open_rows(user_id):
    db.session.expire_all()
    return UserSession.query.filter_by(user_id=user_id, ended_at=None).all()


def test_sign_out_ends_a_stolen_cookie(app, create_user):
    user = create_user(email="victim@example.com")
    browser = _browser(app, user.email)
    thief = _thief(app, browser)
    assert _signed_in(thief)  # the copied cookie works while the session is open
    browser.post("/logout")
    assert not _signed_in(browser)
    assert not _signed_in(thief)  # sign-out ended it for the copy too
    row = UserSession.query.filter_by(user_id=user.id).one()
    assert row.ended_at is not None and row.end_reason == "signed out"


def test_only_the_token_hash_is_stored(app, create_user):
    user = create_user(email="hash@example.com")
    browser = _browser(app, user.email)
    with browser.session_transaction() as sess:
        token = sess["_st"]
    row = UserSession.query.filter_by(user_id=user.id).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    dump = " ".join(str(v) for r in db.session.execute(sa.text("SELECT * FROM user_sessions"))
                    for v in r)
    assert token not in dump


def test_deactivated_then_reactivated_user_old_sessions_stay_dead(app, auth, client,
                                                                 create_user):
    auth.login("admin")
    member = create_user(email="leaver@example.com")
    browser = _browser(app, member.email)
    thief = _thief(app, browser)
    assert client.post(f"/users/{member.id}/active", data={"active": "0"}).status_code == 302
    assert client.post(f"/users/{member.id}/active", data={"active": "1"}).status_code == 302
    assert not _signed_in(browser) and not _signed_in(thief)
    assert {r.end_reason for r in UserSession.query.filter_by(user_id=member.id)} == {
        "deactivated"}
    # signing in again is a new session, which works
    assert _signed_in(_browser(app, member.email))


def test_role_change_ends_all_their_sessions(app, auth, client, create_user):
    auth.login("admin")
    member = create_user(email="promoted@example.com")
    browsers = [_browser(app, member.email), _browser(app, member.email, agent=CHROME)]
    resp = client.post(f"/users/{member.id}", data={"name": "", "role": "admin"})
    assert resp.status_code == 302
    assert not any(_signed_in(b) for b in browsers)
    assert _open_rows(member.id) == []
    # a name-only edit ends nothing
    again = _browser(app, member.email)
    client.post(f"/users/{member.id}", data={"name": "Pat", "role": "admin"})
    assert _signed_in(again)


def test_admin_demoting_themselves_keeps_only_the_session_they_act_from(app, auth, client,
                                                                        create_user):
    admin = auth.login("admin")
    create_user(email="other-admin@example.com", role="admin")
    elsewhere = _browser(app, admin.email, agent=CHROME)
    assert client.post(f"/users/{admin.id}", data={"name": "", "role": "member"}).status_code == 302
    assert client.get("/").status_code == 200 and client.get("/users/").status_code == 403
    assert not _signed_in(elsewhere)


def test_admin_password_reset_ends_every_session_of_that_user(app, auth, client, create_user):
    auth.login("admin")
    member = create_user(email="reset@example.com")
    browser = _browser(app, member.email)
    resp = client.post(f"/users/{member.id}/password",
                       data={"password": "new password 1", "confirm": "new password 1"})
    assert resp.status_code == 302
    assert not _signed_in(browser) and _open_rows(member.id) == []


def test_my_account_lists_sessions_and_ends_one(app, create_user):
    user = create_user(email="me@example.com")
    laptop = _browser(app, user.email, agent=FIREFOX, addr="192.0.2.10")
    phone = _browser(app, user.email, agent=CHROME, addr="192.0.2.20")
    page = laptop.get("/account")
    assert page.status_code == 200
    html = page.data.decode()
    assert "Firefox on Linux" in html and "Chrome on Windows" in html
    assert "192.0.2.10" in html and "192.0.2.20" in html and "this browser" in html
    assert 'href="/account"' in html  # linked from the top bar
    phone_row = next(r for r in _open_rows(user.id) if r.ip == "192.0.2.20")
    resp = laptop.post(f"/account/sessions/{phone_row.id}/end")
    assert resp.status_code == 302
    assert not _signed_in(phone) and _signed_in(laptop)
    assert Activity.query.filter_by(verb="user.session_ended", subject_id=user.id).count() == 1
    # ending it again, or someone else's session, is a 404 that ends nothing
    assert laptop.post(f"/account/sessions/{phone_row.id}/end").status_code == 404
    other = create_user(email="someone-else@example.com")
    other_browser = _browser(app, other.email)
    other_row = _open_rows(other.id)[0]
    assert laptop.post(f"/account/sessions/{other_row.id}/end").status_code == 404
    assert _signed_in(other_browser)


def test_end_all_other_sessions_and_signing_out_here(app, create_user):
    user = create_user(email="many@example.com")
    here = _browser(app, user.email)
    others = [_browser(app, user.email, agent=CHROME) for _ in range(3)]
    assert here.post("/account/sessions/end-others").status_code == 302
    assert _signed_in(here) and not any(_signed_in(b) for b in others)
    (mine,) = _open_rows(user.id)
    resp = here.post(f"/account/sessions/{mine.id}/end")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert not _signed_in(here)


def test_admin_sees_and_ends_anyones_sessions(app, auth, client, create_user):
    auth.login("admin")
    member = create_user(email="watched@example.com")
    first = _browser(app, member.email, agent=FIREFOX, addr="192.0.2.30")
    second = _browser(app, member.email, agent=CHROME, addr="192.0.2.31")
    page = client.get(f"/users/{member.id}").data.decode()
    assert "Firefox on Linux" in page and "192.0.2.31" in page
    row = next(r for r in _open_rows(member.id) if r.ip == "192.0.2.30")
    assert client.post(f"/users/{member.id}/sessions/{row.id}/end").status_code == 302
    assert not _signed_in(first) and _signed_in(second)
    assert client.post(f"/users/{member.id}/sessions/end-all").status_code == 302
    assert not _signed_in(second)
    # a session id under the wrong user is a 404
    own = _open_rows(auth_user_id(client))[0]
    assert client.post(f"/users/{member.id}/sessions/{own.id}/end").status_code == 404


def auth_user_id(client) -> int:
    with client.session_transaction() as sess:
        return int(sess["_user_id"])


def test_members_cannot_end_other_peoples_sessions_through_the_admin_routes(app, auth, client,
                                                                            create_user):
    victim = create_user(email="v@example.com")
    browser = _browser(app, victim.email)
    row = _open_rows(victim.id)[0]
    auth.login("member")
    assert client.post(f"/users/{victim.id}/sessions/{row.id}/end").status_code == 403
    assert client.post(f"/users/{victim.id}/sessions/end-all").status_code == 403
    assert _signed_in(browser)


class TestOwnPasswordChange:
    def test_changing_my_password_keeps_this_session_and_ends_the_others(self, app,
                                                                         create_user):
        user = create_user(email="changer@example.com")
        here = _browser(app, user.email)
        there = _browser(app, user.email, agent=CHROME)
        resp = here.post("/account/password", data={
            "current": PW, "password": "a fresh long passphrase", "confirm":
            "a fresh long passphrase"})
        assert resp.status_code == 302
        assert _signed_in(here) and not _signed_in(there)
        _browser(app, user.email, password="a fresh long passphrase")

    @pytest.mark.parametrize("data, field_message", [
        ({"current": "not my password", "password": "a fresh long passphrase",
          "confirm": "a fresh long passphrase"}, "That is not your current password."),
        ({"current": PW, "password": "password12", "confirm": "password12"},
         "This password is too easy to guess."),
        ({"current": PW, "password": "a fresh long passphrase", "confirm": "another"},
         "The passwords do not match."),
    ])
    def test_refusals_are_explained_and_change_nothing(self, app, create_user, data,
                                                        field_message):
        user = create_user(email="careful@example.com")
        here = _browser(app, user.email)
        there = _browser(app, user.email, agent=CHROME)
        before = db.session.get(User, user.id).password_hash
        resp = here.post("/account/password", data=data)
        assert resp.status_code == 422 and field_message in resp.data.decode()
        db.session.expire_all()
        assert db.session.get(User, user.id).password_hash == before
        assert _signed_in(here) and _signed_in(there)

    def test_guessing_the_current_password_backs_off(self, app, create_user):
        user = create_user(email="borrowed@example.com")
        borrowed = _browser(app, user.email)
        answers = [borrowed.post("/account/password", data={
            "current": f"guess {i}", "password": "a fresh long passphrase",
            "confirm": "a fresh long passphrase"}).data.decode() for i in range(7)]
        assert sum("not your current password" in a for a in answers) == 5
        assert "Too many wrong passwords" in answers[-1]


def test_last_seen_is_written_at_most_once_a_minute_in_its_own_transaction(app, create_user):
    user = create_user(email="seen@example.com")
    browser = _browser(app, user.email)
    row = UserSession.query.filter_by(user_id=user.id).one()
    long_ago = utcnow() - timedelta(hours=2)
    row.last_seen_at = long_ago
    row_id = row.id
    db.session.commit()
    with browser.session_transaction() as sess:
        sess["_seen"] = 0

    def statements_of(path):
        seen = []

        def log(conn, cursor, statement, *args):
            seen.append(" ".join(statement.split())[:60])

        db.session.remove()  # a real request starts with no transaction open
        sa.event.listen(db.engine, "before_cursor_execute", log)
        try:
            assert browser.get(path).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", log)
        return seen

    first = statements_of("/")
    updates = [i for i, s in enumerate(first) if s.startswith("UPDATE user_sessions")]
    assert len(updates) == 1, first
    # its own short transaction: the first statement after BEGIN, and the request's reads
    # begin a new (deferred, read-only) transaction after it
    i = updates[0]
    if db.engine.dialect.name == "sqlite":
        assert first[i - 1] == "BEGIN" and first[i + 1] == "BEGIN", first
    assert db.session.get(UserSession, row_id).last_seen_at > long_ago
    second = statements_of("/")
    assert not any(s.startswith("UPDATE") for s in second), second


def test_a_session_unused_for_the_idle_limit_has_ended(app, create_user):
    user = create_user(email="idle@example.com")
    user_id = user.id
    browser = _browser(app, "idle@example.com")
    row = UserSession.query.filter_by(user_id=user_id).one()
    row.last_seen_at = utcnow() - timedelta(days=app.config["SESSION_IDLE_DAYS"], minutes=1)
    db.session.commit()
    with browser.session_transaction() as sess:
        sess["_seen"] = 0  # due for a last-seen write: it must not revive the session
    db.session.remove()
    assert not _signed_in(browser)
    fresh = _browser(app, "idle@example.com")
    assert len(_open_rows(user_id)) == 2  # the idle row is not ended, but it is not listed
    page = fresh.get("/account").data.decode()
    assert page.count("Sign out here") == 1 and page.count(">End<") == 0
