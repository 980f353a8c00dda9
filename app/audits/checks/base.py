"""Check registry: pure functions over collected data, each producing one Finding.

A check function takes the ``AuditData`` mapping and returns an ``Outcome``. It raises
``NotChecked`` when its input is missing, so the finding leaves the score's denominator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.audits.document import Finding

log = logging.getLogger(__name__)

AuditData = dict[str, Any]


class NotChecked(Exception):  # noqa: N818 - reads as an outcome, not an error
    """Raised by a check whose input data is unavailable."""


@dataclass
class Outcome:
    """What a check function returns; the runner adds id, category and severity."""

    outcome: str
    title: str
    detail: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    severity: str | None = None


@dataclass(frozen=True)
class CheckSpec:
    """A registered check."""

    id: str
    category: str
    severity: str
    fn: Callable[[AuditData], Outcome]


REGISTRY: dict[str, CheckSpec] = {}


def check(check_id: str, category: str, severity: str) -> Callable[[Callable], Callable]:
    """Register a check function under its stable catalogue id."""

    def deco(fn: Callable[[AuditData], Outcome]) -> Callable[[AuditData], Outcome]:
        REGISTRY[check_id] = CheckSpec(check_id, category, severity, fn)
        return fn

    return deco


def run_check(spec: CheckSpec, data: AuditData) -> Finding:
    """Run one check; a missing input or a bug becomes ``not_checked``, never a crash."""
    try:
        out = spec.fn(data)
    except NotChecked as exc:
        out = Outcome("not_checked", "Could not be checked", str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken check must not sink the audit
        log.exception("check %s failed", spec.id)
        out = Outcome("not_checked", "Could not be checked", f"internal error: {exc!r}"[:200])
    return Finding(
        id=spec.id,
        category=spec.category,
        outcome=out.outcome,
        severity=out.severity or spec.severity,
        title=out.title,
        detail=out.detail,
        evidence=out.evidence,
    )


def page(data: AuditData, form_factor: str = "desktop") -> dict[str, Any]:
    """The collected page data for a form factor, or NotChecked."""
    pg = data.get(form_factor)
    if not pg:
        raise NotChecked(f"no {form_factor} page data")
    return pg


def ok(title: str, detail: str = "", **evidence: Any) -> Outcome:
    """A passing outcome."""
    return Outcome("pass", title, detail, evidence)


def fail(title: str, detail: str = "", **evidence: Any) -> Outcome:
    """A failing outcome (complete proof required)."""
    return Outcome("fail", title, detail, evidence)


def warn(title: str, detail: str = "", **evidence: Any) -> Outcome:
    """A warning (likely problem, or incomplete proof)."""
    return Outcome("warn", title, detail, evidence)


def info(title: str, detail: str = "", **evidence: Any) -> Outcome:
    """Information that does not count towards the score."""
    return Outcome("info", title, detail, evidence)


def element(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Evidence for one element: selector and page box (CSS px) for annotation."""
    out = {"selector": item.get("selector"), "box": item.get("box")}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out
