"""Benchmark: the JSON API over a 100,000-lead campaign.

Prints, per database, the server time of a page of 100 leads through ``/api/v1`` (p50/p95
of repeated requests in-process, so no network: first page, a status filter, a search,
pages reached by walking cursors 1,000 and 10,000 rows deep), the SQL statements per
request (the key's one ``UPDATE … RETURNING`` counted apart), and creating 1,000 leads
one request at a time (requests per second). SQLite always; PostgreSQL too when
PITCHFAST_TEST_POSTGRES_URL is set (a scratch database ``pitchfast_bench_api`` is created
and dropped there).

    .venv/bin/python bench/api.py [--requests 60] [--db both|sqlite|postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402

WORDS = ["Bright", "Smile", "Family", "City", "Gentle", "Park", "Station", "Castle", "River",
         "Oak", "Maple", "Harbour", "Central", "Green", "North", "South", "Royal", "Kings"]
KINDS = ["Dental", "Dentistry", "Orthodontics", "Dental Care", "Clinic", "Smiles"]
CITIES = ["Leeds", "York", "Bath", "Bristol", "Hull", "Derby", "Luton", "Exeter", "Truro"]
STATUSES = ["new", "audited", "audited", "contacted", "won", "lost"]


def build_app(url: str, instance: Path):
    from flask_migrate import upgrade

    app = create_app({
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": url,
        "HUEY_URL": f"sqlite:///{instance / 'huey.sqlite3'}",
        "STORAGE_URL": f"file://{instance / 'files'}",
        "API_RATE_LIMIT": 10_000_000,
    })
    with app.app_context():
        upgrade()
    return app


def seed(campaign_id: int, n: int) -> None:
    """``n`` leads through the bulk insert the CSV import uses (indexed for search)."""
    from app.leads import search_index
    from app.models.base import utcnow

    rnd, now, rows = random.Random(7), utcnow(), []
    for i in range(n):
        status = rnd.choice(STATUSES)
        rows.append({
            "campaign_id": campaign_id,
            "business_name": f"{rnd.choice(WORDS)} {rnd.choice(KINDS)} {i}",
            "website_url": f"https://site{i}.example/", "domain": f"site{i}.example",
            "email": f"info@site{i}.example" if i % 3 else None, "contact_name": None,
            "phone": None, "city": rnd.choice(CITIES), "address": None, "source": "bench",
            "notes": "", "extra": {}, "status": status, "status_reason": None,
            "score": (i * 37) % 101 if status != "new" else None, "opportunity": None,
            "site_down": False, "latest_audit_id": None, "audited_at": None,
            "created_at": now, "updated_at": now,
        })
    search_index.bulk_insert(rows)
    db.session.commit()


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * len(values))) - 1))]


class Statements:
    def __init__(self) -> None:
        self.key = self.other = 0

    def __call__(self, _conn, _cursor, statement: str, *_args) -> None:
        head = statement.lstrip()[:16].upper()
        if head.startswith("UPDATE API_KEYS"):
            self.key += 1
        elif head.split(" ", 1)[0] in ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE"):
            self.other += 1


def measure(client, headers, url: str, n: int) -> dict[str, float]:
    for _ in range(3):
        assert client.get(url, headers=headers).status_code == 200
    wall, counter = [], Statements()
    sa.event.listen(db.engine, "before_cursor_execute", counter)
    try:
        for _ in range(n):
            start = time.perf_counter()
            resp = client.get(url, headers=headers)
            wall.append((time.perf_counter() - start) * 1000)
            assert resp.status_code == 200, resp.json
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counter)
    return {"p50": statistics.median(wall), "p95": _pct(wall, 0.95),
            "sql": counter.other / n, "key": counter.key / n}


def walk(client, headers, url: str, pages: int) -> str:
    for _ in range(pages):
        cursor = client.get(url, headers=headers).json["next_cursor"]
        base = url.split("cursor=")[0].rstrip("&?")
        url = f"{base}{'&' if '?' in base else '?'}cursor={cursor}"
    return url


def run(label: str, url: str, requests: int) -> None:
    from app import activity
    from app.apikeys.operations import create_key
    from app.campaigns.operations import create_campaign

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(url, Path(tmp))
        with app.app_context():
            campaign = create_campaign("Dentists UK", "bench", actor=activity.SYSTEM)
            create_campaign("Empty", "empty", actor=activity.SYSTEM)
            _row, key = create_key("bench", "write", actor=activity.SYSTEM)
            db.session.commit()
            start = time.perf_counter()
            seed(campaign.id, 100_000)
            print(f"[{label}] seeded 100,000 leads in {time.perf_counter() - start:.1f} s")
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.exec_driver_sql("VACUUM ANALYZE leads")
            else:
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()
            db.session.remove()
            client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
            base = "/api/v1/campaigns/bench/leads?limit=100"
            pages = [
                ("first page", base),
                ("status filter", base + "&status=won"),
                ("search", base + "&q=bright+dental"),
                ("search + status", base + "&q=smile&status=audited"),
                ("1,000 rows deep", walk(client, headers, base, 10)),
                ("10,000 rows deep", walk(client, headers, base, 100)),
                ("campaigns list", "/api/v1/campaigns?limit=100"),
            ]
            for name, page_url in pages:
                m = measure(client, headers, page_url, requests)
                print(f"[{label}] GET page of 100, {name:<17} p50 {m['p50']:6.1f} ms  "
                      f"p95 {m['p95']:6.1f} ms | {m['sql']:g} SQL statements + "
                      f"{m['key']:g} for the key")
            start = time.perf_counter()
            for i in range(1000):
                resp = client.post("/api/v1/campaigns/empty/leads", headers=headers, json={
                    "business_name": f"New lead {i}", "website": f"new{i}.example",
                    "city": "York"})
                assert resp.status_code == 201, resp.json
            secs = time.perf_counter() - start
            print(f"[{label}] POST 1,000 leads one request at a time: {secs:.1f} s, "
                  f"{1000 / secs:.0f} requests/s")
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--db", choices=("both", "sqlite", "postgres"), default="both")
    args = parser.parse_args()
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.db != "postgres":
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.requests)
    pg = os.environ.get("PITCHFAST_TEST_POSTGRES_URL") if args.db != "sqlite" else None
    if pg:
        pg = pg.replace("postgresql://", "postgresql+psycopg://", 1)
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        name = "pitchfast_bench_api"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            run("postgres", re.sub(r"/[^/]*$", f"/{name}", pg), args.requests)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    elif args.db != "sqlite":
        print("(set PITCHFAST_TEST_POSTGRES_URL to run the PostgreSQL half)")


if __name__ == "__main__":
    main()
