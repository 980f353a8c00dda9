"""Read models for the staff audit pages: findings by category, metrics, screenshots,
history and what changed; the loader for an audit, and the lead audit panel's state (for
the audit pages and the lead page). Plain functions over models; every list is bounded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.audits.engine import diff
from app.audits.operations import ACTIVE, KIND
from app.extensions import db
from app.models import Audit, AuditStatus, Campaign, Finding, Lead, LeadStatus, Run
from app.models.states import can_transition

HISTORY_LIMIT = 25
CATEGORY_LABELS = {
    "conversion": "Conversion", "mobile": "Mobile", "speed": "Speed", "seo": "SEO",
    "accessibility": "Accessibility", "security": "Security",
}
OUTCOME_ORDER = {"fail": 0, "warn": 1, "info": 2, "not_checked": 3, "pass": 4}
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
OUTCOME_LABELS = {"fail": "Fail", "warn": "Warning", "info": "Info", "not_checked": "Not checked",
                  "pass": "Pass"}
# (key, label, unit) — unit "ms", "s", "bytes", "" (plain number) or "text"
METRICS = (
    ("ttfb", "Time to first byte", "ms"), ("fcp", "First contentful paint", "ms"),
    ("lcp", "Largest contentful paint", "ms"), ("cls", "Cumulative layout shift", ""),
    ("dom_content_loaded", "DOM content loaded", "ms"), ("load", "Load event", "ms"),
    ("requests", "Requests", ""), ("bytes", "Bytes transferred", "bytes"),
    ("dom_size", "DOM elements", ""), ("page_height", "Page height (px)", ""),
    ("lcp_element", "LCP element", "text"),
)


def get_audit_or_404(audit_id: int) -> Audit:
    """Load an audit staff may see (every member sees every campaign) or 404."""
    return db.get_or_404(Audit, audit_id)


def score_class(value: Any) -> str:
    """CSS class for a 0–100 score."""
    if not isinstance(value, int | float):
        return "score-none"
    return "score-good" if value >= 80 else "score-mid" if value >= 50 else "score-bad"


def format_metric(value: Any, unit: str) -> str:
    """A metric as people read it."""
    if value is None or value == "":
        return "—"
    if unit == "ms" and isinstance(value, int | float):
        return f"{value / 1000:.2f} s" if value >= 1000 else f"{int(value)} ms"
    if unit == "bytes" and isinstance(value, int | float):
        for size, suffix in ((1 << 20, "MB"), (1 << 10, "KB")):
            if value >= size:
                return f"{value / size:.1f} {suffix}"
        return f"{int(value)} B"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)[:120]


@dataclass
class CategoryGroup:
    """One category's findings, worst first."""

    key: str
    label: str
    score: Any
    problems: list[Finding] = field(default_factory=list)
    passed: list[Finding] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.problems + self.passed:
            out[f.outcome] = out.get(f.outcome, 0) + 1
        return out


TIMING_ORDER = ("navigate", "desktop", "mobile", "server_fetches", "checks", "screenshots")


def timing_rows(audit: Audit) -> list[tuple[str, int]]:
    """The engine's phase timings in a stable order, ``total`` last (derived sums left out)."""
    timings = {k: v for k, v in (audit.timings or {}).items() if isinstance(v, int | float)}
    names = [k for k in TIMING_ORDER if k in timings]
    names += sorted(k for k in timings if k not in names and k not in (
        "total", "checks_and_screenshots"))
    rows = [(k.replace("_", " "), int(timings[k])) for k in names]
    if "total" in timings:
        rows.append(("total", int(timings["total"])))
    return rows


def findings_by_category(audit: Audit) -> list[CategoryGroup]:
    """Findings grouped by category (known categories first), problems before passes."""
    rows = db.session.scalars(select(Finding).where(Finding.audit_id == audit.id)).all()
    groups: dict[str, CategoryGroup] = {}
    scores = audit.scores or {}
    for key in list(CATEGORY_LABELS) + sorted({f.category for f in rows} - set(CATEGORY_LABELS)):
        groups[key] = CategoryGroup(key, CATEGORY_LABELS.get(key, key.title()), scores.get(key))
    for f in sorted(rows, key=lambda f: (OUTCOME_ORDER.get(f.outcome, 5),
                                         SEVERITY_ORDER.get(f.severity, 5), f.check_id)):
        group = groups[f.category]
        (group.passed if f.outcome in ("pass", "not_checked") else group.problems).append(f)
    return [g for g in groups.values() if g.problems or g.passed]


