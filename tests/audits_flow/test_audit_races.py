"""Two requests racing to audit the same lead queue exactly one run, on SQLite and on
PostgreSQL: the second waits for the first to commit, then is refused with a clear
reason; the database itself refuses a second active run of a kind for a subject."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.activity import SYSTEM
from app.audits import operations
from app.extensions import db
from app.jobs import runs
from app.models import InvalidTransition, Lead, Run, RunStatus


def _active_runs(lead_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Run).where(
            Run.subject_id == lead_id, Run.status.in_((RunStatus.PENDING, RunStatus.RUNNING))
        )
    )


@pytest.mark.parametrize("bulk", [False, True], ids=["one", "bulk"])
def test_racing_requests_queue_one_audit(app, make_lead, bulk):
    lead_id = make_lead("https://race.example/").id
    db.session.rollback()  # this thread holds no transaction while the two race
    first_inside, first_may_commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def request(name: str, hold: bool) -> None:
        try:
            with app.app_context():
                lead = db.session.get(Lead, lead_id)
                if bulk:
                    got = operations.request_audits([lead], SYSTEM)
                    outcome[name] = "queued" if got.runs else got.refused[0][1]
                else:
                    operations.request_audit(lead, SYSTEM)
                    outcome[name] = "queued"
                if hold:
                    first_inside.set()
                    first_may_commit.wait(10)
                db.session.commit()
        except operations.AuditRequestError as exc:
            outcome[name] = exc.message
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome[name] = f"{type(exc).__name__}: {exc}"
        finally:
            first_inside.set()

    a = threading.Thread(target=request, args=("a", True))
    a.start()
    assert first_inside.wait(10)
    b = threading.Thread(target=request, args=("b", False))
    b.start()
    b.join(0.5)  # b must wait for a's transaction, whichever database
    first_may_commit.set()
    a.join(20)
    b.join(20)
    assert outcome["a"] == "queued"
    assert outcome["b"] == "An audit of this lead is already queued.", outcome["b"]
    db.session.rollback()
    assert _active_runs(lead_id) == 1


def test_database_refuses_a_second_active_run_for_a_subject(app, make_lead):
    lead = make_lead("https://twice.example/")
    runs.create("audit", subject=("lead", lead.id), payload={})
    db.session.commit()
    with pytest.raises(IntegrityError):
        runs.create("audit", subject=("lead", lead.id), payload={})
    db.session.rollback()
    # Finished runs, other kinds and runs without a subject are not limited.
    runs.create("noop", subject=("lead", lead.id), payload={})
    runs.create("noop", payload={})
    runs.create("noop", payload={})
    db.session.commit()


def test_retry_refused_while_another_run_for_the_subject_is_active(app, make_lead):
    lead = make_lead("https://retry.example/")
    old = runs.create("audit", subject=("lead", lead.id), payload={})
    db.session.flush()
    old.status, old.error_code = RunStatus.FAILED, "timeout"
    db.session.commit()
    newer = operations.request_audit(lead, SYSTEM)
    db.session.commit()
    with pytest.raises(InvalidTransition, match=f"Run #{newer.id} .* already pending or running"):
        runs.retry(old)
    db.session.rollback()
    assert db.session.get(Run, old.id).status == RunStatus.FAILED
    assert _active_runs(lead.id) == 1
