"""The "audit" run handler with runs.execute and the real engine: idempotent re-execution,
lease fencing, permanent versus transient errors, and the final-failure path."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.activity import SYSTEM
from app.audits import operations
from app.extensions import db
from app.jobs import runs
from app.models import (
    Audit,
    AuditStatus,
    Finding,
    Lead,
    LeadStatus,
    Run,
    RunLog,
    RunStatus,
    StoredFile,
)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _queue(lead: Lead) -> int:
    run_id = operations.request_audit(lead, SYSTEM).id
    db.session.commit()  # and no new transaction: SQLite reads take the write lock here
    return run_id


def _make_pending_again(run_id: int) -> None:
    """What the reaper does to a run whose worker vanished (or a manual re-run)."""
    db.session.execute(update(Run).where(Run.id == run_id).values(
        status=RunStatus.PENDING, lease_token=None, not_before=None, max_attempts=9))
    db.session.commit()


@pytest.mark.browser  # the real engine launches Chromium
def test_executing_the_same_run_twice_keeps_one_audit(app, fresh_site, make_lead):
    lead = make_lead(fresh_site.url("/"))
    run_id = _queue(lead)
    assert runs.execute(run_id) == "succeeded"
    audit = db.session.scalar(select(Audit).where(Audit.run_id == run_id))
    findings = _count(Finding, Finding.audit_id == audit.id)
    files = _count(StoredFile, StoredFile.owner_id == audit.id)
    assert findings > 20 and files >= 6

    _make_pending_again(run_id)  # e.g. the worker died after saving, before completing
    assert runs.execute(run_id) == "succeeded"
    db.session.expire_all()
    assert _count(Audit, Audit.run_id == run_id) == 1
    assert _count(Audit, Audit.lead_id == lead.id) == 1
    assert _count(Finding, Finding.audit_id == audit.id) == findings
    dupes = db.session.execute(
        select(Finding.check_id).where(Finding.audit_id == audit.id)
        .group_by(Finding.check_id).having(func.count() > 1)).all()
    assert dupes == []
    assert _count(StoredFile, StoredFile.owner_id == audit.id) == files
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.AUDITED and lead.latest_audit_id == audit.id


@pytest.mark.browser  # the real engine launches Chromium
def test_a_run_whose_lease_was_taken_over_writes_nothing(app, fresh_site, make_lead):
    lead = make_lead(fresh_site.url("/hold"), phone=None)
    run_id = _queue(lead)
    outcome: dict[str, Any] = {}

    def worker() -> None:
        with app.app_context():
            outcome["status"] = runs.execute(run_id)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        # The worker is inside the browser call (no transaction open) when we steal its lease,
        # as the reaper plus another worker would after a long stall.
        assert fresh_site.hit.wait(30)
        db.session.execute(update(Run).where(Run.id == run_id).values(lease_token="another-worker"))
        db.session.commit()
    finally:
        fresh_site.release.set()
        thread.join(90)
    assert outcome["status"] == "lease-lost"
    db.session.expire_all()
    run = db.session.get(Run, run_id)
    assert run.status == RunStatus.RUNNING and run.lease_token == "another-worker"
    audit = db.session.scalar(select(Audit).where(Audit.run_id == run_id))
    assert audit.status == AuditStatus.RUNNING and audit.score is None and audit.snapshot == {}
    assert _count(Finding, Finding.audit_id == audit.id) == 0
    assert _count(StoredFile) == 0
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.QUEUED and lead.score is None and lead.phone is None


@pytest.mark.browser  # the real engine launches Chromium
def test_permanent_error_is_saved_once_and_never_scored(app, fresh_site, make_lead):
    # Redirects to a loopback address that is not allowlisted: the proxy refuses it.
    lead = make_lead(fresh_site.url("/to-blocked"))
    run_id = _queue(lead)
    assert runs.execute(run_id) == "failed"
    db.session.expire_all()
    run = db.session.get(Run, run_id)
    assert run.status == RunStatus.FAILED and run.attempt == 1  # no retry
    assert run.error_code == "blocked_address"
    audit = db.session.scalar(select(Audit).where(Audit.run_id == run_id))
    assert audit.status == AuditStatus.FAILED and audit.error_code == "blocked_address"
    assert audit.score is None and audit.opportunity is None
    assert audit.snapshot["status"] == "blocked_address" and audit.snapshot["scores"] is None
    assert _count(Finding, Finding.audit_id == audit.id) == 0
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.AUDIT_FAILED and lead.score is None
    assert lead.status_reason == "The address points to a private or reserved network."
    assert audit.error_message.startswith(lead.status_reason) and "127.0.0.2" in audit.error_message
    assert lead.latest_audit_id is None


@pytest.mark.browser  # the real engine launches Chromium
def test_transient_error_retries_then_fails_the_lead(app, client, auth, fresh_site, make_lead):
    refused = f"http://127.0.0.1:{fresh_site.refused_port}/"  # allowlisted, nothing listens
    lead = make_lead(refused)
    run_id = _queue(lead)
    assert runs.execute(run_id) == "retry"
    db.session.expire_all()
    run = db.session.get(Run, run_id)
    assert run.status == RunStatus.PENDING and run.error_code == "connection_refused"
    assert run.not_before is not None
    assert db.session.get(Lead, lead.id).status == LeadStatus.QUEUED
    audit = db.session.scalar(select(Audit).where(Audit.run_id == run_id))
    assert audit.status == AuditStatus.RUNNING

    for expected in ("retry", "dead"):
        db.session.execute(update(Run).where(Run.id == run_id).values(not_before=None))
        db.session.commit()
        assert runs.execute(run_id) == expected
    db.session.expire_all()
    run = db.session.get(Run, run_id)
    assert run.status == RunStatus.DEAD and run.attempt == run.max_attempts == 3
    audit = db.session.get(Audit, audit.id)
    assert audit.status == AuditStatus.FAILED and audit.error_code == "connection_refused"
    assert audit.score is None
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.AUDIT_FAILED and lead.score is None
    assert lead.status_reason == "The server refused the connection. (after 3 attempts)"
    assert _count(Audit, Audit.lead_id == lead.id) == 1  # one row across all attempts

    # The panel shows the reason and offers a new audit; the report never shows a score.
    auth.login(role="member")
    panel = client.get(f"/leads/{lead.id}/audit-panel").get_data(as_text=True)
    assert "The server refused the connection." in panel and "Re-audit" in panel
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert "The audit could not run." in page and "connection_refused" in page
    assert "Overall score" not in page


def test_lease_expiry_after_last_attempt_marks_the_lead(app, make_lead):
    lead = make_lead("https://example.com/")  # never contacted: the run is never executed
    run_id = _queue(lead)
    db.session.execute(update(Run).where(Run.id == run_id).values(
        status=RunStatus.RUNNING, attempt=3, lease_token="gone",
        lease_expires_at=Run.created_at))  # a lease that expired long ago
    db.session.commit()
    assert runs.reap()["dead"] == 1
    db.session.expire_all()
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.AUDIT_FAILED
    assert lead.status_reason == "The audit worker stopped before finishing; it was tried 3 times."
    logs = db.session.scalars(select(RunLog.message).where(RunLog.run_id == run_id)).all()
    assert any("lease expired" in m for m in logs)
