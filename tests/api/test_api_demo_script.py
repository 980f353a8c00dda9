"""Done when: with a key made by `pitchfast keys create`, scripts/api-demo.sh (curl only)
creates a campaign and a lead, requests an audit, polls the run, reads the result and
publishes it: against the live app, a worker running the real audit engine (Chromium) and
a small site on loopback."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.activity import SYSTEM
from app.campaigns.operations import create_campaign
from app.cli import main
from app.extensions import db
from app.leads.operations import create_lead
from app.models import Activity, Audit, AuditStatus, Lead, Run, RunStatus
from app.public.queries import is_live, link_for_lead

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "api-demo.sh"
PAGE = b"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo Bakery - fresh bread in Springfield</title></head>
<body><h1>Demo Bakery</h1><p>Fresh bread every morning. Call 555 123 4567.</p></body></html>"""


class _Site(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = PAGE if self.path in ("/", "/index.html") else b"not found"
        self.send_response(200 if body is PAGE else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def app_config(app_config, site):
    return {**app_config, "AUDIT_ALLOW_TARGETS": [site], "AUDIT_TIMEOUT_SECONDS": 60}


@pytest.fixture
def worker(app):
    """A worker thread taking runs off the app's queue, as `pitchfast worker` does."""
    from app.audits.engine.runner import config_from_mapping, get_engine
    from app.jobs.queue import get_huey, set_worker_app

    huey, stop = get_huey(app), threading.Event()
    set_worker_app(app)  # tasks run in this app, each in a context of its own

    def loop():
        while not stop.is_set():
            task = huey.dequeue()
            if task is None:
                time.sleep(0.2)
            else:
                huey.execute(task)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(90)
    set_worker_app(None)
    get_engine(config_from_mapping(app.config)).close()


def _other_rows_first() -> None:
    """Five leads and two finished runs of another campaign: the script's lead then gets
    id 6, its run id 3 and its audit id 1, so an id read from the wrong place (the run's
    ``subject.id`` is the lead's) points at nothing or at something else."""
    other = create_campaign("Earlier work", actor=SYSTEM)
    for i in range(5):
        create_lead(other, {"business_name": f"Earlier {i}",
                            "website_url": f"earlier-{i}.example"}, actor=SYSTEM)
    db.session.add_all(Run(kind="noop", status=RunStatus.SUCCEEDED) for _ in range(2))
    db.session.flush()


@pytest.mark.browser  # the worker's real engine launches Chromium
@pytest.mark.slow
def test_the_curl_script_does_the_whole_round(app, runner, live_server, site, worker):
    assert shutil.which("curl"), "curl is installed by scripts/setup"
    made = runner.invoke(main, ["keys", "create", "demo script", "--scope", "write"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    _other_rows_first()  # so lead, run and audit ids all differ: a script mixing them fails
    db.session.commit()  # end the test's transaction: the server and worker write now
    env = {"PATH": os.environ["PATH"], "PITCHFAST_KEY": key, "LC_ALL": "C.UTF-8"}
    out = subprocess.run(["bash", str(SCRIPT), f"http://{site}/", live_server], env=env,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    assert lines["campaign"].startswith("api-demo-")
    assert lines[f"run {lines['audit requested'].split()[-1]}"] == "succeeded"
    assert "image/" in lines["screenshot"] and "/api/v1/files/audits/" in lines["screenshot"]
    assert "/r/" in lines["published"]
    db.session.expire_all()
    lead = db.session.get(Lead, int(lines["lead"]))
    assert lead.business_name == "Demo business"
    audit = db.session.scalar(select(Audit).where(Audit.lead_id == lead.id))
    assert lines["audit requested"] == f"run {audit.run_id}" != f"run {lead.id}"
    assert audit.status == AuditStatus.SUCCEEDED and str(audit.score) in out.stdout
    assert is_live(link_for_lead(lead.id))
    by_key = set(db.session.scalars(select(Activity.verb).where(
        Activity.actor_label == "API key 'demo script'")))
    assert {"campaign.create", "lead.create", "audit.requested", "audit.finished",
            "public.published"} <= by_key
    db.session.commit()  # outside a request a transaction holds SQLite's write lock: end it
    # A wrong key: the script stops with the API's message.
    bad = subprocess.run(["bash", str(SCRIPT), f"http://{site}/", live_server],
                         env={**env, "PITCHFAST_KEY": "pf_" + "x" * 43},
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "HTTP 401" in bad.stderr and "not valid" in bad.stderr
