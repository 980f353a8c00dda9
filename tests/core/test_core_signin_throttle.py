"""Sign-in throttling is backoff, never a lock an attacker can use as a weapon (issue 7.6).

Failures are counted per account and per client address (``app/ratelimit.py``); past a
free allowance each one doubles the wait before the next try. A browser holding a signed
device cookie from an earlier successful sign-in is exempt for that account, so neither
an attacker hammering the account nor a crowd sharing an address (NAT, a proxy) can keep
its owner out. Real and unknown accounts get identical answers.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from app.auth import devices
from app.extensions import db
from app.models import RateEvent
from app.models.base import utcnow

PW = "correct horse battery"
ATTACKER = "198.51.100.66"  # documentation addresses: only strings in REMOTE_ADDR
OFFICE = "203.0.113.10"


@pytest.fixture
def app_config(app_config):
    # The production allowances (tests/conftest.py lifts the per-address one).
    return {**app_config, "LOGIN_ACCOUNT_FREE_FAILURES": 5, "LOGIN_ADDRESS_FREE_FAILURES": 30,
            "LOGIN_FAILURE_WINDOW_SECONDS": 3600, "LOGIN_BACKOFF_CAP_SECONDS": 300}


def _post(client, email, password, addr):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": addr})


def _error(resp) -> str:
    found = re.search(rb'class="flash flash-error" role="alert">([^<]*)<', resp.data)
    return found.group(1).decode() if found else ""


def _known_device(app, email, addr):
    """A browser that signed in to ``email`` once (it holds the device cookie), signed out."""
    browser = app.test_client()
    assert _post(browser, email, PW, addr).status_code == 302
    assert browser.get_cookie(devices.COOKIE) is not None
    browser.post("/logout")
    return browser


class Clock:
    """The rate limiter's clock, stopped: waits pass only when the test says so, so the
    backoff is checked exactly however slow the machine is."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    stopped = Clock()
    monkeypatch.setattr("app.ratelimit.utcnow", stopped)
    return stopped


def test_wrong_passwords_never_lock_the_admin_out_of_their_known_device(app, create_user):
    admin = create_user(email="only-admin@example.com", role="admin")
    laptop = _known_device(app, admin.email, OFFICE)
    attacker = app.test_client()
    answers = [_post(attacker, admin.email, f"guess number {i}", ATTACKER) for i in range(12)]
    assert all(r.status_code == 422 for r in answers)
    # the account's backoff is on: even the right password from a new device waits
    stranger = _post(app.test_client(), admin.email, PW, "192.0.2.44")
    assert stranger.status_code == 422 and "Too many failed sign-ins" in _error(stranger)
    assert int(stranger.headers["Retry-After"]) >= 1
    # the owner's known device signs in at once, from any address, with no lock message
    resp = _post(laptop, admin.email, PW, OFFICE)
    assert resp.status_code == 302, _error(resp)
    assert laptop.get("/", environ_base={"REMOTE_ADDR": OFFICE}).status_code == 200
    laptop.post("/logout")
    assert _post(laptop, admin.email, PW, "192.0.2.99").status_code == 302


def test_a_typo_on_the_known_device_does_not_slow_the_owner_down(app, create_user):
    user = create_user(email="typo@example.com")
    laptop = _known_device(app, user.email, OFFICE)
    attacker = app.test_client()
    for i in range(8):
        _post(attacker, user.email, f"guess number {i}", ATTACKER)
    typo = _post(laptop, user.email, "my old password", OFFICE)
    assert _error(typo) == "Wrong email or password."
    assert _post(laptop, user.email, PW, OFFICE).status_code == 302


def test_32_bad_attempts_from_a_shared_address_do_not_block_users_with_device_cookies(
        app, create_user, clock):
    people = [create_user(email=f"colleague{i}@example.com") for i in range(3)]
    browsers = [_known_device(app, p.email, OFFICE) for p in people]
    attacker = app.test_client()  # behind the same NAT as everyone else
    for i in range(32):
        _post(attacker, f"victim{i}@example.com", "password guess 1", OFFICE)
    # the address is now backing off: a browser that never signed in here waits
    newcomer = create_user(email="newcomer@example.com")
    blocked = _post(app.test_client(), newcomer.email, PW, OFFICE)
    assert "Too many failed sign-ins" in _error(blocked)
    # everyone with a device cookie signs in at once, from that very address
    for person, browser in zip(people, browsers, strict=True):
        resp = _post(browser, person.email, PW, OFFICE)
        assert resp.status_code == 302, (person.email, _error(resp))
    # and the newcomer is slowed, not locked: once the wait has passed, they are in
    clock.advance(int(blocked.headers["Retry-After"]))
    assert _post(app.test_client(), newcomer.email, PW, OFFICE).status_code == 302


def test_unknown_and_real_accounts_get_identical_answers(app, create_user):
    real = create_user(email="real@example.com")
    transcripts = {}
    for email, addr in [(real.email, "192.0.2.1"), ("ghost@example.com", "192.0.2.2")]:
        client = app.test_client()
        transcript = []
        for i in range(9):
            resp = _post(client, email, f"wrong password {i}", addr)
            transcript.append((resp.status_code, _error(resp), resp.headers.get("Retry-After")))
        transcripts[email] = transcript
    assert transcripts[real.email] == transcripts["ghost@example.com"]
    messages = {t[1] for t in transcripts[real.email]}
    assert "Wrong email or password." in messages
    assert any(m.startswith("Too many failed sign-ins") for m in messages)
    assert not any("locked" in m.lower() or "exist" in m.lower() for m in messages)


