"""One database-backed rate limiter, for every process and machine at once.

Two ways to use it:

* a budget — :func:`hit` allows at most ``limit`` events per ``window`` seconds under a
  key (public-link floods, API keys);
* backoff — :func:`record` counts failures, :func:`backoff` says how long the next try
  must wait: nothing for the first ``free`` failures, then 1 s, 2 s, 4 s … up to ``cap``
  (sign-in per account and per address). Backoff slows guessing without handing an
  attacker a switch that locks a person out for long.

Events older than a day are pruned as new ones arrive. Client addresses come from
:func:`client_address`, which sees the real address behind the trusted proxy
(``TRUSTED_PROXIES``, applied with Werkzeug's ``ProxyFix`` in the app factory).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import request
from sqlalchemy import CursorResult, delete, func, select, text

from app.extensions import db
from app.models.base import utcnow
from app.models.ratelimit import RateEvent

#: Events are kept this long (longer than any window in use).
KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Decision:
    """Whether an event may happen now, and if not, in how many seconds."""

    allowed: bool
    retry_after: int = 0


def client_address() -> str:
    """The client's address as the app sees it (the real one behind a trusted proxy)."""
    return (request.remote_addr or "unknown")[:64]


def _count(key: str, since: datetime) -> tuple[int, datetime | None, datetime | None]:
    row = db.session.execute(
        select(func.count(RateEvent.id), func.min(RateEvent.at), func.max(RateEvent.at))
        .where(RateEvent.key == key, RateEvent.at >= since)
    ).one()
    return int(row[0] or 0), row[1], row[2]


def record(key: str, now: datetime | None = None) -> None:
    """Count one event under ``key`` (added to the session; the caller commits)."""
    now = now or utcnow()
    db.session.add(RateEvent(key=key[:300], at=now))
    if random.random() < 0.01:  # noqa: S311 (pruning cadence, not security)
        prune(now)


def check(key: str, *, limit: int, window: int, now: datetime | None = None) -> Decision:
    """Whether fewer than ``limit`` events happened under ``key`` in the last ``window``
    seconds; reads only (one statement), so a refused caller costs no write."""
    now = now or utcnow()
    count, oldest, _ = _count(key[:300], now - timedelta(seconds=window))
    if count >= limit and oldest is not None:
        wait = (oldest + timedelta(seconds=window) - now).total_seconds()
        return Decision(False, max(1, int(wait + 0.999)))
    return Decision(True)


def hit(key: str, *, limit: int, window: int) -> Decision:
    """Count an event if fewer than ``limit`` happened in the last ``window`` seconds."""
    now = utcnow()
    decision = check(key, limit=limit, window=window, now=now)
    if decision.allowed:
        record(key, now)
    return decision


def backoff(key: str, *, free: int, window: int, cap: int) -> Decision:
    """May one more attempt happen under ``key`` now, given the failures of the last
    ``window`` seconds? The first ``free`` failures cost nothing; after that each one
    doubles the wait after the latest failure (1 s, 2 s, 4 s …) up to ``cap`` seconds."""
    now = utcnow()
    count, _, latest = _count(key[:300], now - timedelta(seconds=window))
    if count < free or latest is None:
        return Decision(True)
    wait = min(cap, 2 ** min(count - free, 30))
    remaining = (latest + timedelta(seconds=wait) - now).total_seconds()
    if remaining <= 0:
        return Decision(True)
    return Decision(False, max(1, int(remaining + 0.999)))


def reset(key: str) -> None:
    """Forget the events under ``key`` (a successful sign-in clears its account's failures)."""
    db.session.execute(delete(RateEvent).where(RateEvent.key == key[:300]))


def prune(now: datetime | None = None) -> int:
    """Delete events older than :data:`KEEP`; returns how many."""
    cutoff = (now or utcnow()) - KEEP
    stmt = delete(RateEvent).where(RateEvent.at < cutoff)
    result = cast("CursorResult[Any]", db.session.execute(stmt))
    return int(result.rowcount or 0)


def serialize(keys: Iterable[str]) -> None:
    """Make checks of the same keys happen one after another until the caller's commit, so
    parallel requests cannot all pass :func:`backoff` before any failure is recorded.

    PostgreSQL: a transaction-scoped advisory lock per key, taken in sorted order (no
    deadlocks). SQLite needs nothing: writing transactions begin ``IMMEDIATE``, one at a
    time.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        lock = int.from_bytes(hashlib.sha256(key[:300].encode()).digest()[:8], "big",
                              signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
