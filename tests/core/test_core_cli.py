"""The ``pitchfast`` console script: init, db upgrade, users create, backup."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.backup import BackupError, backup_sqlite
from app.cli import main
from app.models import Activity, Role, User

REPO = Path(__file__).resolve().parents[2]
#: The console script, wherever this interpreter is (no virtualenv path assumed).
PITCHFAST = [sys.executable, "-m", "app.cli"]
IS_SQLITE = os.environ.get("PITCHFAST_TEST_DB", "sqlite") == "sqlite"


def _cli(args, instance, **env):
    """Run the real CLI in a clean environment with its own instance folder."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PITCHFAST_")}
    clean.update({"PITCHFAST_INSTANCE": str(instance), **env})
    return subprocess.run([*PITCHFAST, *args], capture_output=True, text=True, env=clean,
                          timeout=120, cwd=instance.parent)


def test_end_to_end_init_upgrade_users_backup(tmp_path):
    inst = tmp_path / "site-a"
    # nothing configured yet: a clear message, not a traceback
    out = _cli(["db", "upgrade"], inst)
    assert out.returncode == 1 and "SECRET_KEY is not set" in out.stderr
    assert "Traceback" not in out.stderr
    out = _cli(["init"], inst)
    assert out.returncode == 0 and "Created" in out.stdout
    config = (inst / "config.py").read_text()
    assert "SECRET_KEY" in config and oct((inst / "config.py").stat().st_mode)[-3:] == "600"
    out = _cli(["init"], inst)  # idempotent, never overwrites
    assert out.returncode == 0 and "left unchanged" in out.stdout
    assert (inst / "config.py").read_text() == config
    out = _cli(["db", "upgrade"], inst)
    assert out.returncode == 0, out.stderr
    assert (inst / "pitchfast.sqlite3").is_file()
    out = _cli(["users", "create", "Boss@Example.com", "--role", "admin",
                "--password", "correct horse battery", "--name", "Boss"], inst)
    assert out.returncode == 0 and "Created admin boss@example.com" in out.stdout, out.stderr
    out = _cli(["users", "create", "not-an-email", "--password", "correct horse battery"], inst)
    assert out.returncode == 1 and "not a valid email" in out.stderr
    assert "Traceback" not in out.stderr
    out = _cli(["users", "create", "b@example.com", "--password", "short"], inst)
    assert out.returncode == 1 and "at least 10 characters" in out.stderr
    out = _cli(["users", "create", "boss@example.com", "--password", "correct horse battery"], inst)
    assert out.returncode == 1 and "already exists" in out.stderr
    target = tmp_path / "backup.sqlite3"
    out = _cli(["backup", str(target)], inst)
    assert out.returncode == 0 and "integrity ok" in out.stdout, out.stderr
    con = sqlite3.connect(target)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT email, role FROM users").fetchall()
        assert rows == [("boss@example.com", "admin")]
    finally:
        con.close()
    out = _cli(["backup", str(target)], inst)
    assert out.returncode == 1 and "already exists" in out.stderr
    # a second install on the same machine stays separate
    other = tmp_path / "site-b"
    assert _cli(["init"], other).returncode == 0
    assert _cli(["db", "upgrade"], other).returncode == 0
    con = sqlite3.connect(other / "pitchfast.sqlite3")
    try:
        assert con.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    finally:
        con.close()


def test_unreachable_postgres_is_a_clear_message(tmp_path):
    inst = tmp_path / "inst"
    assert _cli(["init"], inst).returncode == 0
    out = _cli(["db", "upgrade"], inst,
               PITCHFAST_DATABASE_URL="postgresql://postgres:pw-not-shown@127.0.0.1:1/nothing")
    assert out.returncode == 1
    assert "Cannot reach the database" in out.stderr and "Connection refused" in out.stderr
    assert "Traceback" not in out.stderr and "pw-not-shown" not in out.stderr


