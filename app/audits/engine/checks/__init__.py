"""All audit checks. ``run_checks`` turns collected data into one Finding per check id."""

from __future__ import annotations

from app.audits.engine.checks import conversion, mobile, security, seo, speed  # noqa: F401 (registers)
from app.audits.engine.checks.accessibility import CORE_RULES, axe_findings
from app.audits.engine.checks.base import REGISTRY, AuditData, run_check
from app.audits.engine.document import Finding

CATEGORIES = ("security", "seo", "mobile", "speed", "accessibility", "conversion")
CATALOGUE_IDS: tuple[str, ...] = (*REGISTRY, *CORE_RULES)


def run_checks(data: AuditData) -> list[Finding]:
    """Every registered check plus axe findings, in catalogue order."""
    findings = [run_check(spec, data) for spec in REGISTRY.values()]
    findings += axe_findings(data.get("axe"), data.get("axe_error") or "axe-core did not run")
    return findings
