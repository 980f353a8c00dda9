"""A page of any API list costs at most 2 SQL statements, plus 1 for the key (look-up,
last use and rate limit in one ``UPDATE … RETURNING``). Counted with SQLAlchemy's
``before_cursor_execute`` event; runs on SQLite and, in the PostgreSQL pass, on PostgreSQL."""

from __future__ import annotations

from app.extensions import db
from app.leads import search_index
from app.models import Campaign, Lead, LeadStatus
from app.models.base import utcnow


def _seed(n: int = 250) -> None:
    db.session.add(Campaign(name="Big", slug="big"))
    db.session.flush()
    cid = db.session.query(Campaign.id).filter_by(slug="big").scalar()
    now = utcnow()
    search_index.bulk_insert([
        {"campaign_id": cid, "business_name": f"Shop {i}", "website_url": f"http://s{i}.example/",
         "domain": f"s{i}.example", "city": "Bergen" if i % 2 else "Oslo", "notes": "",
         "extra": {}, "status": LeadStatus.NEW if i % 3 else LeadStatus.WON, "site_down": False,
         "created_at": now, "updated_at": now} for i in range(n)])
    for i in range(3):
        db.session.add(Campaign(name=f"C{i}", slug=f"c{i}"))
    db.session.commit()


def _pages(api, path, params):
    cursor, pages = None, []
    while True:
        qs = {**params, **({"cursor": cursor} if cursor else {})}
        resp = api.get(path, query_string=qs)
        assert resp.status_code == 200, resp.json
        pages.append(resp.json)
        cursor = resp.json["next_cursor"]
        if not cursor:
            return pages


def test_each_page_is_at_most_two_statements_plus_the_key(api, count_statements):
    _seed()
    db.session.commit()
    cases = [("/campaigns/big/leads", {"limit": 100}),
             ("/campaigns/big/leads", {"limit": 50, "status": "won"}),
             ("/campaigns/big/leads", {"limit": 100, "q": "shop"}),
             ("/campaigns", {"limit": 2})]
    for path, params in cases:
        with count_statements() as seen:
            pages = _pages(api, path, params)
        assert len(pages) >= 2, (path, params)
        per_page = seen.count / len(pages)
        assert per_page <= 3, (path, params, seen.seen)
        keys = [s for s in seen.seen if s.lstrip().upper().startswith("UPDATE API_KEYS")]
        assert len(keys) == len(pages)  # exactly one key statement per request
    rows = sum(len(p["data"]) for p in _pages(api, "/campaigns/big/leads", {"limit": 100}))
    assert rows == 250


def test_a_lead_and_a_run_are_one_statement_each(api, count_statements):
    _seed(5)
    lead_id = db.session.query(Lead.id).first()[0]
    db.session.commit()
    with count_statements() as seen:
        assert api.get(f"/leads/{lead_id}").status_code == 200
    assert seen.count == 2, seen.seen  # the key, then the lead with its newest audit


def test_a_cursor_page_counts_nothing(api, count_statements):
    """The API shows no "51–100 of N": a page reached by a cursor reads its rows without
    counting the matches or the rows ahead (the first page counts the matches once)."""
    _seed()
    db.session.commit()
    for params in ({"limit": 100}, {"limit": 50, "status": "won"}, {"limit": 100, "q": "shop"}):
        first = api.get("/campaigns/big/leads", query_string=params).json
        assert first["total"] == (84 if "status" in params else 250)
        with count_statements() as seen:
            second = api.get("/campaigns/big/leads", query_string={
                **params, "cursor": first["next_cursor"]}).json
        assert second["total"] is None and len(second["data"]) == min(
            params["limit"], first["total"] - params["limit"])
        page_sql = [s for s in seen.seen if "leads" in s.lower()
                    and not s.lstrip().upper().startswith("UPDATE API_KEYS")]
        assert page_sql and not any("count(" in s.lower() for s in page_sql), page_sql
