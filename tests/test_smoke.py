"""The app boots on a migrated database and the first-run flow works."""

from app.models import Role, User


def test_first_visit_offers_setup_then_login(client, app):
    resp = client.get("/", follow_redirects=False)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    resp = client.get("/login")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/setup")
    resp = client.post(
        "/setup",
        data={
            "name": "Ann",
            "email": "Ann@Example.com",
            "password": "correct horse battery",
            "confirm": "correct horse battery",
        },
    )
    assert resp.status_code == 302
    user = User.query.one()
    assert user.email == "ann@example.com" and user.role == Role.ADMIN
    page = client.get("/")
    assert page.status_code == 200 and b"Dashboard" in page.data
    assert b"created the first admin account" in page.data
