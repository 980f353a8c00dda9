"""The "audit" run handler: browser audit outside any transaction, then one fenced save.

Steps of one attempt (each a short transaction or none at all):

1. ``begin`` (fenced): the run's audit row (keyed by run id, so retries reuse it) and the
   lead details the checks compare against.
2. The engine audits the URL in the worker's shared Chromium. No transaction is open.
   The engine's phase timings (navigate, desktop, mobile, checks, screenshots …) are
   logged on the run.
3. A transient error code (timeout, connection refused …) raises, so the run retries
   with backoff; ``on_final_failure`` marks the audit and the lead failed when retries
   run out.
4. Screenshots are written through ``app.storage`` (temp file + rename: a retry just
   overwrites), each metadata row in its own short transaction, after a lease check.
5. ``save`` (fenced, one transaction): audit row, findings (replaced by check id),
   lead status/score/contacts, activity, run completion. A site that is down for every
   visitor is a finished audit too (screenshots, evidence, no score). A permanent error
   code is saved on the audit the same way (never a score), then raised so the run shows
   it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app import activity
from app.activity import Actor
from app.audits import results
from app.audits.engine import AuditError, AuditResult, TargetError, is_transient
from app.audits.operations import AuditRequestError
from app.extensions import db
from app.jobs import registry
from app.jobs.context import RunContext
from app.models import Audit, Lead, Run, User
from app.settings import queries as settings_queries
from app.webhooks.events import emit

log = logging.getLogger(__name__)
#: Engine timing keys logged as phases, in this order (others follow).
PHASES = ("navigate", "desktop", "mobile", "server_fetches", "checks", "screenshots")


def classify(exc: BaseException) -> tuple[str, bool]:
    """(error code, transient?) for an exception raised by the handler."""
    if isinstance(exc, AuditError):
        return exc.code, is_transient(exc.code)
    if isinstance(exc, TargetError | AuditRequestError):
        return exc.code, False
    if isinstance(exc, OperationalError):
        return "database_busy", True
    if isinstance(exc, TimeoutError):
        return "timeout", True
    return "internal_error", True


def on_final_failure(run: Run, code: str, message: str) -> None:
    """Retries exhausted, permanent error or dead lease: audit and lead marked failed, and
    ``audit.failed`` announced to webhooks (in the same transaction; not for a cancel)."""
    results.record_failure(run, code, message)
    audit = db.session.scalar(select(Audit).where(Audit.run_id == run.id))
    if audit is not None and code != "canceled":
        emit("audit.failed", {"audit_id": audit.id, "lead_id": audit.lead_id,
                              "run_id": run.id, "url": audit.url, "error_code": code,
                              "attempts": run.attempt})


def _begin(ctx: RunContext, url: str) -> tuple[int, int | None, dict[str, Any]]:
    with ctx.fenced():
        lead = db.session.get(Lead, ctx.subject_id) if ctx.subject_type == "lead" else None
        if ctx.subject_type == "lead" and lead is None:
            raise AuditRequestError("lead_missing", "The lead no longer exists.")
        audit = results.begin_audit(ctx.run_id, lead.id if lead else None, url)
        details = {"business_name": lead.business_name, "address": lead.address,
                   "city": lead.city, "phone": lead.phone} if lead else {}
        # The agency's country reads phone numbers written without +country (settings).
        details["region"] = settings_queries.get("default_region") or None
        ids = (audit.id, lead.id if lead else None, details)
    return ids


def _engine_audit(url: str, lead: dict[str, Any]) -> AuditResult:
    """Run the engine in the worker's shared Chromium."""
    # Imported here, not at the top: the web process imports this module (the Runs page
    # lists handlers) and must never load Playwright.
    from app.audits.engine.runner import config_from_mapping, get_engine

    config = current_app.config
    engine = get_engine(config_from_mapping(config))
    return engine.audit(url, timeout=float(config["AUDIT_TIMEOUT_SECONDS"]), lead=lead)


