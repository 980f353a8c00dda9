"""Benchmark: 100,000 leads in one campaign.

Prints the CSV import time for 50,000 rows (the real import path: decode, sniff,
classify, bulk insert, commit), then the server time of the leads page at p50/p95
for the first page, a filtered page, a search and a page 1,000 rows deep, and the
SQL queries per render. Runs on SQLite, and on PostgreSQL too when
PITCHFAST_TEST_POSTGRES_URL is set (a scratch database ``pitchfast_bench`` is
created and dropped there).

    .venv/bin/python bench/leads.py [--renders 60]
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

CITIES = [
    "Leeds",
    "York",
    "Bath",
    "Bristol",
    "Hull",
    "Derby",
    "Luton",
    "Exeter",
    "Truro",
    "Ely",
    "Wells",
    "Ripon",
    "Salford",
    "Preston",
    "Durham",
    "Chester",
    "Lincoln",
    "Carlisle",
]
WORDS = [
    "Bright",
    "Smile",
    "Family",
    "City",
    "Gentle",
    "Park",
    "Station",
    "Castle",
    "River",
    "Oak",
    "Maple",
    "Harbour",
    "Central",
    "Green",
    "North",
    "South",
    "Royal",
    "Kings",
]
KINDS = ["Dental", "Dentistry", "Orthodontics", "Dental Care", "Teeth", "Clinic", "Smiles"]


def make_csv(n: int, offset: int, seed: int) -> bytes:
    """A realistic CSV export: mixed columns, some emails, a few bad and duplicate rows."""
    rnd = random.Random(seed)
    lines = ["Business Name,Website,Email,Phone,City,Notes"]
    for i in range(offset, offset + n):
        name = f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} {rnd.choice(KINDS)} {i}"
        domain = f"{name.split()[0].lower()}-{i}.example.co.uk"
        email = f"info@{domain}" if rnd.random() < 0.7 else ""
        site = rnd.choice(["https://www.", "http://", ""]) + domain + rnd.choice(["/", "", "/home"])
        if i % 997 == 0:
            site = "not a url"
        lines.append(f'"{name}",{site},{email},0113 555 {i % 10000:04d},{rnd.choice(CITIES)},')
    return ("\r\n".join(lines) + "\r\n").encode()


def build_app(url: str, instance: Path):
    from flask_migrate import upgrade

    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": url,
            "HUEY_URL": f"sqlite:///{instance / 'huey.sqlite3'}",
            "STORAGE_URL": f"file://{instance / 'files'}",
            "WTF_CSRF_ENABLED": False,
            "LOGIN_ADDRESS_FREE_FAILURES": 10_000,
            "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        }
    )
    with app.app_context():
        upgrade()
    return app


def timed_import(campaign, data: bytes, name: str) -> tuple[str, object]:
    """Run the real import path; returns "wall s (CPU s)" and the report."""
    from app import activity
    from app.leads.columns import detect_mapping
    from app.leads.csvfile import read_csv
    from app.leads.operations import import_leads

    start, cpu = time.perf_counter(), time.process_time()
    parsed = read_csv(data, 64 * 1024 * 1024)
    report = import_leads(
        campaign, parsed, detect_mapping(parsed.headers), name, actor=activity.SYSTEM
    )
    db.session.commit()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return f"{wall:.2f} s wall ({cpu:.2f} s CPU)", report


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *args) -> None:
        self.n += 1


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * len(values))) - 1))]


def measure(client, url: str, renders: int) -> dict[str, float]:
    """Wall and CPU milliseconds per render (p50/p95) and SQL statements per render.

    CPU time is this process's: on SQLite it includes the database work, so it shows
    the cost of a render even when other processes crowd the machine.
    """
    for _ in range(3):
        assert client.get(url).status_code == 200
    wall, cpu, counter = [], [], Counter()
    sa.event.listen(db.engine, "before_cursor_execute", counter)
    try:
        for _ in range(renders):
            start, cpu0 = time.perf_counter(), time.process_time()
            resp = client.get(url)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - cpu0) * 1000)
            assert resp.status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counter)
    return {
        "p50": statistics.median(wall),
        "p95": _pct(wall, 0.95),
        "cpu50": statistics.median(cpu),
        "cpu95": _pct(cpu, 0.95),
        "queries": counter.n / renders,
    }


def run(label: str, url: str, renders: int) -> None:
    from app import activity
    from app.campaigns.operations import create_campaign
    from app.users.operations import create_user

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(url, Path(tmp))
        with app.app_context():
            campaign = create_campaign("Dentists UK", "bench", actor=activity.SYSTEM)
            create_user(
                "bench@example.com", "correct horse battery", "member", actor=activity.SYSTEM
            )
            db.session.commit()
            first = make_csv(50_000, 0, 1)
            secs, report = timed_import(campaign, first, "first.csv")
            print(
                f"[{label}] CSV import, 50,000 rows ({len(first) / 1e6:.1f} MB): {secs} "
                f"({report.imported} imported, {len(report.bad)} bad)"
            )
            secs2, report2 = timed_import(campaign, make_csv(50_000, 50_000, 2), "second.csv")
            print(f"[{label}] CSV import, next 50,000 rows into a campaign of 50,000: {secs2}")
            secs3, report3 = timed_import(campaign, first, "first.csv")
            print(
                f"[{label}] re-import of the first file: {secs3}, "
                f"{report3.imported} imported, {len(report3.duplicates)} duplicates"
            )
            # give two thirds of the leads an audit score, as after a round of audits
            db.session.execute(
                sa.text(
                    "UPDATE leads SET score = (id * 37) % 101, status = 'audited', "
                    "audited_at = created_at WHERE id % 3 <> 0"
                )
            )
            db.session.commit()
            total = db.session.scalar(sa.text("SELECT count(*) FROM leads"))
            if db.engine.dialect.name == "postgresql":
                # What autovacuum does within a minute or so of a bulk insert (its insert
                # threshold is 20% of the table): statistics, and the visibility map that
                # lets counts read the index alone.
                db.session.commit()
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.exec_driver_sql("VACUUM ANALYZE leads")
            else:
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()
            print(f"[{label}] leads in the campaign: {total:,}")
            client = app.test_client()
            resp = client.post(
                "/login", data={"email": "bench@example.com", "password": "correct horse battery"}
            )
            assert resp.status_code == 302
            base = "/campaigns/bench/leads"
            html = client.get(base).data.decode()
            cursor_url = base
            for _ in range(20):  # 20 pages of 50 -> 1,000 rows deep
                html = client.get(cursor_url).data.decode()
                cursor_url = (
                    re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
                )
            score_url = base + "?sort=-score"
            for _ in range(20):
                html = client.get(score_url).data.decode()
                score_url = (
                    re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
                )
            pages = [
                ("first page", base),
                (
                    "filtered page",
                    base + "?status=audited&city=Leeds&has_email=yes&score_min=20&score_max=80",
                ),
                ("search", base + "?q=bright+dental"),
                ("search + filter", base + "?q=smile&city=York&sort=-score"),
                ("1,000 rows deep", cursor_url),
                ("1,000 deep, by score", score_url),
                ("last page", base + "?last=1"),
                ("last page, by score", base + "?sort=-score&last=1"),
            ]
            for name, page_url in pages:
                m = measure(client, page_url, renders)
                print(
                    f"[{label}] leads page, {name:<22} wall p50 {m['p50']:6.1f} ms  "
                    f"p95 {m['p95']:6.1f} ms | CPU p50 {m['cpu50']:5.1f} ms  "
                    f"p95 {m['cpu95']:5.1f} ms | {m['queries']:g} SQL queries/render"
                )
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--renders", type=int, default=60)
    parser.add_argument("--db", choices=("both", "sqlite", "postgres"), default="both")
    args = parser.parse_args()
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.db != "postgres":
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.renders)
    pg = os.environ.get("PITCHFAST_TEST_POSTGRES_URL") if args.db != "sqlite" else None
    if pg:
        pg = pg.replace("postgresql://", "postgresql+psycopg://", 1)
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql('DROP DATABASE IF EXISTS "pitchfast_bench" WITH (FORCE)')
            conn.exec_driver_sql('CREATE DATABASE "pitchfast_bench"')
        try:
            run("postgres", re.sub(r"/[^/]*$", "/pitchfast_bench", pg), args.renders)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql('DROP DATABASE IF EXISTS "pitchfast_bench" WITH (FORCE)')
            admin.dispose()
    elif args.db != "sqlite":
        print("(set PITCHFAST_TEST_POSTGRES_URL to run the PostgreSQL half)")


if __name__ == "__main__":
    main()
