"""Requesting audits and saving results, without a browser: validation before any run row,
bulk requests, contacts that only fill empty fields, idempotent persistence, diffs."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.activity import SYSTEM
from app.audits import operations, results
from app.audits.engine import diff
from app.audits.engine.document import Finding as DocFinding
from app.audits.engine.document import Screenshot, build_document, error_document
from app.extensions import db
from app.models import (
    Activity,
    Audit,
    AuditStatus,
    Finding,
    Lead,
    LeadStatus,
    Run,
    RunBatch,
    StoredFile,
)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize(("url", "code", "words"), [
    (None, "no_website", "no website"),
    ("", "no_website", "no website"),
    ("javascript:alert(1)", "unsupported_scheme", "Only http and https"),
    ("file:///etc/passwd", "unsupported_scheme", "Only http and https"),
    ("http://user:pw@example.com/", "userinfo_not_allowed", "user name or password"),
    ("http://169.254.169.254/latest/meta-data", "blocked_address", "not a public address"),
    ("http://[::1]/", "blocked_address", "not a public address"),
    ("http://localhost/", "blocked_address", "local name"),
    ("http://example.com:8080/", "port_not_allowed", "Port 8080"),
])
def test_bad_urls_are_refused_before_any_run(app, make_lead, url, code, words):
    lead = make_lead(url)
    with pytest.raises(operations.AuditRequestError) as err:
        operations.request_audit(lead, SYSTEM)
    assert err.value.code == code and words in err.value.message
    db.session.rollback()
    assert _count(Run) == 0 and _count(Activity) == 0
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.NEW and lead.status_reason is None


def test_request_normalizes_and_refuses_duplicates_and_late_statuses(app, make_lead):
    lead = make_lead("Example.COM/Menu?x=1#top")
    run = operations.request_audit(lead, SYSTEM)
    db.session.commit()
    assert run.payload == {"url": "http://example.com/Menu?x=1"}
    assert lead.status == LeadStatus.QUEUED
    with pytest.raises(operations.AuditRequestError, match="already queued"):
        operations.request_audit(lead, SYSTEM)
    contacted = make_lead("https://example.org/", status=LeadStatus.CONTACTED)
    with pytest.raises(operations.AuditRequestError, match="contacted; it cannot be audited"):
        operations.request_audit(contacted, SYSTEM)
    db.session.rollback()
    assert _count(Run) == 1


def test_bulk_request_queues_good_leads_and_lists_refusals(app, make_lead):
    good = [make_lead(f"https://shop{i}.example.com/") for i in range(3)]
    bad = make_lead("http://10.0.0.1/")
    none = make_lead(None)
    busy = make_lead("https://busy.example.com/")
    operations.request_audit(busy, SYSTEM)
    db.session.commit()
    result = operations.request_audits([*good, bad, none, busy], SYSTEM,
                                       campaign_id=good[0].campaign_id)
    db.session.commit()
    assert len(result.runs) == 3 and {r.subject_id for r in result.runs} == {g.id for g in good}
    assert {lead.id: reason for lead, reason in result.refused} == {
        bad.id: "Cannot audit 'http://10.0.0.1/': 10.0.0.1 is not a public address.",
        none.id: "This lead has no website to audit.",
        busy.id: "An audit of this lead is already queued.",
    }
    batch = db.session.get(RunBatch, result.batch.id)
    assert batch.total == 3 and all(r.batch_id == batch.id for r in result.runs)
    assert db.session.get(Lead, bad.id).status == LeadStatus.NEW
    assert _count(Activity, Activity.summary == "3 audits queued, 3 refused") == 1


def test_contacts_fill_empty_fields_only(app, make_lead):
    contacts = {
        "emails": [{"value": "info@gmail-lookalike.test", "source": "text"},
                   {"value": "hello@rosas-1.test", "source": "text"},
                   {"value": "orders@other.test", "source": "mailto"}],
        "phones": [{"value": "5551234567", "source": "text"}, {"value": "+15550001111",
                                                               "source": "tel"}],
    }
    empty = make_lead("https://a.example/", domain="rosas-1.test")
    assert results.fill_contacts(empty, contacts) == ["email", "phone"]
    assert empty.email == "hello@rosas-1.test"  # the site's own domain wins
    assert empty.phone == "+15550001111"  # a tel: link beats text
    typed = make_lead("https://b.example/", email="owner@typed.test", phone="020 7946 0000")
    assert results.fill_contacts(typed, contacts) == []
    assert (typed.email, typed.phone) == ("owner@typed.test", "020 7946 0000")
    half = make_lead("https://c.example/", email="  ", phone="555")
    assert results.fill_contacts(half, {"emails": [], "phones": []}) == []
    assert results.fill_contacts(half, contacts) == ["email"]
    assert half.phone == "555"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 100, 50)).save(out, "JPEG")
    return out.getvalue()


def _result(checks: list[tuple[str, str]]) -> tuple[dict, list[Screenshot]]:
    shots = [Screenshot("desktop-viewport.jpg", "image/jpeg", 40, 30, _jpeg())]
    findings = [DocFinding(cid, "seo", outcome, "medium", f"title {cid}")
                for cid, outcome in checks]
    doc = build_document(
        url="https://a.example/", final_url="https://a.example/", fetched_at="2026-11-22T06:00:00",
        rubric_version="test-1", scores={"seo": 50, "overall": 64, "opportunity": 40},
        metrics={"desktop": {"lcp": 1200}}, findings=findings,
        contacts={"emails": [{"value": "x@a.example", "source": "mailto"}], "phones": []},
        screenshots=shots, timings={"navigate": 10}, extra={"http_status": 200})
    return doc, shots


def _save(run_id: int, lead: Lead, doc: dict, shots: list[Screenshot]) -> Audit:
    audit = results.begin_audit(run_id, lead.id, doc["url"])
    index = {s.name: results.store_screenshot(audit.id, s) for s in shots}
    results.record_result(audit, lead, doc, index, SYSTEM)
    db.session.commit()
    return audit


def test_saving_the_same_result_twice_is_idempotent(app, make_lead):
    lead = make_lead("https://a.example/")
    run = operations.request_audit(lead, SYSTEM)
    db.session.commit()
    doc, shots = _result([("image-alt", "fail"), ("document-title", "pass"), ("canonical", "warn")])
    first = _save(run.id, lead, doc, shots)
    doc2, shots2 = _result([("image-alt", "pass"), ("document-title", "pass")])
    again = _save(run.id, lead, doc2, shots2)
    assert again.id == first.id and _count(Audit) == 1
    rows = dict(db.session.execute(select(Finding.check_id, Finding.outcome)).all())
    assert rows == {"image-alt": "pass", "document-title": "pass"}  # replaced, not appended
    assert _count(StoredFile) == 1 and again.screenshots["desktop-viewport.jpg"]["key"] == (
        f"audits/{first.id}/desktop-viewport.jpg")
    lead = db.session.get(Lead, lead.id)
    assert (lead.status, lead.score, lead.opportunity) == (LeadStatus.AUDITED, 64, 40)
    assert lead.email == "x@a.example" and lead.latest_audit_id == first.id
    assert again.http_status == 200 and again.rubric_version == "test-1"


def test_error_document_is_never_scored(app, make_lead):
    lead = make_lead("https://gone.example/")
    run = operations.request_audit(lead, SYSTEM)
    db.session.commit()
    doc = error_document("https://gone.example/", "dns_failure", "gone.example does not resolve",
                         rubric_version="test-1")
    audit = results.begin_audit(run.id, lead.id, doc["url"])
    results.record_result(audit, lead, doc, {}, SYSTEM)
    db.session.commit()
    assert audit.status == AuditStatus.FAILED and audit.score is None and audit.scores == {}
    assert audit.error_message == ("The domain name could not be looked up (no answer from "
                                   "DNS). (gone.example does not resolve)")
    assert lead.status == LeadStatus.AUDIT_FAILED
    assert lead.status_reason == ("The domain name could not be looked up (no answer from DNS)."
                                  ) and lead.score is None


def test_diff_buckets():
    before = [{"id": "a", "outcome": "fail", "title": "A broken"},
              {"id": "b", "outcome": "warn"}, {"id": "c", "outcome": "pass"},
              {"id": "d", "outcome": "fail"}, {"id": "e", "outcome": "info"}]
    after = [{"id": "a", "outcome": "pass", "title": "A fine"}, {"id": "b", "outcome": "fail"},
             {"id": "c", "outcome": "warn"}, {"id": "d", "outcome": "not_checked"},
             {"id": "e", "outcome": "info"}, {"id": "f", "outcome": "fail"}]
    changes = diff.compare(before, after, previous_id=7)
    assert [c.check_id for c in changes.fixed] == ["a"] and changes.fixed[0].title == "A broken"
    assert sorted(c.check_id for c in changes.new) == ["c", "f"]
    assert [(c.check_id, c.before, c.after) for c in changes.still_failing] == [("b", "warn",
                                                                                 "fail")]
    assert changes.counts() == {"fixed": 1, "new": 2, "still_failing": 1}
    assert not diff.compare(None, after).has_previous


def test_canceling_a_queued_audit_puts_the_lead_back(app, make_lead):
    from app.jobs import runs

    lead = make_lead("https://a.example/")
    run = operations.request_audit(lead, SYSTEM)
    db.session.commit()
    runs.cancel(run)
    db.session.commit()
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.NEW and lead.status_reason == "The audit was canceled."
    audit = db.session.scalar(select(Audit).where(Audit.run_id == run.id))
    assert audit.status == AuditStatus.FAILED and audit.error_code == "canceled"
    assert operations.request_audit(lead, SYSTEM).id != run.id  # can be queued again


def test_a_retried_run_settles_a_failed_lead(app, make_lead):
    """A failed run retried from the Runs page: its success moves audit_failed → audited;
    a lead a person moved on (contacted) keeps its status but gets the new audit."""
    lead = make_lead("https://a.example/", status=LeadStatus.AUDIT_FAILED,
                     status_reason="The domain name does not resolve.")
    moved = make_lead("https://b.example/", status=LeadStatus.CONTACTED)
    doc, shots = _result([("image-alt", "fail")])
    for n, target in enumerate((lead, moved), start=1):
        run = Run(kind="audit", subject_type="lead", subject_id=target.id, payload={})
        db.session.add(run)
        db.session.flush()
        _save(run.id, target, doc, shots if n == 1 else [])
    assert (lead.status, lead.status_reason, lead.score) == (LeadStatus.AUDITED, None, 64)
    assert (moved.status, moved.score) == (LeadStatus.CONTACTED, 64)