def top_problems(groups: list[CategoryGroup], limit: int = 5) -> list[Finding]:
    """The failures most worth pitching: fails before warnings, then by severity."""
    problems = [f for g in groups for f in g.problems if f.outcome in ("fail", "warn")]
    problems.sort(key=lambda f: (OUTCOME_ORDER.get(f.outcome, 5),
                                 SEVERITY_ORDER.get(f.severity, 5), f.category, f.check_id))
    return problems[:limit]


def metric_rows(audit: Audit) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(form factors, [(label, [value per form factor])]) for the metrics table."""
    metrics = audit.metrics or {}
    forms = [ff for ff in ("desktop", "mobile") if isinstance(metrics.get(ff), dict)]
    rows = []
    for key, label, unit in METRICS:
        values = [metrics[ff].get(key) for ff in forms]
        if any(v not in (None, "") for v in values):
            rows.append((label, [format_metric(v, unit) for v in values]))
    return forms, rows


def screenshots(audit: Audit) -> dict[str, dict[str, Any]]:
    """``{form_factor: {"viewport", "full", "thumbnail": meta, "annotated": [meta]}}``."""
    out: dict[str, dict[str, Any]] = {}
    for meta in (audit.screenshots or {}).values():
        if not isinstance(meta, dict) or not meta.get("key"):
            continue
        ff = out.setdefault(str(meta.get("form_factor") or "desktop"), {"annotated": []})
        kind = str(meta.get("kind") or "viewport")
        if kind == "annotated":
            ff["annotated"].append(meta)
        else:
            ff[kind] = meta
    return {k: out[k] for k in sorted(out, key=lambda k: (k != "desktop", k))}


def lead_history(lead_id: int, limit: int = HISTORY_LIMIT) -> list[Audit]:
    """The lead's audits, newest first (bounded)."""
    return list(db.session.scalars(
        select(Audit).where(Audit.lead_id == lead_id).order_by(Audit.id.desc()).limit(limit)))


def previous_audit(audit: Audit) -> Audit | None:
    """The lead's latest successful audit before ``audit``."""
    if audit.lead_id is None:
        return None
    return db.session.scalar(
        select(Audit).where(Audit.lead_id == audit.lead_id, Audit.id < audit.id,
                            Audit.status == AuditStatus.SUCCEEDED)
        .order_by(Audit.id.desc()).limit(1))


def site_down_view(audit: Audit) -> dict[str, Any] | None:
    """A site-down audit as the pages show it: kind, title, the evidence sentence and the
    evidence as readable rows (every value is the audited site's text: shown escaped)."""
    if audit.status != AuditStatus.SITE_DOWN:
        return None
    found = (audit.snapshot or {}).get("site_down")
    down: dict[str, Any] = found if isinstance(found, dict) else {}
    found_ev = down.get("evidence")
    ev: dict[str, Any] = found_ev if isinstance(found_ev, dict) else {}
    rows: list[tuple[str, str]] = []
    if ev.get("status"):
        rows.append(("Answer", f"HTTP {ev['status']} {ev.get('reason') or ''}".strip()))
    attempts = ev.get("attempts") if isinstance(ev.get("attempts"), list) else []
    if attempts:
        said = []
        for a in attempts[:6]:
            if not isinstance(a, dict):
                continue
            what = f"HTTP {a['status']}" if a.get("status") else str(a.get("error") or "no answer")
            when = "first visit" if a.get("by") == "browser" else f"after {a.get('after_s')} s"
            said.append(f"{what} ({when})")
        rows.append(("Asked", "; ".join(said)))
    for key, label in (("browser_error", "Browser error"), ("explanation", "Meaning"),
                       ("verify_error", "Certificate check"), ("host", "Domain"),
                       ("dns", "DNS answer"), ("server", "Server"), ("url", "Address")):
        if ev.get(key):
            rows.append((label, str(ev[key])[:300]))
    return {"kind": str(down.get("kind") or ""), "title": str(down.get("title") or "Site down"),
            "detail": str(down.get("detail") or ""), "rows": rows}


