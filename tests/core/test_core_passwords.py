"""Weak passwords are refused everywhere a password is set (issue 7.9): first-run setup,
user creation on the web and the command line, an admin setting one, people changing
their own. zxcvbn judges them with the user's own email and name as known words; the
message is its feedback; no composition rules; at least 10 characters; no control
characters. Nothing is saved when one is refused."""

from __future__ import annotations

import pytest

from app.activity import SYSTEM
from app.cli import main
from app.extensions import db
from app.models import User
from app.users import passwords
from app.users.operations import PasswordError, create_user

EMAIL = "jane.doe@example.com"
#: The passwords the attack used, plus the user's own details.
WEAK = {
    "aaaaaaaaaa": "Repeats like",
    "password12": "very common password",
    "1234567890": "common password",
    "\x00" * 10: "control characters",
    "jane.doejane.doe": "Repeats like",  # the email's first part, twice
    "janedoejanedoe": "Repeats like",
    "jane.doe@example.com": "too easy to guess",
    "Jane Doe 1990": "too easy to guess",
    "qwertyuiop": "common password",
    "pitchfast2024": "too easy to guess",
}
STRONG = ["correct horse battery", "long enough pw", "a fresh long passphrase",
          "bob's long password", "gentle-otter-93-maple"]


@pytest.mark.parametrize("password", list(WEAK))
def test_weak_passwords_are_refused_with_zxcvbn_feedback(app, password):
    problem = passwords.weakness(password, [EMAIL, "Jane Doe"])
    assert problem and WEAK[password] in problem, problem


@pytest.mark.parametrize("password", STRONG)
def test_passphrases_pass_without_composition_rules(app, password):
    assert passwords.weakness(password, [EMAIL, "Jane Doe"]) is None


def test_length_and_control_characters(app):
    assert "at least 10" in passwords.weakness("Xk9#mQ2!v", [])
    assert "at most 500" in passwords.weakness("correct horse battery " * 30, [])
    for bad in ["correct horse\nbattery", "correct\thorse battery", "correct horse\x7fbattery",
                "correct horse battery\x00"]:
        assert "control characters" in passwords.weakness(bad, []), repr(bad)
    # only the first 72 characters are judged (zxcvbn's limit); the rest only adds
    assert passwords.weakness("correct horse battery staple " * 10, []) is None


def test_operation_refuses_and_saves_nothing(app):
    for password in WEAK:
        with pytest.raises(PasswordError):
            create_user(EMAIL, password, "member", "Jane Doe", actor=SYSTEM)
        db.session.rollback()
    assert User.query.count() == 0


def _jane(create_user):
    user = create_user(email=EMAIL)
    user.name = "Jane Doe"
    db.session.commit()
    return user


def _web_weak():
    # a NUL is refused at the edge for every form field (app/edge.py), before any view
    return [(p, "NUL" if "\x00" in p else WEAK[p]) for p in WEAK]


@pytest.mark.parametrize("password, message", _web_weak())
def test_first_run_setup_refuses_weak_passwords(client, password, message):
    resp = client.post("/setup", data={"name": "Jane Doe", "email": EMAIL,
                                       "password": password, "confirm": password})
    assert resp.status_code == 422 and message in resp.data.decode()
    assert User.query.count() == 0
    ok = client.post("/setup", data={"name": "Jane Doe", "email": EMAIL,
                                     "password": STRONG[0], "confirm": STRONG[0]})
    assert ok.status_code == 302 and User.query.count() == 1


@pytest.mark.parametrize("password, message", _web_weak())
def test_admin_creating_a_user_cannot_give_a_weak_password(client, auth, password, message):
    auth.login("admin")
    resp = client.post("/users/new", data={"email": EMAIL, "name": "Jane Doe",
                                           "role": "member", "password": password})
    assert resp.status_code == 422 and message in resp.data.decode()
    assert User.query.filter_by(email=EMAIL).count() == 0


@pytest.mark.parametrize("password, message", _web_weak())
def test_admin_setting_a_password_cannot_set_a_weak_one(client, auth, create_user, password,
                                                        message):
    auth.login("admin")
    user = _jane(create_user)
    before = user.password_hash
    resp = client.post(f"/users/{user.id}/password",
                       data={"password": password, "confirm": password})
    assert resp.status_code == 422 and message in resp.data.decode()
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


@pytest.mark.parametrize("password, message", _web_weak())
def test_changing_my_own_password_to_a_weak_one_is_refused(client, create_user, password,
                                                           message):
    user = _jane(create_user)
    assert client.post("/login", data={"email": EMAIL,
                                       "password": "correct horse battery"}).status_code == 302
    resp = client.post("/account/password", data={
        "current": "correct horse battery", "password": password, "confirm": password})
    assert resp.status_code == 422 and message in resp.data.decode()
    db.session.expire_all()
    assert passwords.verify(db.session.get(User, user.id).password_hash, "correct horse battery")


@pytest.mark.parametrize("password", list(WEAK))
def test_cli_users_create_refuses_weak_passwords(app, runner, password):
    result = runner.invoke(main, ["users", "create", EMAIL, "--name", "Jane Doe",
                                  "--password", password])
    assert result.exit_code == 1 and WEAK[password] in result.output, result.output
    assert User.query.count() == 0
