"""Fixtures for webhooks: a real HTTP receiver on loopback (allowlisted), a fake name
resolver and a connect tripwire injected through the config, as the netguard tests do.
Nothing here sends a packet anywhere but 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from webhook_support import FakeResolver, Receiver, Tripwire

from app.activity import SYSTEM
from app.extensions import db
from app.webhooks import operations


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.httpd.shutdown()
    r.httpd.server_close()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    receiver_server.reset()
    return receiver_server


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver()


@pytest.fixture
def tripwire() -> Tripwire:
    return Tripwire()


@pytest.fixture
def app_config(app_config: dict[str, Any], receiver_server: Receiver, resolver: FakeResolver,
               tripwire: Tripwire) -> dict[str, Any]:
    return {**app_config, "WEBHOOK_ALLOW_TARGETS": [f"127.0.0.1:{receiver_server.port}"],
            "WEBHOOK_DISABLE_AFTER": 3, "WEBHOOK_TIMEOUT_SECONDS": 5,
            "WEBHOOK_RESOLVER": resolver, "WEBHOOK_CONNECT": tripwire}


@pytest.fixture
def make_endpoint(app: Any, receiver: Receiver) -> Any:
    """Factory: a committed endpoint (the receiver's URL by default) and its secret."""

    def make(url: str | None = None, events: tuple[str, ...] = ("audit.finished",)) -> Any:
        issued = operations.create_endpoint(url or receiver.url(), events, actor=SYSTEM,
                                            config=app.config)
        db.session.commit()
        return issued

    return make
