"""Crafted input is a 404 or 422 with a message, never a 500 (issue 7, item 7).

The walkers read ``app.url_map``, so a route added later is covered the moment it exists:

* every path argument gets hostile values (ids past 2^63, negative, zero, NUL, very long
  strings); an ``<int:…>`` id that cannot exist is a 404 before any view runs;
* every route is first called once with harmless parameters while the request records
  which query parameters and form fields the view reads; then each parameter it read
  gets every hostile value in turn (others keep the defaults its page shows), so a
  parameter added to a view later is attacked too;
* a NUL anywhere is refused before the database sees it (PostgreSQL raises ``DataError``).

Requests are made as an admin, with CSRF off (the test config), on the real database.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from app.extensions import db
from app.leads.search import encode_cursor

INT_PATHS = [str(2**63), str(2**64), str(10**30), "-1", "0", "9" * 400]
TEXT_PATHS = ["%00", "a%00b", "x" * 5000, "%E2%80%AEgnp.exe", "%ff%fe", "..%2F..%2Fetc%2Fpasswd"]
#: Values for query parameters and form fields (raw: the client encodes them).
VALUES = [str(2**63), str(2**64), "-1", "0", "1e309", "x" * 5000, "[0,null,1]",
          "\u202egnp.exe", "\ud7ff\U0010ffff", "'; DROP TABLE leads; --"]
#: Parameters offered on the first call of every route (the view reads what it needs).
PROBE = ["page", "before", "after", "q", "sort", "status", "score_min", "score_max",
         "audited", "city", "has_email", "kind", "archived", "next", "id"]
_SKIP = {"static", "auth.logout"}


def _cursor(raw: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


#: Forged leads cursors: NULL in the non-NULL segment, huge ids and values, wrong types.
CURSORS = [
    _cursor([0, None, 1]), _cursor([1, None, 2**64]), _cursor([0, 2**64, 1]),
    _cursor([0, -(2**70), 2**63]), _cursor([1, 5, -1]), _cursor([0, "x" * 5000, 1]),
    _cursor([0, "a\x00b", 1]), _cursor([2, 1, 1]), _cursor([0, 1.5, 1]), _cursor({"a": 1}),
    _cursor([0, [1], 1]), _cursor([0, 1]), _cursor([True, 1, 1]), encode_cursor(0, 50, 2**63),
    base64.urlsafe_b64encode(b"[" * 900).decode(), "not-base64!!", "=" * 10, "x" * 9000,
]

READ: set[str] = set()


class _Recording(ImmutableMultiDict):  # type: ignore[type-arg]
    """Query/form storage that notes every key a view asks for."""

    def __getitem__(self, key: Any) -> Any:
        READ.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        READ.add(str(key))
        return super().__contains__(key)

    def getlist(self, key: Any, type: Any = None) -> Any:  # noqa: A002
        READ.add(key)
        return super().getlist(key, type)


class _RecordingRequest(Request):
    parameter_storage_class = _Recording


class _Defaults(HTMLParser):
    """The values every form field on a page would send (first option of a select)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("file", "submit"):
            self.values.setdefault(name, a.get("value") or "")
        elif tag in ("select", "textarea") and name:
            self.values.setdefault(name, "")
            self._select = name if tag == "select" else None
        elif tag == "option" and self._select and (a.get("value") or "") and (
                not self.values[self._select] or "selected" in a):
            self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


@pytest.fixture
def world(app, client, auth, create_user, monkeypatch):
    """An admin signed in, another user, a campaign with leads: real ids for valid paths."""
    from app.activity import SYSTEM
    from app.campaigns.operations import create_campaign
    from app.models import Lead
    from app.models.base import utcnow

    monkeypatch.setattr(app, "request_class", _RecordingRequest)
    admin = auth.login("admin")
    other = create_user(role="member")
    campaign = create_campaign("Edge cases", "edge", actor=SYSTEM)
    db.session.flush()
    now = utcnow()
    db.session.execute(sa.insert(Lead.__table__), [
        {"campaign_id": campaign.id, "business_name": f"Biz {i}", "status": "new",
         "website_url": f"http://biz{i}.example.com/", "domain": f"biz{i}.example.com",
         "score": None if i == 0 else 40 + i, "city": None if i == 1 else "Leeds",
         "notes": "", "extra": {}, "created_at": now, "updated_at": now}
        for i in range(3)
    ])
    db.session.commit()
    ids = list(db.session.scalars(sa.select(Lead.id).order_by(Lead.id)))
    return {"admin": admin, "other": other, "campaign": campaign, "lead_ids": ids}


