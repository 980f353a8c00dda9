"""Check registry: pure functions over collected data, each producing one Finding.

A check function takes the ``AuditData`` mapping and returns an ``Outcome``. It raises
``NotChecked`` when its input is missing, so the finding leaves the score's denominator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.audits.engine.document import Finding

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


#: A check: the collected data in, an :class:`Outcome` out (or :class:`NotChecked`).
CheckFn = Callable[[AuditData], Outcome]


@dataclass(frozen=True)
class CheckSpec:
    """A registered check."""

    id: str
    category: str
    severity: str
    fn: CheckFn


REGISTRY: dict[str, CheckSpec] = {}


def check(check_id: str, category: str, severity: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check function under its stable catalogue id."""

    def deco(fn: CheckFn) -> CheckFn:
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
    pg: dict[str, Any] | None = data.get(form_factor)
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


def not_applicable(title: str, detail: str = "", **evidence: Any) -> Outcome:
    """Nothing on the page for this check to judge (Lighthouse's "not applicable"): info,
    marked so the report can fold it away with the passes."""
    return Outcome("info", title, detail, {**evidence, "not_applicable": True})


def describe(item: dict[str, Any]) -> str:
    """The human name of a collected element: 'image "team.jpg"', 'link "Read more"' …"""
    desc = item.get("description")
    if not isinstance(desc, dict):
        return ""
    kind, text = str(desc.get("kind") or "element"), str(desc.get("text") or "").strip()
    nouns = {"image": "image", "link": "link", "button": "button", "field": "form field",
             "heading": "heading", "frame": "embedded frame", "page": "the page", "text": "text"}
    noun = nouns.get(kind, "element")
    if kind == "page":
        return noun
    return f'{noun} "{text[:80]}"' if text else f"{noun} without text"


def element(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Evidence for one element: a human description first (what a business owner would
    call it), then the technical details: selector and page box (CSS px) for annotation."""
    out: dict[str, Any] = {"description": describe(item) or None}
    out.update({"selector": item.get("selector"), "box": item.get("box")})
    out.update({k: v for k, v in extra.items() if v is not None})
    return {k: v for k, v in out.items() if v is not None}


def px(value: float | None) -> str:
    """A length in CSS pixels, as people read it."""
    return "—" if value is None else f"{round(value):,} px"


def size_px(width: float, height: float) -> str:
    """'14 × 14 px'."""
    return f"{round(width)} × {round(height)} px"


def kb(n: float | None) -> str:
    """A byte count in KB (or MB from 1 MB)."""
    if n is None:
        return "—"
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{n / 1024:,.0f} KB" if n >= 10 * 1024 else f"{n / 1024:.1f} KB"


def ms(n: float | None) -> str:
    """A duration: '640 ms', or '2.4 s' from one second."""
    if n is None:
        return "—"
    return f"{n / 1000:.1f} s" if n >= 1000 else f"{round(n)} ms"


#: axe verdicts: ``violation``, ``pass`` (Lighthouse counts "incomplete" as a pass too),
#: ``inapplicable``; ``None`` when axe did not run.
def axe_verdict(data: AuditData, rule: str) -> tuple[str, dict[str, Any] | None] | None:
    """What axe-core decided for ``rule`` in this audit (Lighthouse's reading of it)."""
    axe = data.get("axe")
    if not isinstance(axe, dict):
        return None
    for v in axe.get("violations", []):
        if v.get("id") == rule:
            return "violation", v
    if rule in axe.get("passes", []):
        return "pass", None
    for inc in axe.get("incomplete", []):
        if inc.get("id") == rule:
            return "pass", inc
    if rule in axe.get("inapplicable", []):
        return "inapplicable", None
    return None


def axe_elements(violation: dict[str, Any]) -> list[dict[str, Any]]:
    """Evidence elements for an axe violation: description first, then axe's details."""
    out = []
    for n in violation.get("nodes", []):
        item = {"description": n.get("description"), "selector": n.get("target"),
                "box": n.get("box")}
        out.append(element(item, html=n.get("html"), summary=n.get("summary")))
    return out
