"""One-time account links (issue 9, item 6): an admin invites a new user or makes a
password-reset link; the token is random, stored hashed, single use, expiring, revoked by
a newer one; emailed when SMTP is configured (a real SMTP server here, aiosmtpd on
127.0.0.1), else shown once; used, expired and unknown links look the same."""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.activity import SYSTEM
from app.extensions import db
from app.models import AccountLink, Activity, LinkKind, User, UserSession
from app.users import operations, passwords

PW = "correct horse battery"
NEW_PW = "plum tractor evening kettle"
LINK = re.compile(r"http://[^/\s\"<]+/(invite|reset)/([A-Za-z0-9_-]{43})")


def _user(email):
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def _links(user_id):
    db.session.expire_all()
    return db.session.scalars(select(AccountLink).where(AccountLink.user_id == user_id)
                              .order_by(AccountLink.id)).all()


def _shown_link(resp):
    match = LINK.search(resp.get_data(as_text=True))
    assert match, resp.get_data(as_text=True)[:2000]
    return match.group(0), "/" + match.group(1) + "/" + match.group(2), match.group(2)


def _verbs(user_id):
    return [a.verb for a in db.session.scalars(
        select(Activity).where(Activity.subject_type == "user", Activity.subject_id == user_id)
        .order_by(Activity.id))]


def test_invite_shows_the_link_once_stores_only_its_hash_and_works_once(app, client, auth):
    auth.login("admin")
    resp = client.post("/users/new", data={"email": "Nia@Example.com", "name": "Nia Park",
                                           "role": "member", "password": ""})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    url, path, token = _shown_link(resp)
    assert path.startswith("/invite/")
    assert len(token) == 43  # 32 random bytes, base64url: 256 bits
    nia = _user("nia@example.com")
    assert not passwords.is_usable(nia.password_hash)
    (link,) = _links(nia.id)
    assert link.kind == LinkKind.INVITE and link.token_hash == hashlib.sha256(
        token.encode()).hexdigest()
    assert token not in str([link.token_hash, nia.password_hash])
    assert timedelta(hours=71) < link.expires_at - link.created_at <= timedelta(hours=72)
    # an invited account cannot sign in with anything yet (not even the dummy password)
    auth.logout()
    for guess in ("", "not-a-real-password-0", passwords.NOT_SET):
        assert client.post("/login", data={"email": nia.email, "password": guess or "x"}
                           ).status_code == 422

    page = client.get(path)
    assert page.status_code == 200 and b"nia@example.com" in page.data
    assert page.headers["Referrer-Policy"] == "no-referrer"
    weak = client.post(path, data={"password": "nia park 12", "confirm": "nia park 12"})
    assert weak.status_code == 422 and b"too easy to guess" in weak.data
    assert passwords.is_usable(_user("nia@example.com").password_hash) is False
    done = client.post(path, data={"password": NEW_PW, "confirm": NEW_PW})
    assert done.status_code == 302 and done.headers["Location"].endswith("/")
    assert client.get("/account").status_code == 200  # signed in as Nia
    assert b"nia@example.com" in client.get("/account").data
    assert passwords.verify(_user("nia@example.com").password_hash, NEW_PW)
    assert _links(nia.id)[0].used_at is not None
    assert _verbs(nia.id) == ["user.create", "user.invite_link", "user.invite_used"]

    # used once: now it looks exactly like an unknown link
    again = client.get(path)
    unknown = client.get("/invite/" + "A" * 43)
    garbage = client.get("/invite/not-a-token")
    assert again.status_code == unknown.status_code == garbage.status_code == 404
    assert again.data == unknown.data == garbage.data
    assert b"no longer valid" in again.data
    assert client.post(path, data={"password": "other " + NEW_PW,
                                   "confirm": "other " + NEW_PW}).status_code == 404


def test_an_expired_link_or_the_wrong_kind_looks_unknown(app, client, auth, create_user):
    auth.login("admin")
    bob = create_user(email="bob@example.com")
    resp = client.post(f"/users/{bob.id}/link")
    _url, path, token = _shown_link(resp)
    assert path.startswith("/reset/")
    assert client.get("/invite/" + token).status_code == 404  # a reset link is not an invite
    link = _links(bob.id)[0]
    link.expires_at = link.created_at - timedelta(seconds=1)
    db.session.commit()
    expired = client.get(path)
    assert expired.status_code == 404 and b"no longer valid" in expired.data
    assert expired.data == client.get("/reset/" + "B" * 43).data


def test_a_newer_link_revokes_the_older_one_and_the_old_password_lasts_until_used(
        app, client, auth, create_user):
    admin = auth.login("admin")
    bob = create_user(email="bob@example.com")
    _u, first, _t = _shown_link(client.post(f"/users/{bob.id}/link"))
    _u, second, _t = _shown_link(client.post(f"/users/{bob.id}/link"))
    assert first != second
    assert client.get(first).status_code == 404 and client.get(second).status_code == 200
    old, new = _links(bob.id)
    assert old.revoked_at is not None and new.revoked_at is None
    # until the link is used, Bob's password and sessions carry on
    assert passwords.verify(_user("bob@example.com").password_hash, PW)
    # an admin setting the password some other way revokes the link too
    assert client.post(f"/users/{bob.id}/password",
                       data={"password": NEW_PW, "confirm": NEW_PW}).status_code == 302
    assert client.get(second).status_code == 404
    assert _verbs(bob.id).count("user.reset_link") == 2
    assert admin.id != bob.id


