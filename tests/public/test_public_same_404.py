"""Unknown, revoked and expired links: the same 404 body and headers after the same work
(one indexed lookup by hash, one rate-limit count), so timing tells nothing apart; a
malformed token gets the same answer."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from typing import Any

import pytest
from publichelpers import PHONE_UA

from app.activity import SYSTEM
from app.extensions import db
from app.models.base import utcnow
from app.public import operations, queries


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "PUBLIC_MISS_LIMIT_PER_MINUTE": 100_000}


def test_unknown_revoked_and_expired_answer_alike(client, factory):
    revoked = operations.publish(factory.audit(factory.lead()), actor=SYSTEM)
    expired = operations.publish(factory.audit(factory.lead()), actor=SYSTEM,
                                 expires_at=utcnow() + timedelta(days=1))
    db.session.flush()
    tokens = {"unknown": "Z" * 43, "revoked": queries.token_for(revoked),
              "expired": queries.token_for(expired), "malformed": "short"}
    operations.revoke(revoked, actor=SYSTEM)
    expired.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    times: dict[str, list[float]] = {k: [] for k in tokens}
    answers = set()
    for _ in range(25):
        for kind, token in tokens.items():  # interleaved: load affects all kinds alike
            start = time.perf_counter()
            resp = client.get(f"/r/{token}", headers={"User-Agent": PHONE_UA})
            times[kind].append(time.perf_counter() - start)
            headers = tuple(sorted((k, v) for k, v in resp.headers.items()
                                   if k not in ("Date", "Set-Cookie")))
            answers.add((resp.status_code, resp.get_data(), headers))
    assert len(answers) == 1 and next(iter(answers))[0] == 404
    # A malformed token can never match (its shape is public knowledge) and costs no
    # rate-limit write: it answers the same, and is left out of the timing comparison.
    medians = {k: statistics.median(v) for k, v in times.items() if k != "malformed"}
    low, high = min(medians.values()), max(medians.values())
    assert high - low < max(0.004, 0.5 * low), medians
