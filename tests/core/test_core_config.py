"""Configuration: defaults → instance/config.py → PITCHFAST_* env; every bad value gets a
clear ConfigError naming it."""

import pytest

from app import create_app
from app.config import ConfigError

KEY = "k" * 40


@pytest.fixture
def env_instance(tmp_path, monkeypatch):
    """An instance folder named by PITCHFAST_INSTANCE, with a clean PITCHFAST_* environment."""
    import os

    for name in list(os.environ):
        if name.startswith("PITCHFAST_"):
            monkeypatch.delenv(name)
    inst = tmp_path / "inst"
    inst.mkdir()
    monkeypatch.setenv("PITCHFAST_INSTANCE", str(inst))
    return inst


def _build(**cfg):
    base = {"SECRET_KEY": KEY, "TESTING": True}
    base.update(cfg)
    return create_app(base)


def test_missing_secret_key_is_a_clear_error(env_instance):
    with pytest.raises(ConfigError, match=r"SECRET_KEY is not set.*pitchfast init"):
        create_app()


@pytest.mark.parametrize("key", ["dev", "change-me", "short"])
def test_weak_secret_key_is_refused(tmp_path, key):
    with pytest.raises(ConfigError, match="SECRET_KEY is too weak"):
        _build(SECRET_KEY=key, INSTANCE_PATH=str(tmp_path))


def test_instance_config_then_env_then_instance_env_var(env_instance, monkeypatch):
    (env_instance / "config.py").write_text(f"SECRET_KEY = {KEY!r}\nWORKER_THREADS = 7\n")
    app = create_app()
    assert app.instance_path == str(env_instance)
    assert app.config["WORKER_THREADS"] == 7
    assert app.config["DATABASE_URL"] == f"sqlite:///{env_instance / 'pitchfast.sqlite3'}"
    assert app.config["HUEY_URL"] == f"sqlite:///{env_instance / 'huey.sqlite3'}"
    assert app.config["STORAGE_URL"] == f"file://{env_instance / 'files'}"
    monkeypatch.setenv("PITCHFAST_WORKER_THREADS", "3")
    assert create_app().config["WORKER_THREADS"] == 3


@pytest.mark.parametrize("url, shown", [
    ("mysql://root:hunter2@db/x", "(got mysql://***@db/x)"),
    ("sqlite://", "(got sqlite://)"),
    ("sqlite:///", "(got sqlite:///)"),
    ("postgresql://", "(got postgresql://)"),
    ("not a url", "(got (unparsable URL))"),
    ("mysql://root:hun/ter2@db/x", "(got mysql://…)"),
])
def test_bad_database_url(tmp_path, url, shown):
    with pytest.raises(ConfigError, match="DATABASE_URL must be") as err:
        _build(DATABASE_URL=url, INSTANCE_PATH=str(tmp_path))
    assert shown in str(err.value) and "hunter2" not in str(err.value)
    assert "ter2" not in str(err.value)


@pytest.mark.parametrize("url, shown", [
    # issue 7, item 11: a '/' in the password ended the old pattern's match, printing it all
    ("redis://:Sec/retPw9x@host/0/x", "redis://…"),
    ("redis://:Sec?retPw9x@host/0/x", "redis://…"),
    ("redis://:Sec#retPw9x@host/0/x", "redis://…"),
    ("redis://:12/SecretPw9x@host/0/x", "redis://…"),
    ("redis://user:SecretPw9x@host:6379/db0", "redis://***@host:6379/db0"),
    ("redis://:Sec@retPw9x@host:6379/x", "redis://***@host:6379/x"),
    ("redis://:SecretPw9x@host:63x79/0/x", "redis://…"),
    ("redis://:Secret Pw9x@host/0/x", "redis://…"),
    ("rediss://host:6379/0/x?password=SecretPw9x", "rediss://host:6379/0/x?password=***"),
    ("user:SecretPw9x@host:6379/0", "user:…"),
])
def test_huey_url_error_never_shows_the_password(tmp_path, url, shown):
    with pytest.raises(ConfigError, match="HUEY_URL must be") as err:
        _build(HUEY_URL=url, INSTANCE_PATH=str(tmp_path))
    message = str(err.value)
    assert f"(got {shown})" in message
    for piece in ("Sec", "retPw9x", "SecretPw9x", "Pw9x"):
        assert piece not in message, message


