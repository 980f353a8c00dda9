"""``pitchfast webhooks …``: the same operations as the pages (checks, secret shown once);
the README's verifier snippet works on a real delivery."""

from __future__ import annotations

import re
import time
from pathlib import Path

from webhook_support import execute, run_of

from app.activity import SYSTEM
from app.cli import main
from app.extensions import db
from app.models import WebhookDelivery
from app.webhooks import operations, signing


def test_add_list_test_and_enable_from_the_command_line(app, runner, receiver):
    refused = runner.invoke(main, ["webhooks", "add", "http://10.0.0.1/hook",
                                   "--event", "audit.finished"])
    assert refused.exit_code == 1 and "not a public address" in refused.output
    unknown = runner.invoke(main, ["webhooks", "add", receiver.url(), "--event", "nope"])
    assert unknown.exit_code == 2

    made = runner.invoke(main, ["webhooks", "add", receiver.url(), "--event", "audit.finished",
                                "--event", "audit.failed"])
    assert made.exit_code == 0, made.output
    secret = re.search(r"Signing secret \(shown only now\): (whsec_\S+)", made.output).group(1)
    listed = runner.invoke(main, ["webhooks", "list"])
    assert "enabled\taudit.finished,audit.failed" in listed.output
    assert secret not in listed.output

    queued = runner.invoke(main, ["webhooks", "test", "1"])
    assert queued.exit_code == 0 and "Queued delivery dlv_" in queued.output
    delivery = db.session.query(WebhookDelivery).one()
    assert execute(run_of(delivery.id).id) == "succeeded"
    [got] = receiver.requests
    signing.verify_headers(secret, got.body, got.headers)
    assert runner.invoke(main, ["webhooks", "test", "99"]).exit_code == 1
    assert "is enabled" in runner.invoke(main, ["webhooks", "enable", "1"]).output


def test_the_readme_verifier_accepts_a_real_delivery_and_refuses_a_forged_one(
        app, receiver, make_endpoint):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Webhooks"):]
    start = section.index("```python") + len("```python")
    code = section[start:section.index("```", start)]
    scope: dict = {}
    exec(code, scope)  # noqa: S102 - the README's own snippet, run as a receiver would
    issued = make_endpoint()
    delivery = operations.send_test(issued.endpoint, actor=SYSTEM)
    db.session.commit()
    execute(run_of(delivery.id).id)
    [got] = receiver.requests
    assert scope["verify"](issued.secret, got.body, got.headers)
    assert not scope["verify"](issued.secret, got.body + b" ", got.headers)
    stale = {**got.headers, "X-PitchFast-Timestamp": str(int(time.time()) - 400)}
    assert not scope["verify"](issued.secret, got.body, stale)
    # Forged non-ASCII headers are refused, not a crash (compare_digest refuses such str).
    forged = {**got.headers, "X-PitchFast-Signature": "v1=" + "é" * 64}
    assert not scope["verify"](issued.secret, got.body, forged)
    digits = {**got.headers, "X-PitchFast-Timestamp": "\u0661" * 10}
    assert not scope["verify"](issued.secret, got.body, digits)