def test_using_a_reset_link_ends_every_session_of_that_user(app, client, auth, create_user):
    bob = create_user(email="bob@example.com")
    other = app.test_client()
    assert other.post("/login", data={"email": bob.email, "password": PW}).status_code == 302
    assert other.get("/account").status_code == 200
    auth.login("admin")
    _u, path, _t = _shown_link(client.post(f"/users/{bob.id}/link"))
    auth.logout()
    assert client.post(path, data={"password": NEW_PW, "confirm": NEW_PW}).status_code == 302
    assert other.get("/account").status_code == 302  # the old browser is signed out
    open_rows = db.session.scalars(select(UserSession).where(
        UserSession.user_id == bob.id, UserSession.ended_at.is_(None))).all()
    assert len(open_rows) == 1  # the one the link just started
    assert "user.reset_used" in _verbs(bob.id)
    assert other.post("/login", data={"email": bob.email, "password": PW}).status_code == 422
    assert other.post("/login", data={"email": bob.email, "password": NEW_PW}).status_code == 302


def test_two_submissions_of_one_link_set_the_password_once(app, create_user):
    bob = create_user(email="bob@example.com")
    issued = operations.issue_link(bob, actor=SYSTEM, config=app.config)
    db.session.commit()
    link = db.session.get(AccountLink, issued.link.id)
    operations.use_link(link, NEW_PW)
    db.session.commit()
    with pytest.raises(operations.LinkNoLongerValid):
        operations.use_link(link, "second " + NEW_PW)
    db.session.rollback()
    assert passwords.verify(_user("bob@example.com").password_hash, NEW_PW)


def test_deactivating_revokes_and_deactivated_users_get_no_link(app, client, auth, create_user):
    auth.login("admin")
    bob = create_user(email="bob@example.com")
    _u, path, _t = _shown_link(client.post(f"/users/{bob.id}/link"))
    client.post(f"/users/{bob.id}/active", data={"active": "0"})
    assert client.get(path).status_code == 404
    resp = client.post(f"/users/{bob.id}/link")
    assert resp.status_code == 302
    assert b"reactivate them first" in client.get(resp.headers["Location"]).data
    assert len(_links(bob.id)) == 1


def test_members_cannot_make_links(client, auth, create_user):
    bob = create_user(email="bob@example.com")
    auth.login("member")
    assert client.post(f"/users/{bob.id}/link").status_code == 403
    assert client.post("/users/new", data={"email": "x@example.com", "role": "admin"}
                       ).status_code == 403
    assert _links(bob.id) == []


# -- email through a real SMTP server --------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(app):
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, loop=asyncio.new_event_loop())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False)
    try:
        yield inbox
    finally:
        controller.stop()
        controller.loop.close()


def test_with_smtp_the_link_is_emailed_not_shown(app, client, auth, smtp):
    from email import message_from_bytes
    from email.policy import default

    from app.settings import operations as settings_ops

    admin = auth.login("admin")
    settings_ops.save_agency({"agency_name": "Bright Pixel", "sender_name": "Ann at Bright Pixel",
                              "sender_address": "ann@brightpixel.example",
                              "brand_colour": "#4f46e5"}, actor=SYSTEM)
    db.session.commit()
    resp = client.post("/users/new", data={"email": "cara@example.com", "role": "member"})
    assert resp.status_code == 302, resp.data[:500]
    page = client.get(resp.headers["Location"])
    assert b"An invite is on its way to cara@example.com" in page.data
    assert not LINK.search(page.get_data(as_text=True))  # not shown: it went by email
    (envelope,) = smtp.messages
    assert envelope.rcpt_tos == ["cara@example.com"]
    msg = message_from_bytes(envelope.content, policy=default)
    assert msg["Subject"] == "You are invited to Bright Pixel on PitchFast"
    assert msg["From"] == "Ann at Bright Pixel <ann@brightpixel.example>"
    body = msg.get_content()
    assert admin.email in body and "72 hours" in body
    match = LINK.search(body)
    assert match and match.group(1) == "invite"
    auth.logout()
    path = f"/invite/{match.group(2)}"
    assert client.post(path, data={"password": NEW_PW, "confirm": NEW_PW}).status_code == 302
    assert b"cara@example.com" in client.get("/account").data


def test_when_the_email_fails_the_link_is_shown_with_the_reason(app, client, auth, smtp):
    app.config["SMTP_PORT"] = 1  # nothing listens there
    auth.login("admin")
    resp = client.post("/users/new", data={"email": "dan@example.com", "role": "member"})
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "The email could not be sent" in text
    _url, path, _t = _shown_link(resp)
    assert client.get(path).status_code == 200
