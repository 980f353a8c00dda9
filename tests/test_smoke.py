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


def test_racing_first_run_setups_create_one_admin(client, app, monkeypatch):
    """Two people submitting first-run setup at once: one admin, the other sent to sign in.
    Both are held until each has passed the page's "no users yet" check, so without the
    lock in ``first_run_open`` both would become admins (on PostgreSQL; on SQLite the
    write transaction serialises and the hold just times out)."""
    import threading

    from app.blueprints.auth import routes
    from app.extensions import db

    db.session.rollback()  # this thread holds no transaction while the two race
    both_checked = threading.Barrier(2, timeout=3)
    real_has_users = routes.has_users

    def has_users_then_wait() -> bool:
        found = real_has_users()
        try:
            both_checked.wait()
        except threading.BrokenBarrierError:
            pass
        return found

    monkeypatch.setattr(routes, "has_users", has_users_then_wait)
    answers: list[tuple[int, str]] = []

    def submit(n: int) -> None:
        resp = app.test_client().post("/setup", data={
            "name": f"Admin {n}", "email": f"admin{n}@example.com",
            "password": "correct horse battery", "confirm": "correct horse battery"})
        answers.append((resp.status_code, resp.headers.get("Location", "")))

    threads = [threading.Thread(target=submit, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(answers) == [(302, "/"), (302, "/login")]
    assert User.query.count() == 1
