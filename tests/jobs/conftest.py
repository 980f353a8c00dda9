"""Fixtures for the jobs tests (helpers and test run kinds live in jobhelpers.py)."""

from __future__ import annotations

from typing import Any

import pytest
from jobhelpers import FINAL_FAILURES

from app.jobs.queue import get_huey


@pytest.fixture(autouse=True)
def _reset_final_failures() -> None:
    FINAL_FAILURES.clear()


@pytest.fixture
def huey(app: Any) -> Any:
    h = get_huey(app)
    yield h
    try:
        h.flush()
    except Exception:
        pass


@pytest.fixture(autouse=True)
def _jobs_loggers_enabled() -> None:
    """migrations/env.py runs logging.config.fileConfig(), which disables every logger
    that existed before the migration; turn ours back on so caplog sees them."""
    import logging

    for name in ("app.jobs.queue", "app.jobs.runs", "app.jobs.context", "app.jobs.dispatch",
                 "app.jobs.worker", "app.jobs.registry"):
        logging.getLogger(name).disabled = False
