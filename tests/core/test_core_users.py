"""User management: admins manage accounts; members are refused on the server."""

import pytest

from app.extensions import db
from app.models import Activity, Role, User

PW = "correct horse battery"


def _login(client, email, password):
    return client.post("/login", data={"email": email, "password": password})


def _user(email):
    db.session.expire_all()
    return User.query.filter_by(email=email).one()


def test_admin_lists_and_creates_users(client, auth):
    admin = auth.login("admin")
    page = client.get("/users/")
    assert page.status_code == 200 and admin.email.encode() in page.data
    resp = client.post("/users/new", data={"email": "New.Person@Example.com", "name": "New Person",
                                           "role": "member", "password": "long enough pw"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/users/")
    user = _user("new.person@example.com")
    assert user.name == "New Person" and user.role == Role.MEMBER and user.active
    assert user.password_hash.startswith("$argon2")
    assert Activity.query.filter_by(verb="user.create", subject_id=user.id).count() == 1
    listing = client.get("/users/")
    assert b"new.person@example.com" in listing.data


@pytest.mark.parametrize(
    "data, message",
    [
        ({"email": "not-an-email", "password": "long enough pw"}, b"not a valid email"),
        ({"email": "ok@example.com", "password": "short"}, b"at least 10"),
        ({"email": "", "password": "long enough pw"}, b"This field is required"),
        ({"email": "ok@example.com", "password": "long enough pw", "role": "owner"},
         b"Not a valid choice"),
    ],
)
def test_create_user_bad_input_is_explained_and_nothing_saved(client, auth, data, message):
    auth.login("admin")
    before = User.query.count()
    resp = client.post("/users/new", data={"name": "X", "role": "member", **data})
    assert resp.status_code == 422 and message in resp.data
    assert User.query.count() == before


def test_duplicate_email_is_refused(client, auth, create_user):
    auth.login("admin")
    create_user(email="taken@example.com")
    resp = client.post("/users/new", data={"email": "TAKEN@example.com", "role": "member",
                                           "password": "long enough pw"})
    assert resp.status_code == 422 and b"already exists" in resp.data


def test_htmx_form_error_returns_only_the_form_block(client, auth):
    auth.login("admin")
    resp = client.post("/users/new", data={"email": "bad", "password": "x"},
                       headers={"HX-Request": "true"})
    assert resp.status_code == 422
    assert b'id="user-form"' in resp.data and b"<html" not in resp.data


def test_edit_role_and_name(client, auth, create_user):
    auth.login("admin")
    member = create_user(email="m@example.com")
    resp = client.post(f"/users/{member.id}", data={"name": "Mia", "role": "admin"})
    assert resp.status_code == 302
    user = _user("m@example.com")
    assert user.name == "Mia" and user.role == Role.ADMIN


def test_last_admin_cannot_demote_or_deactivate_themselves(client, auth):
    admin = auth.login("admin")
    resp = client.post(f"/users/{admin.id}", data={"name": "Me", "role": "member"})
    assert resp.status_code == 422 and b"last active admin" in resp.data
    assert _user(admin.email).role == Role.ADMIN
    resp = client.post(f"/users/{admin.id}/active", data={"active": "0"}, follow_redirects=True)
    assert b"You cannot deactivate yourself" in resp.data and b"last active admin" in resp.data
    assert _user(admin.email).active


def test_with_a_second_admin_demotion_is_allowed(client, auth, create_user):
    admin = auth.login("admin")
    create_user(email="other-admin@example.com", role="admin")
    resp = client.post(f"/users/{admin.id}", data={"name": "", "role": "member"})
    assert resp.status_code == 302
    assert _user(admin.email).role == Role.MEMBER
    # now a member: the users pages are closed to them at once
    assert client.get("/users/").status_code == 403


def test_deactivate_signs_user_out_and_blocks_login_then_reactivate(app, client, auth,
                                                                    create_user):
    admin = auth.login("admin")
    member = create_user(email="gone@example.com")
    other = app.test_client()
    assert _login(other, "gone@example.com", PW).status_code == 302
    assert other.get("/").status_code == 200
    resp = client.post(f"/users/{member.id}/active", data={"active": "0"})
    assert resp.status_code == 302 and not _user("gone@example.com").active
    # the live session of the deactivated member no longer works
    assert other.get("/").status_code == 302
    resp = other.post("/login", data={"email": "gone@example.com", "password": PW})
    assert resp.status_code == 422 and b"deactivated" in resp.data
    # a wrong password does not reveal that the account exists
    resp = other.post("/login", data={"email": "gone@example.com", "password": "wrong password!"})
    assert b"Wrong email or password" in resp.data
    client.post(f"/users/{member.id}/active", data={"active": "1"})
    assert _user("gone@example.com").active
    assert _login(other, "gone@example.com", PW).status_code == 302
    assert admin.id != member.id


def test_reset_password_ends_other_sessions(app, client, auth, create_user):
    auth.login("admin")
    member = create_user(email="reset@example.com")
    other = app.test_client()
    other.post("/login", data={"email": "reset@example.com", "password": PW})
    assert other.get("/").status_code == 200
    bad = client.post(f"/users/{member.id}/password", data={"password": "new password 1",
                                                            "confirm": "different one 1"})
    assert bad.status_code == 422 and b"do not match" in bad.data
    ok = client.post(f"/users/{member.id}/password", data={"password": "new password 1",
                                                           "confirm": "new password 1"})
    assert ok.status_code == 302
    assert other.get("/").status_code == 302  # old session ended
    assert _login(other, "reset@example.com", PW).status_code == 422
    resp = other.post("/login", data={"email": "reset@example.com", "password": "new password 1"})
    assert resp.status_code == 302


def test_members_get_403_on_every_users_url(client, auth, create_user):
    target = create_user(email="t@example.com")
    auth.login("member")
    for method, url, data in [
        ("get", "/users/", None),
        ("get", "/users/new", None),
        ("post", "/users/new",
         {"email": "x@example.com", "role": "admin", "password": "long enough pw"}),
        ("get", f"/users/{target.id}", None),
        ("post", f"/users/{target.id}", {"name": "hacked", "role": "admin"}),
        ("post", f"/users/{target.id}/password",
         {"password": "new password 1", "confirm": "new password 1"}),
        ("post", f"/users/{target.id}/active", {"active": "0"}),
    ]:
        resp = getattr(client, method)(url, data=data)
        assert resp.status_code == 403, (method, url)
    assert _user("t@example.com").name == "" and _user("t@example.com").active
    assert User.query.filter_by(email="x@example.com").count() == 0
    # and the nav does not offer the link
    assert b'href="/users/"' not in client.get("/").data


def test_unknown_user_is_404(client, auth):
    auth.login("admin")
    assert client.get("/users/999999").status_code == 404
    assert client.post("/users/999999/active", data={"active": "0"}).status_code == 404


def test_admin_resetting_own_password_stays_signed_in(app, client, auth):
    admin = auth.login("admin")
    other = app.test_client()
    assert _login(other, admin.email, PW).status_code == 302
    resp = client.post(f"/users/{admin.id}/password",
                       data={"password": "my new password", "confirm": "my new password"})
    assert resp.status_code == 302
    assert client.get("/users/").status_code == 200  # this session carries on
    assert other.get("/").status_code == 302  # the other one ended


def test_password_hash_cost_comes_from_config_and_old_hashes_still_verify(client, create_user):
    from argon2 import PasswordHasher

    user = create_user(email="cheap@example.com")
    assert "$m=8,t=1,p=1$" in user.password_hash  # tests configure the cheapest cost
    # a hash made at another cost (argon2-cffi's production defaults) still verifies, and
    # signing in re-hashes it at the configured cost
    user.password_hash = PasswordHasher().hash(PW)
    db.session.commit()
    assert "$m=65536,t=3,p=4$" in _user("cheap@example.com").password_hash
    assert _login(client, "cheap@example.com", PW).status_code == 302
    assert "$m=8,t=1,p=1$" in _user("cheap@example.com").password_hash


def test_every_account_change_is_in_the_activity_feed(client, auth, create_user):
    admin = auth.login("admin")
    member = create_user(email="feed@example.com")
    client.post(f"/users/{member.id}", data={"name": "Fay", "role": "member"})
    client.post(f"/users/{member.id}/password",
                data={"password": "new password 1", "confirm": "new password 1"})
    client.post(f"/users/{member.id}/active", data={"active": "0"})
    client.post(f"/users/{member.id}/active", data={"active": "1"})
    rows = Activity.query.filter_by(subject_type="user", subject_id=member.id,
                                    user_id=admin.id).order_by(Activity.id).all()
    assert [a.verb for a in rows] == ["user.update", "user.password", "user.deactivated",
                                      "user.reactivated"]
    assert Activity.query.filter_by(verb="user.login", user_id=admin.id).count() == 1