def _valid_args(rule: Any, world: dict[str, Any]) -> dict[str, str]:
    values = {}
    for name in rule.arguments:
        if isinstance(rule._converters[name], IntegerConverter):
            values[name] = str(world["other"].id if "user" in name else world["lead_ids"][0])
        elif name == "slug":
            values[name] = world["campaign"].slug
        else:
            values[name] = "dummy"
    return values


def _url(rule: Any, args: dict[str, str]) -> str:
    """The rule's path with ``args`` put in raw (no converter check: that is the point)."""
    path = rule.rule
    for name, value in args.items():
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", lambda _m, v=value: v, path)
    return path


def _routes(app: Any, world: dict[str, Any]) -> list[tuple[Any, str, str]]:
    """``(rule, method, url with valid arguments)`` for every rule and method of the map."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in _SKIP:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule, method, _url(rule, _valid_args(rule, world))))
    return out


def _status(client: Any, method: str, url: str, **kw: Any) -> int:
    resp = client.open(url, method=method, **kw)
    status = int(resp.status_code)
    resp.close()
    return status


def _still_admin(client: Any, auth: Any) -> None:
    # A hostile POST may rightly end the session (a password change, say): sign in again
    # so the rest of the walk still runs as an admin.
    if client.get("/users/").status_code != 200:
        auth.login("admin")


def test_every_path_argument_rejects_hostile_values(app, client, world):
    failures, count = [], 0
    for rule, method, _url_ok in _routes(app, world):
        valid = _valid_args(rule, world)
        for name in rule.arguments:
            is_id = isinstance(rule._converters[name], IntegerConverter)
            for value in INT_PATHS if is_id else TEXT_PATHS:
                url = _url(rule, {**valid, name: value})
                status = _status(client, method, url)
                count += 1
                # an id that cannot exist, or a NUL in the path (PostgreSQL refuses it in
                # text: a DataError on the slug), never reaches a view
                if status >= 500 or ((is_id or "%00" in value) and status != 404):
                    failures.append((method, url[:100], status))
    print(f"\nhostile path values: {count} requests over {len(_routes(app, world))} routes × "
          f"methods, {len(failures)} answered 5xx or reached a view with an impossible id")
    assert failures == [], failures
    assert count > 100


def test_every_parameter_a_view_reads_rejects_hostile_values(app, client, auth, world):
    routes = _routes(app, world)
    pages: dict[str, dict[str, str]] = {}
    for rule, method, url in routes:  # the defaults every page's forms would send
        if method == "GET":
            parser = _Defaults()
            parser.feed(client.get(url).get_data(as_text=True))
            pages[url] = {k: v for k, v in parser.values.items() if k != "csrf_token"}
    anywhere = {k: v for fields in pages.values() for k, v in fields.items()}
    failures, attacked, count = [], set(), 0
    for rule, method, url in routes:
        # a POST-only route's form lives on another page: every field seen anywhere
        defaults = {**anywhere, **pages.get(url, {})} if method == "POST" else {}
        READ.clear()
        probe = dict.fromkeys(PROBE, "")
        _status(client, method, url, query_string=probe, data=defaults or None)
        read = sorted(READ - {"csrf_token"})
        _still_admin(client, auth)
        for name in read:
            attacked.add((rule.endpoint, name))
            for value in VALUES:
                query = {**probe, name: value}
                data = {**defaults, name: value} if method == "POST" else None
                status = _status(client, method, url, query_string=query, data=data)
                count += 1
                if status >= 500:
                    failures.append((method, url, name, value[:30], status))
            _still_admin(client, auth)
    print(f"\nhostile parameter values: {count} requests, {len(attacked)} (route, parameter) "
          f"pairs read by views, {len(failures)} answered 5xx")
    assert failures == [], failures
    # the walk really reached the parameters this item is about
    for expected in [("leads.index", "after"), ("leads.index", "before"), ("runs.index", "after"),
                     ("dashboard.activity", "before"), ("users.index", "page"),
                     ("leads.bulk_action", "ids"), ("leads.edit", "business_name")]:
        assert expected in attacked, expected


def test_nul_anywhere_is_refused_before_the_database(app, client, world):
    """PostgreSQL refuses NUL in text (``DataError``): every route answers 422 with a
    message first, whatever parameter or field carries it, and no SQL reads a table of
    the app's data for such a request."""
    statements: list[str] = []

    def note(_conn: Any, _cur: Any, statement: str, *_a: Any) -> None:
        statements.append(statement)

    routes = _routes(app, world)
    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        for rule, method, url in routes:
            if rule.endpoint == "auth.login":
                continue
            for kw in ({"query_string": {"q": "a\x00b"}},
                       {"data": {"business_name": "Bad\x00Name", "name": "\x00"}}):
                if method == "GET" and "data" in kw:
                    continue
                resp = client.open(url, method=method, **kw)
                assert resp.status_code == 422, (method, url, kw, resp.status_code)
                assert "NUL" in resp.get_data(as_text=True)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    data_tables = r"\b(leads|campaigns|runs|audits|activities)\b"
    reads = [s[:300] for s in statements if re.search(data_tables, s)]
    assert reads == [], reads[:5]


