"""Benchmark: webhook deliveries through a real worker process to a receiver on loopback.

Registers ``--endpoints`` endpoints on a local receiver (allowlisted), emits ``--events``
``audit.finished`` events, each in its own transaction as an operation does, then starts
``pitchfast worker`` and prints: the cost of ``emit`` inside the caller's transaction
(p50/p95 ms and SQL statements), deliveries per second end to end, the time from commit
to the receiver (p50/p95), and how many requests arrived, with valid signatures and
without duplicate delivery ids.

    .venv/bin/python bench/webhooks.py [--events 200] [--endpoints 3] [--threads 4]
"""

from __future__ import annotations

import argparse
import http.server
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event  # noqa: E402

from app import create_app  # noqa: E402
from app.activity import SYSTEM  # noqa: E402
from app.extensions import db  # noqa: E402
from app.webhooks import operations, signing  # noqa: E402
from app.webhooks.events import emit  # noqa: E402


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[float, str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        me = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with me.lock:
                    me.got.append((time.time(), self.path, dict(self.headers), body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--endpoints", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()
    receiver = Receiver()
    port = receiver.httpd.server_port
    inst = Path(tempfile.mkdtemp(prefix="pitchfast-bench-webhooks-"))
    cfg = {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": f"sqlite:///{inst / 'db.sqlite3'}",
           "HUEY_URL": f"sqlite:///{inst / 'huey.sqlite3'}",
           "HUEY_NAME": f"bench-{uuid.uuid4().hex[:6]}",
           "WEBHOOK_ALLOW_TARGETS": [f"127.0.0.1:{port}"]}
    (inst / "config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in cfg.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITCHFAST_")}
    env["PITCHFAST_INSTANCE"] = str(inst)
    exe = Path(sys.executable).with_name("pitchfast")
    subprocess.run([str(exe), "db", "upgrade"], env=env, check=True, capture_output=True)
    app = create_app({**cfg, "INSTANCE_PATH": str(inst)})
    with app.app_context():
        secrets_by_url = {}
        for n in range(args.endpoints):
            url = f"http://127.0.0.1:{port}/hook/{n}"
            issued = operations.create_endpoint(url, ["audit.finished"], actor=SYSTEM,
                                                config=app.config)
            secrets_by_url[f"/hook/{n}"] = issued.secret
        db.session.commit()

        statements = [0]

        def count(*_a: Any) -> None:
            statements[0] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        emit_ms, per_emit, committed = [], [], {}
        for i in range(args.events):
            statements[0] = 0
            t0 = time.perf_counter()
            deliveries = emit("audit.finished", {"audit_id": i, "lead_id": i, "score": 80})
            emit_ms.append((time.perf_counter() - t0) * 1000)
            per_emit.append(statements[0])
            ids = [d.public_id for d in deliveries]
            db.session.commit()  # hands the runs to the queue
            for public_id in ids:
                committed[public_id] = time.time()
        event.remove(db.engine, "before_cursor_execute", count)

    expected = args.events * args.endpoints
    worker = subprocess.Popen([str(exe), "worker", "--threads", str(args.threads),
                               "--no-periodic"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    start = time.perf_counter()
    try:
        while len(receiver.got) < expected and time.perf_counter() - start < 300:
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
    finally:
        worker.terminate()
        worker.wait(30)
    got = list(receiver.got)
    valid = 0
    for _, path, headers, body in got:
        try:
            signing.verify_headers(secrets_by_url[path], body, headers)
            valid += 1
        except signing.SignatureError:
            pass
    ids = [h["X-PitchFast-Delivery"] for _, _, h, _ in got]
    latency = [(at - committed[h["X-PitchFast-Delivery"]]) * 1000 for at, _, h, _ in got
               if h["X-PitchFast-Delivery"] in committed]
    print(f"endpoints: {args.endpoints}, events: {args.events}, worker threads: {args.threads}")
    print(f"emit (inside the caller's transaction): p50 {statistics.median(emit_ms):.2f} ms, "
          f"p95 {pct(emit_ms, 95):.2f} ms, {statistics.median(per_emit):.0f} SQL statements "
          f"for {args.endpoints} deliveries")
    print(f"delivered {len(got)}/{expected} in {elapsed:.1f} s: "
          f"{len(got) / elapsed:.0f} deliveries/s (worker start-up included)")
    if len(got) > 1:
        span = max(at for at, *_ in got) - min(at for at, *_ in got)
        print(f"first → last delivery: {span:.1f} s, {(len(got) - 1) / span:.0f} deliveries/s")
    if latency:
        print(f"commit → receiver: p50 {statistics.median(latency):.0f} ms, "
              f"p95 {pct(latency, 95):.0f} ms")
    print(f"valid signatures: {valid}/{len(got)}, duplicate delivery ids: "
          f"{len(ids) - len(set(ids))}")


if __name__ == "__main__":
    main()
