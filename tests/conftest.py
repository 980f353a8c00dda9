"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when
``PITCHFAST_TEST_DB=postgres``), the app, client, CLI runner, auth helper and
factories. Schemas come from the real migrations, never ``create_all``."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db

TEST_DB = os.environ.get("PITCHFAST_TEST_DB", "sqlite")
PG_URL = os.environ.get("PITCHFAST_TEST_POSTGRES_URL", "").replace(
    "postgresql://", "postgresql+psycopg://", 1
)
REDIS_URL = os.environ.get("PITCHFAST_TEST_REDIS_URL", "")
SECRET = "test-" + secrets.token_hex(24)


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(_config(instance, url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _config(instance: Path, url: str, **extra: Any) -> dict[str, Any]:
    cfg = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": SECRET,
        "DATABASE_URL": url,
        "HUEY_URL": f"sqlite:///{instance / 'huey.sqlite3'}",
        "STORAGE_URL": f"file://{instance / 'files'}",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        "LOGIN_ADDRESS_FREE_FAILURES": 1000,
        # Argon2's cheapest parameters: hashing at production cost would double the time
        # of the tests that sign in (each hash and check costs ~50 ms at the defaults).
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_COST": 8,
        "PASSWORD_HASH_PARALLELISM": 1,
    }
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per session: a template SQLite file, or one Postgres DB per xdist worker."""
    base = tmp_path_factory.mktemp("template")
    if TEST_DB == "postgres":
        if not PG_URL:
            pytest.exit("PITCHFAST_TEST_DB=postgres needs PITCHFAST_TEST_POSTGRES_URL", 2)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        # One database per pytest process, so concurrent sessions never share one.
        name = f"pitchfast_test_{worker}_{os.getpid()}"
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = re.sub(r"/[^/]*$", f"/{name}", PG_URL)
        _migrate(url, base)
        yield url
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        return
    path = base / "template.sqlite3"
    _migrate(f"sqlite:///{path}", base)
    yield str(path)


@pytest.fixture
def instance_dir(tmp_path: Path) -> Path:
    inst = tmp_path / "instance"
    inst.mkdir()
    return inst


@pytest.fixture
def database_url(db_template: str, instance_dir: Path) -> Iterator[str]:
    """A fresh, migrated database for this test."""
    if TEST_DB == "postgres":
        yield db_template
        engine = sa.create_engine(db_template)
        with engine.begin() as conn:
            names = [t.name for t in db.metadata.sorted_tables]
            conn.exec_driver_sql(
                "TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"
            )
        engine.dispose()
        return
    target = instance_dir / "pitchfast.sqlite3"
    shutil.copyfile(db_template, target)
    yield f"sqlite:///{target}"


@pytest.fixture
def app_config(instance_dir: Path, database_url: str) -> dict[str, Any]:
    """Override in a test module to change config before the app is built."""
    return _config(instance_dir, database_url)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    from flask import g, request_started

    application = create_app(app_config)

    def forget(sender: Any, **extra: Any) -> None:
        # The test keeps one app context (so one ``g``) across requests; forget what a
        # real server would not carry over: Flask-Login's user and Flask-WTF's token.
        g.pop("_login_user", None)
        g.pop("csrf_token", None)

    request_started.connect(forget, application)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def create_user(app: Any) -> Any:
    """Factory: ``create_user(email=..., role="member", password=...)``."""
    from app.activity import SYSTEM
    from app.users.operations import create_user as _create

    counter = {"n": 0}

    def make(
        email: str | None = None, role: str = "member", password: str = "correct horse battery"
    ) -> Any:
        counter["n"] += 1
        user = _create(email or f"user{counter['n']}@example.com", password, role, actor=SYSTEM)
        db.session.commit()
        return user

    return make


class AuthActions:
    def __init__(self, client: Any, create_user: Any) -> None:
        self._client = client
        self._create = create_user

    def login(
        self, role: str = "admin", email: str | None = None, password: str = "correct horse battery"
    ) -> Any:
        user = self._create(email=email, role=role, password=password)
        resp = self._client.post("/login", data={"email": user.email, "password": password})
        assert resp.status_code == 302, resp.data[:500]
        return user

    def logout(self) -> Any:
        return self._client.post("/logout")


@pytest.fixture
def auth(client: Any, create_user: Any) -> AuthActions:
    return AuthActions(client, create_user)


@pytest.fixture
def drain(app: Any) -> Any:
    """Run every task waiting in Huey's queue in this process; returns how many ran."""
    from app.jobs.queue import get_huey

    def run_all(limit: int = 1000) -> int:
        huey = get_huey(app)
        n = 0
        while n < limit:
            task = huey.dequeue()
            if task is None:
                break
            if not huey.ready_to_run(task):  # delayed (retry backoff): leave it scheduled
                huey.add_schedule(task)
                continue
            # The task runs in its own app context (own session); end the test's open
            # transaction first, or SQLite's BEGIN IMMEDIATE lock would block the task.
            db.session.commit()
            huey.execute(task)
            n += 1
        return n

    return run_all


#: How every browser test launches Debian's Chromium (offline-friendly flags).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app served on 127.0.0.1 (ephemeral port) in a thread; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def browser() -> Iterator[Any]:
    """A real Chromium (Playwright, sync API), closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module", autouse=True)
def _no_engine_outlives_its_module() -> Iterator[None]:
    """Close every process-wide audit engine a test file started (jobs run in-process:
    audits, PDF prints), so no Chromium of one file is still running in the next file that
    the same xdist worker runs (tests that count this process's Chromium would see it)."""
    yield
    import sys

    runner = sys.modules.get("app.audits.engine.runner")
    if runner is not None:
        for engine in list(runner._ENGINES.values()):
            if engine.pid == os.getpid():
                engine.close()