def test_backoff_slows_repeated_guessing(app, create_user, clock):
    """An attacker retrying as fast as allowed over one (simulated) hour: every wait is
    served, the waits double up to the cap, and only a few dozen guesses are checked."""
    user = create_user(email="target@example.com")
    attacker = app.test_client()
    # 100 guesses in a burst: the first 5 are checked, the rest wait
    burst = [_post(attacker, user.email, f"burst guess {i}", ATTACKER) for i in range(100)]
    checked = [r for r in burst if _error(r) == "Wrong email or password."]
    assert len(checked) == 5
    # the right password is not even looked at while waiting
    assert "Too many failed sign-ins" in _error(_post(attacker, user.email, PW, ATTACKER))
    waits, elapsed, guesses = [], 0, len(checked)
    for i in range(200):  # bounded: the hour runs out long before
        resp = _post(attacker, user.email, f"patient guess {i}", ATTACKER)
        if _error(resp) == "Wrong email or password.":
            guesses += 1
            continue
        wait = int(resp.headers["Retry-After"])
        waits.append(wait)
        clock.advance(wait)
        elapsed += wait
        if elapsed >= 3600:
            break
    assert elapsed >= 3600
    assert waits[:6] == [1, 2, 4, 8, 16, 32] and max(waits) == 300
    assert guesses <= 30, guesses  # versus thousands an hour with no throttle
    print(f"\nFIGURE backoff: {guesses} guesses checked in one simulated hour "
          f"(100-guess burst: 5 checked); waits {waits[:10]}…")


def test_a_forged_or_foreign_device_cookie_does_not_exempt_anyone(app, create_user):
    admin = create_user(email="boss@example.com", role="admin")
    attacker = app.test_client()
    for i in range(8):
        _post(attacker, admin.email, f"guess number {i}", ATTACKER)
    forged = URLSafeTimedSerializer("not-the-secret-key-" * 3, salt="pitchfast.device.v1")
    for value in [forged.dumps({"d": "x" * 24, "u": [admin.id]}), "garbage", "a" * 4000]:
        attacker.set_cookie(devices.COOKIE, value)
        assert "Too many failed sign-ins" in _error(_post(attacker, admin.email, PW, ATTACKER))
    # a genuine cookie for *another* account does not cover this one
    member = create_user(email="member@example.com")
    own = _known_device(app, member.email, ATTACKER)
    assert "Too many failed sign-ins" in _error(_post(own, admin.email, PW, ATTACKER))


def test_failures_on_a_known_device_back_off_under_that_device_only(app, create_user):
    user = create_user(email="stolen-laptop@example.com")
    laptop = _known_device(app, user.email, OFFICE)
    answers = [_error(_post(laptop, user.email, f"guess {i}", OFFICE)) for i in range(7)]
    assert answers[:5] == ["Wrong email or password."] * 5
    assert answers[5].startswith("Too many failed sign-ins")
    # the account and the address are untouched by them: another browser is fine
    assert _post(app.test_client(), user.email, PW, OFFICE).status_code == 302


def test_deactivated_account_with_the_right_password_is_told_so(app, client, create_user):
    from app.activity import SYSTEM
    from app.users.operations import set_active

    create_user(email="second-admin@example.com", role="admin")
    user = create_user(email="gone@example.com")
    set_active(user, False, actor=SYSTEM)
    db.session.commit()
    assert "deactivated" in _error(_post(client, user.email, PW, OFFICE))
    assert _error(_post(client, user.email, "not the password", OFFICE)) == (
        "Wrong email or password.")


class TestBehindAProxy:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "TRUSTED_PROXIES": 1}

    def test_the_address_throttle_sees_the_real_client_address(self, app, create_user):
        user = create_user(email="proxied@example.com")
        attacker = app.test_client()
        for i in range(31):
            attacker.post("/login", data={"email": f"nobody{i}@example.com", "password": "x" * 12},
                          headers={"X-Forwarded-For": ATTACKER},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})
        blocked = attacker.post("/login", data={"email": user.email, "password": PW},
                                headers={"X-Forwarded-For": ATTACKER},
                                environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert "Too many failed sign-ins" in _error(blocked)
        # another client behind the same proxy is another address
        resp = app.test_client().post("/login", data={"email": user.email, "password": PW},
                                      headers={"X-Forwarded-For": "192.0.2.77"},
                                      environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert resp.status_code == 302
        keys = {e.key for e in RateEvent.query.all()}
        assert f"login:address:{ATTACKER}" in keys and "login:address:127.0.0.1" not in keys


def test_parallel_guesses_do_not_slip_past_the_backoff(app, create_user, live_server):
    """20 wrong passwords sent at once to a real server: no more are checked than the free
    allowance (SQLite serialises sign-ins in IMMEDIATE transactions; PostgreSQL takes an
    advisory lock per throttle key)."""
    import http.client
    import threading
    from urllib.parse import urlencode, urlsplit

    email = create_user(email="parallel@example.com").email
    db.session.remove()  # no transaction of the test's may hold the database
    port = urlsplit(live_server).port
    answers: list[str] = []
    start = threading.Barrier(20)

    def guess(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = urlencode({"email": email, "password": f"parallel guess {i}"})
        start.wait(timeout=30)
        conn.request("POST", "/login", body,
                     {"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        answers.append(f"{resp.status} {resp.read().decode()}")
        conn.close()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert len(answers) == 20 and all(a.startswith("422 ") for a in answers)
    checked = sum("Wrong email or password." in a for a in answers)
    assert checked == 5, checked