def test_bad_config_values_from_env_are_clear(tmp_path):
    inst = tmp_path / "inst"
    assert _cli(["init"], inst).returncode == 0
    for env, message in [
        ({"PITCHFAST_DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must be"),
        ({"PITCHFAST_HUEY_URL": "amqp://x"}, "HUEY_URL must be"),
        ({"PITCHFAST_WORKER_THREADS": "many"}, "WORKER_THREADS must be a positive whole number"),
        ({"PITCHFAST_AUDIT_ALLOW_TARGETS": "localhost"}, "AUDIT_ALLOW_TARGETS entry"),
    ]:
        out = _cli(["db", "upgrade"], inst, **env)
        assert out.returncode == 1 and message in out.stderr, (env, out.stderr)
        assert "Traceback" not in out.stderr


def test_users_create_in_process(app, runner):
    result = runner.invoke(main, ["users", "create", "m@example.com",
                                  "--password", "long enough pw"])
    assert result.exit_code == 0, result.output
    user = User.query.filter_by(email="m@example.com").one()
    assert user.role == Role.MEMBER
    # the command calls the same operation as the Users page: the same activity, by the system
    act = Activity.query.filter_by(verb="user.create", subject_id=user.id).one()
    assert act.summary == "added m@example.com as member"
    assert (act.actor_kind, act.user_id) == ("system", None)
    result = runner.invoke(main, ["users", "create", "p@example.com", "--role", "admin"],
                           input="prompted password\nprompted password\n")
    assert result.exit_code == 0, result.output
    assert User.query.filter_by(email="p@example.com").one().role == Role.ADMIN
    result = runner.invoke(main, ["users", "create", "x@example.com", "--role", "owner",
                                  "--password", "long enough pw"])
    assert result.exit_code == 2 and "owner" in result.output


def test_backup_refusals(tmp_path):
    with pytest.raises(BackupError, match="only handles SQLite"):
        backup_sqlite("postgresql+psycopg://u@127.0.0.1/x", tmp_path / "b.sqlite3")
    with pytest.raises(BackupError, match="no database at"):
        backup_sqlite(f"sqlite:///{tmp_path / 'missing.sqlite3'}", tmp_path / "b.sqlite3")
    src = tmp_path / "src.sqlite3"
    con = sqlite3.connect(src)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(BackupError, match="does not exist"):
        backup_sqlite(f"sqlite:///{src}", tmp_path / "nope" / "b.sqlite3")
    size = backup_sqlite(f"sqlite:///{src}", tmp_path / "b.sqlite3")
    assert size > 0 and not (tmp_path / "b.sqlite3.partial").exists()
    with pytest.raises(BackupError, match="already exists"):
        backup_sqlite(f"sqlite:///{src}", tmp_path / "b.sqlite3")


@pytest.mark.skipif(not IS_SQLITE, reason="backup is for the SQLite database")
def test_backup_command_in_process_while_app_writes(app, runner, create_user, tmp_path):
    create_user(email="kept@example.com")
    result = runner.invoke(main, ["backup", str(tmp_path / "copy.sqlite3")])
    assert result.exit_code == 0 and "integrity ok" in result.output
    con = sqlite3.connect(tmp_path / "copy.sqlite3")
    try:
        assert ("kept@example.com",) in con.execute("SELECT email FROM users").fetchall()
    finally:
        con.close()


def test_python_m_app_cli_help_works(tmp_path):
    out = subprocess.run([sys.executable, "-m", "app.cli", "--help"], capture_output=True,
                         text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0 and "backup" in out.stdout and "users" in out.stdout


def test_web_server_options_come_from_config(app, monkeypatch):
    """waitress gets the config's limits, its poll() loop, and descriptors to match
    (the real server under attack: tests/scripts/test_server_limits.py)."""
    import resource

    from app import server

    app.config.update(WEB_CONNECTION_LIMIT=700, WEB_CHANNEL_TIMEOUT=20)
    opts = server.server_options(app, threads=8)
    assert opts == {"threads": 8, "connection_limit": 700, "channel_timeout": 20,
                    "cleanup_interval": 10, "asyncore_use_poll": True, "ident": "PitchFast"}
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == resource.RLIM_INFINITY or soft >= min(hard, 700 + 8 + server.FD_MARGIN)
    # a hard limit too low for the connection limit: the limit shrinks to fit, with a warning
    limits = {"now": (256, 512)}
    monkeypatch.setattr(server.resource, "getrlimit", lambda _which: limits["now"])
    monkeypatch.setattr(server.resource, "setrlimit",
                        lambda _which, value: limits.update(now=value))
    opts = server.server_options(app, threads=8)
    assert limits["now"] == (512, 512)
    assert opts["connection_limit"] == 512 - 8 - server.FD_MARGIN
