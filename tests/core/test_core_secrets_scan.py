"""Secrets never reach the database or the logs: run a representative flow with the
configured secrets in every place a careless path could copy them, then scan every
table and every captured log record."""

import io
import logging
import secrets

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.jobs import runs
from app.jobs.registry import handler
from app.models import Run, RunStatus

SMTP_PASSWORD = "smtp-" + secrets.token_urlsafe(18)
DKIM = "-----BEGIN PRIVATE KEY-----\n" + secrets.token_hex(24) + "\n-----END PRIVATE KEY-----"


@handler("core.leaky", max_attempts=1)
def leaky(ctx):
    """A job whose failure drags the secrets along, as a real SMTP/DB error might."""
    from flask import current_app

    cfg = current_app.config
    ctx.log(f"connecting with password={cfg['SMTP_PASSWORD']} key {cfg['SECRET_KEY']}")
    logging.getLogger("app.test.leaky").warning("login as ann:%s failed", cfg["SMTP_PASSWORD"])
    raise RuntimeError(
        f"SMTP AUTH failed for smtp://ann:{cfg['SMTP_PASSWORD']}@127.0.0.1:2525 "
        f"(secret {cfg['SECRET_KEY']}, dkim {cfg['DKIM_PRIVATE_KEY']})"
    )


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SMTP_PASSWORD": SMTP_PASSWORD, "DKIM_PRIVATE_KEY": DKIM}


def _dump_database() -> str:
    chunks = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                chunks.append(" ".join(str(v) for v in row))
    return "\n".join(chunks)


def test_flow_leaves_no_secret_in_db_or_logs(app, client, caplog, image_bytes):
    caplog.set_level(logging.DEBUG)
    secret_key = app.config["SECRET_KEY"]
    needles = {"SECRET_KEY": secret_key, "SMTP_PASSWORD": SMTP_PASSWORD,
               "DKIM": DKIM.splitlines()[1]}

    # first-run setup, sign out
    resp = client.post("/setup", data={"name": "Ann", "email": "ann@example.com",
                                       "password": "correct horse battery",
                                       "confirm": "correct horse battery"})
    assert resp.status_code == 302
    client.post("/logout")
    # failed sign-ins with the secrets typed into the wrong boxes
    for email, password in [("ann@example.com", SMTP_PASSWORD), (SMTP_PASSWORD, secret_key),
                            (secret_key, "whatever pw")]:
        resp = client.post("/login", data={"email": email, "password": password})
        assert resp.status_code == 422
    resp = client.post("/login", data={"email": "ann@example.com",
                                       "password": "correct horse battery"})
    assert resp.status_code == 302
    # settings: a normal save, then attempts to store the secrets (refused)
    good = {"agency_name": "Bright Pixel", "postal_address": "1 High St", "sender_name": "Ann",
            "sender_address": "ann@example.com", "brand_colour": "#123456"}
    assert client.post("/settings/", data=good).status_code == 302
    for field in ("agency_name", "postal_address", "sender_name"):
        for value in needles.values():
            resp = client.post("/settings/", data={**good, field: value})
            assert resp.status_code == 422, field
            assert value.encode() not in resp.data
    client.post("/settings/logo", data={"logo": (io.BytesIO(image_bytes()), "l.png")},
                content_type="multipart/form-data")
    # a user created with the secret as their password (hashed, never stored as is)
    client.post("/users/new", data={"email": "bob@example.com", "role": "member",
                                    "password": SMTP_PASSWORD})
    # a background run whose error carries the secrets
    run = runs.create("core.leaky", payload={"to": "x@example.com"})
    db.session.commit()
    assert runs.execute(run.id) == "failed"
    db.session.expire_all()
    failed = db.session.get(Run, run.id)
    assert failed.status == RunStatus.FAILED and "SMTP AUTH failed" in failed.error
    # the pages that show these records must not leak either
    pages = "".join(client.get(u).get_data(as_text=True) for u in ("/", "/settings/", "/users/"))
    # a crash that logs an exception carrying a secret
    try:
        raise ValueError(f"bad DSN postgresql://u:{SMTP_PASSWORD}@db/x")
    except ValueError:
        logging.getLogger("app.test").exception("connect failed")
    db.session.rollback()

    dump = _dump_database()
    logs = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "Bright Pixel" in dump and "SMTP AUTH failed" in dump  # the scan sees real data
    leaks = [(name, where) for name, value in needles.items()
             for where, text in (("database", dump), ("logs", logs), ("pages", pages))
             if value in text]
    assert leaks == [], f"secrets leaked: {leaks}"
