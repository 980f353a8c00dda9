"""Benchmark: drafting and approving outreach in bulk on a scratch SQLite instance.

Creates N audited leads (findings, published public pages) in one campaign, then times
``draft_campaign`` (the "Draft emails for every audited lead" button) and ``approve_many``
(bulk approval), and prints leads per second for each.

    .venv/bin/python bench/outreach_drafts.py [--leads 1000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "outreach"))

import authoring_support as f  # noqa: E402

from app import create_app  # noqa: E402
from app.activity import SYSTEM  # noqa: E402
from app.extensions import db  # noqa: E402
from app.outreach import operations as ops  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=1000)
    args = ap.parse_args()
    inst = Path(tempfile.mkdtemp(prefix="pitchfast-bench-outreach-"))
    cfg = {"SECRET_KEY": secrets.token_hex(32),
           "DATABASE_URL": f"sqlite:///{inst / 'db.sqlite3'}",
           "HUEY_URL": f"sqlite:///{inst / 'huey.sqlite3'}"}
    (inst / "config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in cfg.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITCHFAST_")}
    env["PITCHFAST_INSTANCE"] = str(inst)
    exe = Path(sys.executable).with_name("pitchfast")
    subprocess.run([str(exe), "db", "upgrade"], env=env, check=True, capture_output=True)
    app = create_app({**cfg, "INSTANCE_PATH": str(inst)})
    with app.app_context():
        f.agency()
        camp = f.campaign()
        for i in range(args.leads):
            f.lead(camp, f"Shop {i}", email=f"owner{i}@shop{i}.example", domain=f"shop{i}.example")
        db.session.commit()
        t0 = time.perf_counter()
        result = ops.draft_campaign(camp, actor=SYSTEM)
        db.session.commit()
        draft_s = time.perf_counter() - t0
        ids = [m.id for m in result.drafted]
        t0 = time.perf_counter()
        out = ops.approve_many(ids, actor=SYSTEM)
        db.session.commit()
        approve_s = time.perf_counter() - t0
    print(f"leads: {args.leads}")
    print(f"draft_campaign: {len(result.drafted)} drafted in {draft_s:.2f} s "
          f"({len(result.drafted) / draft_s:.0f} leads/s)")
    print(f"approve_many:   {len(out.done)} approved in {approve_s:.2f} s "
          f"({len(out.done) / approve_s:.0f} messages/s)")


if __name__ == "__main__":
    main()
