"""Benchmark: background-job throughput through a real worker process.

Creates N ``noop`` runs in a scratch instance (SQLite database, Huey on its own SQLite
file, or Redis with --redis URL), starts ``pitchfast worker`` and prints runs per second
and the queue-to-finish latency (p50/p95), plus the web-side cost of create+submit.

    .venv/bin/python bench/jobs.py [--runs 300] [--threads 4] [--redis redis://127.0.0.1:56379/0]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.jobs import runs  # noqa: E402
from app.models import Run, RunStatus  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--redis", default="")
    args = ap.parse_args()
    inst = Path(tempfile.mkdtemp(prefix="pitchfast-bench-jobs-"))
    cfg = {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": f"sqlite:///{inst / 'db.sqlite3'}",
           "HUEY_URL": args.redis or f"sqlite:///{inst / 'huey.sqlite3'}",
           "HUEY_NAME": f"bench-{uuid.uuid4().hex[:6]}"}
    (inst / "config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in cfg.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITCHFAST_")}
    env["PITCHFAST_INSTANCE"] = str(inst)
    exe = Path(sys.executable).with_name("pitchfast")
    subprocess.run([str(exe), "db", "upgrade"], env=env, check=True, capture_output=True)
    app = create_app({**cfg, "INSTANCE_PATH": str(inst)})
    with app.app_context():
        t0 = time.perf_counter()
        made = [runs.create("noop") for _ in range(args.runs)]
        db.session.commit()
        ids = [r.id for r in made]
        runs.submit(ids)
        submit_s = time.perf_counter() - t0
        worker = subprocess.Popen([str(exe), "worker", "--threads", str(args.threads)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            start = time.perf_counter()
            while True:
                done = db.session.query(Run).filter(Run.status == RunStatus.SUCCEEDED).count()
                db.session.rollback()
                if done == args.runs:
                    break
                time.sleep(0.2)
            first = db.session.query(db.func.min(Run.started_at)).scalar()
            last = db.session.query(db.func.max(Run.finished_at)).scalar()
            lat = sorted((r.finished_at - r.started_at).total_seconds() * 1000
                         for r in db.session.query(Run))
        finally:
            worker.terminate()
            worker.wait(15)
        span = (last - first).total_seconds()
        queue = "redis" if args.redis else "sqlite"
        print(f"jobs bench (db=sqlite, queue={queue}, {args.threads} threads, "
              f"{os.cpu_count()} cpus)")
        print(f"  create+commit+submit {args.runs} runs: {submit_s:.2f} s "
              f"({args.runs / submit_s:.0f} runs/s)")
        print(f"  worker throughput: {args.runs / span:.1f} runs/s "
              f"(first start → last finish {span:.1f} s; wall incl. startup "
              f"{time.perf_counter() - start:.1f} s)")
        print(f"  per-run execute time: p50 {statistics.median(lat):.0f} ms, "
              f"p95 {lat[int(len(lat) * 0.95) - 1]:.0f} ms")


if __name__ == "__main__":
    main()
