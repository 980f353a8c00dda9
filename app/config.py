"""Configuration: defaults in code, then ``instance/config.py``, then ``PITCHFAST_*`` env.

Secrets (``SECRET_KEY``, ``SMTP_PASSWORD`` …) live only in instance config or the
environment. A missing or malformed value is a :class:`ConfigError` whose message
says what is wrong and how to fix it; there is no dummy fallback.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

from argon2 import profiles
from flask import Flask

from app.untrusted import mask_url

#: Keys whose values are secrets: never written to the database, logs or pages.
SECRET_KEYS = (
    "SECRET_KEY",
    "SMTP_PASSWORD",
    "DKIM_PRIVATE_KEY",
    "REDIS_PASSWORD",
    "S3_SECRET_ACCESS_KEY",
)


class ConfigError(RuntimeError):
    """A configuration value is missing or wrong; the message names it and the fix."""


DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None -> sqlite:///<instance>/pitchfast.sqlite3
    "HUEY_URL": None,  # None -> sqlite:///<instance>/huey.sqlite3 ; redis://… for Redis
    "HUEY_IMMEDIATE": False,
    "HUEY_NAME": "pitchfast",  # queue name (Redis key prefix); one per install sharing a Redis
    "WORKER_THREADS": 4,
    "STORAGE_URL": None,  # None -> file://<instance>/files
    "AUDIT_ALLOW_TARGETS": [],
    "AUDIT_TIMEOUT_SECONDS": 60,
    # Webhooks (app/webhooks): exact host:port pairs a webhook may reach although private
    # (local testing only, like AUDIT_ALLOW_TARGETS), the time limit of one delivery
    # attempt, attempts per delivery (retries back off ~10 s, 40 s, 160 s, 640 s, 15 min),
    # and how many deliveries in a row may fail for good before the endpoint is disabled.
    "WEBHOOK_ALLOW_TARGETS": [],
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOK_MAX_ATTEMPTS": 6,
    "WEBHOOK_DISABLE_AFTER": 10,
    "RUN_LEASE_SECONDS": 120,
    "RUN_MAX_ATTEMPTS": 3,
    "REAPER_INTERVAL_SECONDS": 30,
    "RUN_REQUEUE_GRACE_SECONDS": 30,  # a pending run not in the queue this long is resubmitted
    # Upkeep (app/upkeep): a run every UPKEEP_INTERVAL_HOURS removes uploads of imports never
    # finished, run log lines and full-size screenshots past their retention. Thumbnails,
    # annotated crops and every file of a published (unrevoked) audit stay.
    "UPKEEP_INTERVAL_HOURS": 24,
    "IMPORT_UPLOAD_RETENTION_HOURS": 24,
    "RUN_LOG_RETENTION_DAYS": 90,
    "SCREENSHOT_RETENTION_DAYS": 180,
    "TRUSTED_PROXIES": 0,  # reverse proxies in front (X-Forwarded-For hops to trust)
    # Live updates (app/blueprints/leads/live.py): a page showing a lead asks for news this
    # often while an audit of it is queued or running, and otherwise (audits started
    # elsewhere); list and progress pages poll at the first rate while anything is active.
    "LIVE_POLL_ACTIVE_SECONDS": 2,
    "LIVE_POLL_IDLE_SECONDS": 20,
    # waitress (`pitchfast web` and `run`): connections held at once, idle seconds before one
    # is closed. Half-sent requests hold a connection but no thread, so the limit is what
    # hundreds of slow clients run into (waitress' own defaults: 100 and 120 s).
    "WEB_CONNECTION_LIMIT": 1000,
    "WEB_CHANNEL_TIMEOUT": 30,
    # Sign-in throttling (app/auth/operations.py): failures within the window are free up
    # to these counts, per account and per client address; after that each failure doubles
    # the wait before the next try (1 s, 2 s, 4 s …) up to the cap. Never a hard lock, and
    # never for an account on a device it signed in from before (the device cookie).
    "LOGIN_ACCOUNT_FREE_FAILURES": 5,
    "LOGIN_ADDRESS_FREE_FAILURES": 30,
    "LOGIN_FAILURE_WINDOW_SECONDS": 3600,
    "LOGIN_BACKOFF_CAP_SECONDS": 300,
    "LOGIN_DEVICE_DAYS": 365,  # how long a browser stays a known device after a sign-in
    "SESSION_IDLE_DAYS": 30,  # a session unused this long has ended (app/auth/sessions.py)
    # One-time account links an admin hands out (app/users/links.py): an invite for a new
    # user, a password reset for an existing one. Unused, they expire after these hours.
    "INVITE_LINK_HOURS": 72,
    "RESET_LINK_HOURS": 24,
    # Argon2id cost of new password hashes (argon2-cffi's production defaults; tests use the
    # cheapest). Existing hashes keep verifying: each one carries its own parameters.
    "PASSWORD_HASH_TIME_COST": profiles.RFC_9106_LOW_MEMORY.time_cost,
    "PASSWORD_HASH_MEMORY_COST": profiles.RFC_9106_LOW_MEMORY.memory_cost,  # KiB
    "PASSWORD_HASH_PARALLELISM": profiles.RFC_9106_LOW_MEMORY.parallelism,
    "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    # JSON API (app/blueprints/api): requests per key per fixed window (held in the key's
    # row, so every web process shares the count), and the largest JSON body accepted
    # (a CSV import body may be as large as MAX_CONTENT_LENGTH).
    "API_RATE_LIMIT": 600,
    "API_RATE_WINDOW_SECONDS": 60,
    "API_MAX_BODY_BYTES": 256 * 1024,
    # Refused keys (401) per client address per window: past it, 429 before any key
    # statement (app/blueprints/api/routes.py: check_key).
    "API_AUTH_FAILURE_LIMIT": 20,
    "API_AUTH_FAILURE_WINDOW_SECONDS": 60,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    # Dead public links (unknown, revoked, expired) one address may open per minute (issue 10).
    "PUBLIC_MISS_LIMIT_PER_MINUTE": 30,
    "SMTP_HOST": None,
    "SMTP_PORT": 587,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": True,
    # Outreach delivery (app/mail.py, app/outreach/delivery.py): "starttls" (587), "tls"
    # (implicit, 465) or "none" (loopback only); None: tls on port 465, else starttls.
    "SMTP_SECURITY": None,
    "SMTP_CA_FILE": None,  # extra CA certificates (PEM) trusted for the SMTP server
    "SMTP_TIMEOUT_SECONDS": 20,
    "SMTP_REUSE_SECONDS": 30,  # a worker thread reuses its SMTP connection this long (0: never)
    "OUTREACH_PAUSE_AFTER_FAILURES": 5,  # consecutive SMTP failures that pause a campaign
    "OUTREACH_DISPATCH_INTERVAL_HOURS": 1 / 60,  # how often approved messages are paced out
    "OUTREACH_HTML_PART": False,  # add a simple HTML part beside the plain text
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
}


def instance_path() -> Path:
    """The instance folder: ``$PITCHFAST_INSTANCE`` or ``./instance``."""
    return Path(os.environ.get("PITCHFAST_INSTANCE") or "instance").resolve()


def write_instance_config(path: Path) -> bool:
    """Create ``config.py`` with a fresh secret key unless it exists. True if written."""
    path.mkdir(parents=True, exist_ok=True)
    target = path / "config.py"
    if target.exists():
        return False
    body = (
        "# PitchFast instance config: secrets live here (or in PITCHFAST_* env), never in the DB.\n"
        f"SECRET_KEY = {secrets.token_hex(32)!r}\n"
    )
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(body)
    return True


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Load defaults, instance config, environment, then ``test_config``; validate."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("PITCHFAST")
    else:
        app.config.from_mapping(test_config)
    _derive(app)
    validate(app.config)


def _derive(app: Flask) -> None:
    cfg = app.config
    inst = Path(app.instance_path)
    cfg["DATABASE_URL"] = cfg.get("DATABASE_URL") or f"sqlite:///{inst / 'pitchfast.sqlite3'}"
    url = cfg["DATABASE_URL"]
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    cfg["SQLALCHEMY_DATABASE_URI"] = url
    cfg["HUEY_URL"] = cfg.get("HUEY_URL") or f"sqlite:///{inst / 'huey.sqlite3'}"
    cfg["STORAGE_URL"] = cfg.get("STORAGE_URL") or f"file://{inst / 'files'}"
    if str(cfg.get("PUBLIC_BASE_URL") or "").startswith("https://"):
        # Served over HTTPS: cookies must never travel in clear text.
        cfg["SESSION_COOKIE_SECURE"] = True
        cfg["REMEMBER_COOKIE_SECURE"] = True
    for key in ("AUDIT_ALLOW_TARGETS", "WEBHOOK_ALLOW_TARGETS"):
        targets = cfg.get(key) or []
        if isinstance(targets, str):
            targets = [t.strip() for t in targets.split(",") if t.strip()]
        env_targets = os.environ.get(f"PITCHFAST_{key}", "")
        targets = list(targets) + [t.strip() for t in env_targets.split(",") if t.strip()]
        cfg[key] = sorted(set(targets))
    engine_opts = dict(cfg.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        engine_opts.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
    else:
        engine_opts.setdefault("pool_pre_ping", True)
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = engine_opts


#: Settings that must be positive whole numbers.
POSITIVE_INTS = (
    "WORKER_THREADS", "RUN_LEASE_SECONDS", "RUN_MAX_ATTEMPTS", "AUDIT_TIMEOUT_SECONDS",
    "REAPER_INTERVAL_SECONDS", "LOGIN_ACCOUNT_FREE_FAILURES", "LOGIN_ADDRESS_FREE_FAILURES",
    "LOGIN_FAILURE_WINDOW_SECONDS", "LOGIN_BACKOFF_CAP_SECONDS", "LOGIN_DEVICE_DAYS",
    "SESSION_IDLE_DAYS", "INVITE_LINK_HOURS", "RESET_LINK_HOURS",
    "MAX_CONTENT_LENGTH", "SMTP_PORT", "PASSWORD_HASH_TIME_COST",
    "PASSWORD_HASH_MEMORY_COST", "PASSWORD_HASH_PARALLELISM", "WEB_CONNECTION_LIMIT",
    "WEB_CHANNEL_TIMEOUT", "UPKEEP_INTERVAL_HOURS", "IMPORT_UPLOAD_RETENTION_HOURS",
    "RUN_LOG_RETENTION_DAYS", "SCREENSHOT_RETENTION_DAYS",
    "WEBHOOK_TIMEOUT_SECONDS", "WEBHOOK_MAX_ATTEMPTS", "WEBHOOK_DISABLE_AFTER",
)
BOOLEANS = ("HUEY_IMMEDIATE", "SMTP_STARTTLS", "SESSION_COOKIE_SECURE")


def _check_secret_key(cfg: Any) -> None:
    key = cfg.get("SECRET_KEY")
    if not key:
        raise ConfigError(
            "SECRET_KEY is not set. Run `pitchfast init` to generate instance/config.py, "
            "or set PITCHFAST_SECRET_KEY."
        )
    if len(str(key)) < 32 or str(key).lower() in {"dev", "change-me", "changeme", "secret"}:
        raise ConfigError("SECRET_KEY is too weak: use at least 32 random characters "
                          "(`pitchfast init` generates one).")


def _check_urls(cfg: Any) -> None:
    uri = str(cfg["SQLALCHEMY_DATABASE_URI"])
    sqlite_ok = uri.startswith("sqlite:///") and len(uri) > len("sqlite:///")
    pg_ok = re.match(r"^postgresql\+psycopg://[^/]*@?[^/]+/\S*$", uri) is not None
    if not (sqlite_ok or pg_ok):
        raise ConfigError(
            "DATABASE_URL must be sqlite:////absolute/path.sqlite3 or "
            f"postgresql://USER:PASSWORD@HOST:PORT/DB (got {mask_url(cfg['DATABASE_URL'])})."
        )
    huey = str(cfg["HUEY_URL"])
    if not (re.match(r"^sqlite:///.+", huey) or re.match(r"^rediss?://[^/\s]+(/\d+)?/?$", huey)):
        raise ConfigError("HUEY_URL must be sqlite:///PATH or redis://HOST:PORT/DB "
                          f"(got {mask_url(huey)}).")
    if not str(cfg["STORAGE_URL"]).startswith("file://"):
        raise ConfigError("STORAGE_URL must be file:///PATH (the only storage backend so far).")
    base = str(cfg.get("PUBLIC_BASE_URL") or "")
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", base):
        raise ConfigError("PUBLIC_BASE_URL must be the address people open, such as "
                          f"https://pitch.example.com (got {mask_url(base)}).")


def _check_numbers(cfg: Any) -> None:
    for name in POSITIVE_INTS:
        value = cfg.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive whole number (got {value!r}).")
    if cfg["SMTP_PORT"] > 65535:
        raise ConfigError(f"SMTP_PORT must be between 1 and 65535 (got {cfg['SMTP_PORT']}).")
    if cfg["PASSWORD_HASH_MEMORY_COST"] < 8 * cfg["PASSWORD_HASH_PARALLELISM"]:
        raise ConfigError("PASSWORD_HASH_MEMORY_COST must be at least 8 × "
                          "PASSWORD_HASH_PARALLELISM (KiB, an Argon2 rule).")
    proxies = cfg.get("TRUSTED_PROXIES")
    if not isinstance(proxies, int) or isinstance(proxies, bool) or not 0 <= proxies <= 10:
        raise ConfigError("TRUSTED_PROXIES must be the number of reverse proxies in front of "
                          f"PitchFast, 0 to 10 (got {proxies!r}).")
    for name in BOOLEANS:
        if not isinstance(cfg.get(name), bool):
            raise ConfigError(f"{name} must be true or false (got {cfg.get(name)!r}).")


def _check_targets(cfg: Any) -> None:
    for key in ("AUDIT_ALLOW_TARGETS", "WEBHOOK_ALLOW_TARGETS"):
        for target in cfg[key]:
            host, _, port = str(target).rpartition(":")
            if (not host or any(c.isspace() or c in "/@" for c in host) or not port.isdigit()
                    or not 1 <= int(port) <= 65535):
                raise ConfigError(
                    f"{key} entry {target!r} must be exactly host:port "
                    "(for example 127.0.0.1:8080), comma-separated."
                )


def validate(cfg: Any) -> None:
    """Raise :class:`ConfigError` naming the first bad value and how to fix it."""
    from app.mail import check_config as check_smtp

    _check_secret_key(cfg)
    if problem := check_smtp(cfg):
        raise ConfigError(problem)
    _check_urls(cfg)
    _check_numbers(cfg)
    _check_targets(cfg)
