"""Benchmark: the prospect's page under load, beside a static file of the same size.

On a scratch instance (SQLite, waitress, loopback only) it:

1. starts a small local-business site on loopback (allowlisted) and ``pitchfast worker``,
   queues audits of it, waits for the first real audit and publishes it (with five
   scored peers, so the page carries the peer comparison);
2. starts the web server (waitress, ``app.server.serve_web``, as ``pitchfast web``) with a
   timing wrapper around the app, and an extra route serving a static file of exactly
   the page's size (Flask's ``send_from_directory``, as ``/static``);
3. drives both with a load generator (processes × keep-alive connections, alternating
   page and file) for ``--seconds`` while the worker keeps auditing;
4. prints requests per second, p50/p95/p99 of client and server latency, errors, and the
   page weight (HTML + CSS before images, raw and gzipped), against the goals: p95 at most
   2x the static file's and under 20 ms server time, 0 errors, HTML + CSS under 30 KB,
   nothing but the page and its CSS needed for the first render.

    .venv/bin/python bench/public_page.py [--seconds 20] [--procs 2] [--conns 2] [--audits 40]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import http.server
import json
import multiprocessing
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Mobile Safari/537.36")
SITE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Austin Smiles</title>
<style>body{font-family:Georgia,serif;margin:0}header{background:#245;color:#fff;padding:16px}
.tiny{font-size:10px;color:#aaa}</style></head><body><header><b>Austin Smiles Dental</b></header>
<section><h1>Gentle family dentistry in Austin</h1><p>Check-ups, cleaning and whitening.</p>
<img src="/team.jpg"></section><main><h3>About us</h3><p>Our friendly team has looked after
Austin families for twenty years, with evening appointments and a calm clinic.</p>
<p class="tiny">Call 512 555 0147, 400 Congress Avenue, Austin TX 78701.</p></main>
<footer>&copy; 2018 Austin Smiles Dental</footer></body></html>"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_site() -> tuple[http.server.ThreadingHTTPServer, str]:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (900, 600), (90, 140, 190)).save(buf, "JPEG", quality=80)
    image = buf.getvalue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            body, ctype = ((image, "image/jpeg") if self.path.startswith("/team.jpg")
                           else (SITE.encode(), "text/html; charset=utf-8"))
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"127.0.0.1:{httpd.server_port}"


# ----------------------------------------------------------------------- the web server
def serve(inst: str, port: int, static_dir: str, out: str) -> None:
    """The web server process: the app with a timing wrapper and the static-file route."""
    from flask import send_from_directory

    from app import create_app
    from app.access import public
    from app.server import serve_web

    app = create_app()
    timings: dict[str, list[float]] = {"page": [], "static": []}

    @public
    def bench_static(name: str) -> Any:
        return send_from_directory(static_dir, name)

    app.add_url_rule("/bench-static/<name>", "bench_static", bench_static)
    inner = app.wsgi_app

    def timed(environ: dict[str, Any], start_response: Any) -> Any:
        t0 = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        kind = "page" if path.startswith("/r/") and path.count("/") == 2 else (
            "static" if path.startswith("/bench-static/") else None)
        body = inner(environ, start_response)
        chunks = list(body)  # the whole response is made here: server time ends with it
        if hasattr(body, "close"):
            body.close()
        if kind:
            timings[kind].append(time.perf_counter() - t0)
        return chunks

    app.wsgi_app = timed  # type: ignore[method-assign]

    def dump(*_: Any) -> None:
        Path(out).write_text(json.dumps(timings))
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    serve_web(app, "127.0.0.1", port, threads=4, announce=lambda _msg: None)


# ----------------------------------------------------------------------- the load generator
def load(base_port: int, paths: list[str], seconds: float, conns: int, seed: int,
         queue: Any) -> None:
    """One load process: ``conns`` keep-alive connections, each alternating the paths."""
    results: list[tuple[str, int, float]] = []
    lock = threading.Lock()
    stop_at = time.time() + seconds

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", base_port, timeout=30)
        i = n
        local: list[tuple[str, int, float]] = []
        # One visitor per connection (views are counted once per visitor per half hour).
        headers = {"User-Agent": f"{UA} v{seed}-{n}", "Accept-Encoding": "gzip"}
        while time.time() < stop_at:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", base_port, timeout=30)
            local.append(("page" if path.startswith("/r/") else "static", status,
                          time.perf_counter() - t0))
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(results)


def finished_audits(inst: Path) -> int:
    import sqlite3

    with sqlite3.connect(inst / "pitchfast.sqlite3") as conn:
        row = conn.execute("SELECT count(*) FROM audits WHERE status IN "
                           "('succeeded', 'site_down')").fetchone()
    return int(row[0])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


# ----------------------------------------------------------------------- setting up
def prepare(inst: Path, env: dict[str, str], site: str, audits: int) -> tuple[str, Any]:
    """Migrate, queue audits of the site, start the worker; publish the first real audit."""
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    os.environ.update(env)
    from app import create_app
    from app.activity import SYSTEM
    from app.audits import operations as audit_ops
    from app.extensions import db
    from app.models import Audit, AuditStatus, Campaign, Lead, Run
    from app.public import operations, queries

    app = create_app()
    with app.app_context():
        campaign = Campaign(name="Dentists in Austin", slug="dentists", niche="dentists")
        db.session.add(campaign)
        db.session.flush()
        leads = [Lead(campaign_id=campaign.id, business_name=f"Austin Smiles {i}",
                      website_url=f"http://{site}/?v={i}", domain=f"{site}#{i}", city="Austin")
                 for i in range(audits)]
        db.session.add_all(leads)
        db.session.flush()
        audit_ops.request_audits(leads, SYSTEM, campaign_id=campaign.id)
        # Five scored peers, so the page shows the comparison.
        for i in range(5):
            peer = Lead(campaign_id=campaign.id, business_name=f"Peer {i}", city="Austin",
                        website_url=f"https://peer{i}.example.com/", domain=f"peer{i}.example.com")
            db.session.add(peer)
            db.session.flush()
            run = Run(kind="noop", subject_type="lead", subject_id=peer.id, payload={},
                      status="succeeded", max_attempts=1)
            db.session.add(run)
            db.session.flush()
            audit = Audit(lead_id=peer.id, run_id=run.id, url=peer.website_url or "",
                          status=AuditStatus.SUCCEEDED, score=50 + 5 * i,
                          scores={c: 40 + 9 * i for c in ("overall", "speed", "mobile", "seo",
                                                          "accessibility", "security",
                                                          "conversion")})
            db.session.add(audit)
            db.session.flush()
            peer.latest_audit_id, peer.score = audit.id, audit.score
        db.session.commit()
    log = (inst / "worker.log").open("wb")
    worker = subprocess.Popen([*cli, "worker", "--threads", "2"], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    deadline = time.time() + 180
    with app.app_context():
        while time.time() < deadline:
            audit = db.session.scalar(db.select(Audit).where(
                Audit.status == AuditStatus.SUCCEEDED, Audit.lead_id.in_(
                    [lead_id for (lead_id,) in db.session.execute(db.select(Lead.id).where(
                        Lead.business_name.like("Austin Smiles %")))])).limit(1))
            db.session.rollback()
            if audit is not None:
                break
            time.sleep(1)
        else:
            worker.terminate()
            raise SystemExit("no audit finished in 180 s; see " + str(inst / "worker.log"))
        audit = db.session.get(Audit, audit.id)
        link = operations.publish(audit, actor=SYSTEM)
        db.session.commit()
        token = queries.token_for(link)
        checks = len((audit.snapshot or {}).get("checks") or [])
    print(f"published a real audit ({checks} checks, score {audit.score}) of {site}")
    return token, worker


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--conns", type=int, default=2)
    ap.add_argument("--audits", type=int, default=40)
    args = ap.parse_args()
    inst = Path(tempfile.mkdtemp(prefix="pitchfast-bench-public-"))
    httpd, site = start_site()
    cfg = {"SECRET_KEY": secrets.token_hex(32), "AUDIT_ALLOW_TARGETS": [site],
           "AUDIT_CONCURRENCY": 2, "PUBLIC_MISS_LIMIT_PER_MINUTE": 30}
    (inst / "config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in cfg.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITCHFAST_")}
    env["PITCHFAST_INSTANCE"] = str(inst)
    token, worker = prepare(inst, env, site, args.audits)
    port = free_port()
    static_dir = inst / "bench-static"
    static_dir.mkdir()
    timings_file = inst / "server-timings.json"
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(str(inst), port, str(static_dir), str(timings_file)))
    server.start()
    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"/r/{token}", headers={"User-Agent": UA + " weigh"})
        resp = conn.getresponse()
        html = resp.read()
        assert resp.status == 200, resp.status
        css_path = re.search(rb'<link rel="stylesheet" href="([^"]+)"', html)
        assert css_path
        conn.request("GET", css_path.group(1).decode())
        css = conn.getresponse().read()
        blocking = re.findall(rb"<script|<link rel=\"stylesheet\"|@import|@font-face|<iframe",
                              html + css)
        (static_dir / "same-size.html").write_bytes(html)
        paths = [f"/r/{token}", "/bench-static/same-size.html"]
        audited_before = finished_audits(inst)
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=load, args=(port, paths, args.seconds, args.conns, n, queue))
                 for n in range(args.procs)]
        for p in procs:
            p.start()
        results: list[tuple[str, int, float]] = []
        for _ in procs:
            results.extend(queue.get(timeout=args.seconds + 120))
        for p in procs:
            p.join(30)
    finally:
        if server.pid:
            os.kill(server.pid, signal.SIGTERM)
        server.join(30)
        worker.terminate()
        worker.wait(30)
        httpd.shutdown()
    server_t = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    audited = finished_audits(inst) - audited_before
    print(f"load: {args.procs} processes x {args.conns} keep-alive connections, "
          f"{args.seconds:.0f} s, page and file alternating; worker auditing meanwhile "
          f"({audited} audits finished during the load)")
    figures: dict[str, dict[str, float]] = {}
    for kind, label in (("page", "public page"), ("static", "static file, same size")):
        mine = [r for r in results if r[0] == kind]
        ok = [r[2] for r in mine if r[1] == 200]
        errors = len(mine) - len(ok)
        st = server_t.get(kind) or []
        figures[kind] = {"p95": pct(st, .95), "errors": errors}
        print(f"  {label:24} {len(mine) / args.seconds:7.1f} req/s, errors {errors}; "
              f"client p50/p95/p99 {pct(ok, .5):.1f}/{pct(ok, .95):.1f}/{pct(ok, .99):.1f} ms; "
              f"server p50/p95/p99 {pct(st, .5):.1f}/{pct(st, .95):.1f}/{pct(st, .99):.1f} ms")
    weight = len(html) + len(css)
    packed = len(gzip.compress(html)) + len(gzip.compress(css))
    print(f"page weight: HTML {len(html) / 1024:.1f} KB + CSS {len(css) / 1024:.1f} KB = "
          f"{weight / 1024:.1f} KB ({packed / 1024:.1f} KB gzipped); render-blocking "
          f"resources besides the page: {len(blocking)} (its one stylesheet)")
    page, static = figures["page"], figures["static"]
    goals = [
        ("server p95 at most 2x the static file's",
         page["p95"] <= 2 * static["p95"], f"{page['p95'] / static['p95']:.2f}x"),
        ("server p95 under 20 ms", page["p95"] < 20, f"{page['p95']:.1f} ms"),
        ("0 errors", page["errors"] + static["errors"] == 0,
         f"{page['errors'] + static['errors']:.0f}"),
        ("HTML + CSS under 30 KB", weight < 30 * 1024, f"{weight / 1024:.1f} KB"),
        ("first render needs only the page and its CSS", len(blocking) == 1,
         f"{len(blocking)} blocking resource"),
    ]
    for name, met, value in goals:
        print(f"  goal {name}: {value} ({'met' if met else 'NOT met'})")


if __name__ == "__main__":
    main()