def _log_timings(ctx: RunContext, timings: dict[str, Any]) -> None:
    names = [p for p in PHASES if p in timings]
    names += [k for k in timings if k not in names and k not in ("total",
                                                                  "checks_and_screenshots")]
    for name in names + (["total"] if "total" in timings else []):
        value = timings.get(name)
        if isinstance(value, int | float):
            ctx.log(f"{name} ({int(value)} ms)", duration_ms=int(value))


def _requester(run_id: int) -> Actor:
    """Who asked for this run: the finished audit is credited to them (else the system)."""
    run = db.session.get(Run, run_id)
    by = (run.payload or {}).get("requested_by") if run else None
    if isinstance(by, dict) and by.get("kind") == "api_key" and isinstance(by.get("id"), int):
        return Actor("api_key", by["id"], str(by.get("label") or "API key"))
    user = db.session.get(User, run.created_by_id) if run and run.created_by_id else None
    return Actor.of_user(user) if user else activity.SYSTEM


def _store_screenshots(ctx: RunContext, audit_id: int, result: AuditResult) -> dict[str, Any]:
    shots: dict[str, Any] = {}
    for shot in result.screenshots:
        # Fenced per file: the lease check's row lock is held while the file and its
        # metadata row are written, so a worker that lost its lease writes nothing.
        with ctx.fenced():
            shots[shot.name] = results.store_screenshot(audit_id, shot)
    return shots


@registry.handler("audit", classify=classify, on_final_failure=on_final_failure)
def run_audit(ctx: RunContext) -> dict[str, Any]:
    """Audit ``ctx.payload["url"]`` for the lead in ``ctx.subject_id`` and save it."""
    url = str(ctx.payload.get("url") or "")
    audit_id, lead_id, lead_details = _begin(ctx, url)
    db.session.rollback()  # nothing may stay open across the browser call
    ctx.log(f"auditing {url}")
    result = _engine_audit(url, lead_details)
    _log_timings(ctx, result.document.get("timings") or {})
    ctx.check_lease()
    if not result.finished and result.transient:
        raise AuditError(result.status, str(result.document.get("error") or ""))
    with ctx.phase("save"):
        shots = _store_screenshots(ctx, audit_id, result) if result.finished else {}
        with ctx.fenced():
            lead = db.session.get(Lead, lead_id) if lead_id else None
            if lead_id and lead is None:  # deleted while the browser worked (audit went too)
                raise AuditRequestError("lead_missing", "The lead no longer exists.")
            audit = results.begin_audit(ctx.run_id, lead_id, url)
            results.record_result(audit, lead, result.document, shots,
                                  _requester(ctx.run_id))
            summary = {"audit_id": audit.id, "status": result.status, "score": audit.score,
                       "opportunity": audit.opportunity, "final_url": audit.final_url,
                       "checks": len(result.document.get("checks") or []),
                       "screenshots": len(shots)}
            if result.site_down:
                summary["site_down"] = (result.document.get("site_down") or {}).get("kind")
            if result.finished:
                ctx.complete(summary)
                emit("audit.finished", {
                    "audit_id": audit.id, "lead_id": lead_id, "run_id": ctx.run_id,
                    "campaign_id": lead.campaign_id if lead else None, "url": url,
                    "final_url": audit.final_url, "status": result.status,
                    "score": audit.score, "opportunity": audit.opportunity,
                    "site_down": summary.get("site_down")})
    if not result.finished:
        # Saved with its error above; raising marks the run failed (no retry) with the code.
        raise AuditError(result.status, str(result.document.get("error") or ""))
    if result.site_down:
        ctx.log(f"site down: {results.site_down_summary(result.document)}"[:500])
    else:
        ctx.log(f"score {summary['score']}, opportunity {summary['opportunity']}, "
                f"{summary['checks']} checks, {summary['screenshots']} images")
    return summary
