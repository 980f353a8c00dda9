"""Fixtures shared by the outreach tests: a real SMTP server (aiosmtpd on loopback with
STARTTLS and AUTH, its certificate made for the session)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from deliveryhelpers import SmtpServer, make_cert


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    return make_cert(tmp_path_factory.mktemp("smtp-cert"))


@pytest.fixture
def smtp(cert: tuple[Any, Any]) -> Iterator[SmtpServer]:
    server = SmtpServer(*cert).start()
    yield server
    server.stop()