@pytest.mark.parametrize("sort", ["score", "-score", "city", "-city", "created", "-created",
                                  "name", "-name", "status", "-status"])
def test_forged_leads_cursors_are_a_422_with_a_message(client, world, sort):
    slug = world["campaign"].slug
    for cursor in CURSORS:
        for param in ("after", "before"):
            resp = client.get(f"/campaigns/{slug}/leads",
                              query_string={"sort": sort, param: cursor})
            assert resp.status_code == 422, (sort, param, cursor, resp.status_code)
            assert "page link is not valid" in resp.get_data(as_text=True)


def test_real_cursors_still_page_through_every_sort(client, world):
    slug = world["campaign"].slug
    for sort in ("score", "-score", "city", "-city", "name", "-created", "status"):
        seen, after = [], None
        for _ in range(5):
            query = {"sort": sort, **({"after": after} if after else {})}
            resp = client.get(f"/campaigns/{slug}/leads", query_string=query)
            assert resp.status_code == 200, (sort, resp.status_code)
            body = resp.get_data(as_text=True)
            seen += re.findall(r"Biz \d", body)
            found = re.search(r'[?&;]after=([A-Za-z0-9_-]+)', body)
            if not found:
                break
            after = found.group(1)
        assert sorted(set(seen)) == ["Biz 0", "Biz 1", "Biz 2"], sort


def test_campaign_progress_without_htmx_shows_the_campaign(client, world):
    slug = world["campaign"].slug
    resp = client.get(f"/campaigns/{slug}/progress")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/campaigns/{slug}")
    resp = client.get(f"/campaigns/{slug}/progress", headers={"HX-Request": "true"})
    assert resp.status_code in (200, 286)


@pytest.mark.parametrize("url", ["/activity?before=18446744073709551616",
                                 "/runs/?after=9223372036854775808", "/users/?page=99999999999"])
def test_huge_page_and_keyset_parameters_are_a_422_with_a_message(client, world, url):
    resp = client.get(url)
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "must be" in body or "Number must be" in body or "between" in body


def test_bulk_ids_past_the_id_range_are_refused(client, world):
    slug = world["campaign"].slug
    resp = client.post(f"/campaigns/{slug}/leads/bulk",
                       data={"action": "delete", "scope": "selected", "confirm": "yes",
                             "ids": [str(world["lead_ids"][0]), str(2**64)]})
    assert resp.status_code < 500
    from app.models import Lead
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 3
