"""Fixtures of the upkeep tests."""

from __future__ import annotations

from typing import Any

import pytest

from app.jobs.queue import get_huey


@pytest.fixture
def huey(app: Any) -> Any:
    h = get_huey(app)
    yield h
    h.flush()