def changes(audit: Audit) -> diff.Changes:
    """Fixed / new / still failing compared with the previous successful audit."""
    if audit.status != AuditStatus.SUCCEEDED:
        return diff.Changes()
    prev = previous_audit(audit)
    current = db.session.scalars(select(Finding).where(Finding.audit_id == audit.id)).all()
    if prev is None:
        return diff.compare(None, current)
    before = db.session.scalars(select(Finding).where(Finding.audit_id == prev.id)).all()
    return diff.compare(before, current, previous_id=prev.id)


@dataclass
class PanelState:
    """What the lead audit panel shows."""

    lead: Lead
    latest: Audit | None
    run: Run | None

    @property
    def active(self) -> bool:
        """An audit is queued or running: keep polling."""
        return self.run is not None

    @property
    def can_request(self) -> bool:
        """The Audit / Re-audit button is offered."""
        return bool(self.lead.website_url) and self.run is None and can_transition(
            LeadStatus(self.lead.status), LeadStatus.QUEUED)


def panel_state(lead: Lead) -> PanelState:
    """The lead's newest audit (any status) and its active audit run, if any."""
    latest = db.session.scalar(
        select(Audit).where(Audit.lead_id == lead.id).order_by(Audit.id.desc()).limit(1))
    run = db.session.scalar(
        select(Run).where(Run.kind == KIND, Run.subject_type == "lead", Run.subject_id == lead.id,
                          Run.status.in_(ACTIVE)).order_by(Run.id.desc()).limit(1))
    return PanelState(lead, latest, run)


@dataclass
class HistoryRow:
    """One audit in a lead's history with its change from the successful audit before it."""

    audit: Audit
    delta: int | None = None
    counts: dict[str, int] | None = None


def history_rows(lead_id: int, limit: int = HISTORY_LIMIT) -> list[HistoryRow]:
    """The lead's audits, newest first, each compared with the previous successful one."""
    audits = lead_history(lead_id, limit)
    ok_ids = [a.id for a in audits if a.status == AuditStatus.SUCCEEDED]
    by_audit: dict[int, list[dict[str, Any]]] = {i: [] for i in ok_ids}
    if ok_ids:
        # Speed findings carry their measured value ("metric"): the counts apply the same
        # noise margin as "what changed" (evidence of other findings is not needed).
        speed = dict(((a, c), e) for a, c, e in db.session.execute(
            select(Finding.audit_id, Finding.check_id, Finding.evidence)
            .where(Finding.audit_id.in_(ok_ids), Finding.category == "speed")))
        rows = db.session.execute(select(Finding.audit_id, Finding.check_id, Finding.outcome)
                                  .where(Finding.audit_id.in_(ok_ids)))
        for audit_id, check_id, outcome in rows:
            by_audit[audit_id].append({"id": check_id, "outcome": outcome,
                                       "evidence": speed.get((audit_id, check_id))})
    out: list[HistoryRow] = []
    older = [a for a in audits if a.status == AuditStatus.SUCCEEDED]
    for audit in audits:
        row = HistoryRow(audit)
        prev = next((a for a in older if a.id < audit.id), None)
        if audit.status == AuditStatus.SUCCEEDED and prev is not None:
            if audit.score is not None and prev.score is not None:
                row.delta = audit.score - prev.score
            row.counts = diff.compare(by_audit[prev.id], by_audit[audit.id], prev.id).counts()
        out.append(row)
    return out


def report_page(audit: Audit) -> dict[str, Any]:
    """Everything the audit report page shows, as its template context."""
    lead = db.session.get(Lead, audit.lead_id) if audit.lead_id else None
    groups = findings_by_category(audit)
    return {
        "audit": audit,
        "lead": lead,
        "campaign": db.session.get(Campaign, lead.campaign_id) if lead else None,
        "audit_panel": panel_state(lead) if lead else None,
        "groups": groups,
        "top": top_problems(groups),
        "metrics": metric_rows(audit),
        "shots": screenshots(audit),
        "changes": changes(audit),
        "site_down": site_down_view(audit),
        "timings": timing_rows(audit),
        "history": history_rows(lead.id) if lead else [],
    }


def lead_audits_page(lead: Lead) -> dict[str, Any]:
    """The context of a lead's audits page: its panel and its audit history."""
    return {
        "lead": lead,
        "audit": None,  # no audit is "current" in the history table
        "campaign": db.session.get(Campaign, lead.campaign_id),
        "audit_panel": panel_state(lead),
        "history": history_rows(lead.id),
    }
