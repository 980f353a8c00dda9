"""Fixtures for the JSON API: keys made by the real operation, a client that sends them,
and a statement counter (SQLAlchemy events) for the per-page budget."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from app.activity import SYSTEM
from app.apikeys.operations import create_key
from app.extensions import db


@pytest.fixture
def make_key(app: Any) -> Any:
    """Factory: ``make_key(scope="write", name=…, expires_at=None)`` → the key string."""
    counter = {"n": 0}

    def make(scope: str = "write", name: str | None = None, **kw: Any) -> str:
        counter["n"] += 1
        _row, key = create_key(name or f"tool {counter['n']}", scope, actor=SYSTEM, **kw)
        db.session.commit()
        return key

    return make


class Api:
    """``api.get("/campaigns")`` etc. with the key in the Authorization header."""

    def __init__(self, client: Any, key: str) -> None:
        self.client, self.key = client, key

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **(extra or {})}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get("/api/v1" + path, headers=self._headers(kw.pop("headers", None)),
                               **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post("/api/v1" + path, json=json,
                                headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch("/api/v1" + path, json=json,
                                 headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def api(client: Any, make_key: Any) -> Api:
    return Api(client, make_key("write", name="n8n"))


@pytest.fixture
def read_api(client: Any, make_key: Any) -> Api:
    return Api(client, make_key("read", name="dashboard"))


class Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @property
    def count(self) -> int:
        return len(self.seen)


@pytest.fixture
def count_statements(app: Any) -> Any:
    """``with count_statements() as s: …`` → ``s.seen``: the SQL statements (SELECT,
    INSERT, UPDATE, DELETE, WITH) sent meanwhile; BEGIN/COMMIT and PRAGMAs are not counted."""

    @contextmanager
    def counting() -> Iterator[Statements]:
        found = Statements()

        def listen(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
            head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
            if head in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
                found.seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            yield found
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)

    return counting