def test_postgres_urls_are_accepted_and_normalised(tmp_path):
    app = _build(DATABASE_URL="postgres://u:p@127.0.0.1:5432/db", INSTANCE_PATH=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@127.0.0.1:5432/db"


@pytest.mark.parametrize("url", ["amqp://x", "redis:/nohost", "sqlite://", "redis://h:1/db0"])
def test_bad_huey_url(tmp_path, url):
    with pytest.raises(ConfigError, match="HUEY_URL must be"):
        _build(HUEY_URL=url, INSTANCE_PATH=str(tmp_path))


@pytest.mark.parametrize("targets", ["localhost", "127.0.0.1:", "127.0.0.1:http", ":8080",
                                     "127.0.0.1:70000", "http://127.0.0.1:80", "a b:80"])
def test_bad_audit_allow_targets(tmp_path, targets):
    with pytest.raises(ConfigError, match="AUDIT_ALLOW_TARGETS entry .* host:port"):
        _build(AUDIT_ALLOW_TARGETS=targets, INSTANCE_PATH=str(tmp_path))


def test_audit_allow_targets_from_comma_string(tmp_path):
    app = _build(AUDIT_ALLOW_TARGETS="127.0.0.1:8080, localhost:9000", INSTANCE_PATH=str(tmp_path))
    assert app.config["AUDIT_ALLOW_TARGETS"] == ["127.0.0.1:8080", "localhost:9000"]


@pytest.mark.parametrize("name, value", [
    ("WORKER_THREADS", "four"), ("WORKER_THREADS", 0), ("RUN_LEASE_SECONDS", -5),
    ("RUN_MAX_ATTEMPTS", 2.5), ("LOGIN_ACCOUNT_FREE_FAILURES", "5"), ("SMTP_PORT", True),
    ("MAX_CONTENT_LENGTH", None), ("REAPER_INTERVAL_SECONDS", "soon"),
])
def test_non_integer_numbers_are_named(tmp_path, name, value):
    with pytest.raises(ConfigError, match=f"{name} must be a positive whole number"):
        _build(**{name: value, "INSTANCE_PATH": str(tmp_path)})


def test_non_integer_from_environment(env_instance, monkeypatch):
    monkeypatch.setenv("PITCHFAST_SECRET_KEY", KEY)
    monkeypatch.setenv("PITCHFAST_RUN_LEASE_SECONDS", "two minutes")
    msg = r"RUN_LEASE_SECONDS must be a positive whole number \(got 'two minutes'\)"
    with pytest.raises(ConfigError, match=msg):
        create_app()


def test_port_and_booleans_and_public_url(tmp_path):
    with pytest.raises(ConfigError, match="SMTP_PORT must be between 1 and 65535"):
        _build(SMTP_PORT=70000, INSTANCE_PATH=str(tmp_path))
    with pytest.raises(ConfigError, match="SMTP_STARTTLS must be true or false"):
        _build(SMTP_STARTTLS="yes", INSTANCE_PATH=str(tmp_path))
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be"):
        _build(PUBLIC_BASE_URL="pitch.example.com", INSTANCE_PATH=str(tmp_path))


def test_web_server_limits_default_and_are_checked(tmp_path):
    cfg = _build(INSTANCE_PATH=str(tmp_path)).config
    # waitress' own defaults (100, 120 s) let ~100 idle connections lock everyone out
    assert cfg["WEB_CONNECTION_LIMIT"] >= 1000 and cfg["WEB_CHANNEL_TIMEOUT"] <= 60
    for name, value in (("WEB_CONNECTION_LIMIT", 0), ("WEB_CHANNEL_TIMEOUT", "soon")):
        with pytest.raises(ConfigError, match=f"{name} must be a positive whole number"):
            _build(**{name: value, "INSTANCE_PATH": str(tmp_path)})


def test_https_public_url_turns_on_secure_cookies(tmp_path):
    app = _build(PUBLIC_BASE_URL="https://pitch.example.com", INSTANCE_PATH=str(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    app = _build(PUBLIC_BASE_URL="http://127.0.0.1:5000", INSTANCE_PATH=str(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_password_hash_cost_defaults_to_argon2_production_parameters(tmp_path):
    from argon2 import PasswordHasher

    cfg = _build(INSTANCE_PATH=str(tmp_path)).config
    production = PasswordHasher()
    assert (cfg["PASSWORD_HASH_TIME_COST"], cfg["PASSWORD_HASH_MEMORY_COST"],
            cfg["PASSWORD_HASH_PARALLELISM"]) == (
        production.time_cost, production.memory_cost, production.parallelism)


@pytest.mark.parametrize("cfg, message", [
    ({"PASSWORD_HASH_TIME_COST": 0}, "PASSWORD_HASH_TIME_COST must be a positive"),
    ({"PASSWORD_HASH_MEMORY_COST": "lots"}, "PASSWORD_HASH_MEMORY_COST must be a positive"),
    ({"PASSWORD_HASH_MEMORY_COST": 8, "PASSWORD_HASH_PARALLELISM": 2},
     "PASSWORD_HASH_MEMORY_COST must be at least 8"),
])
def test_bad_password_hash_cost_is_refused(tmp_path, cfg, message):
    with pytest.raises(ConfigError, match=message):
        _build(INSTANCE_PATH=str(tmp_path), **cfg)
