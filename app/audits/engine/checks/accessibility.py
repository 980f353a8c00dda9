"""Accessibility findings from axe-core results; axe rule ids are the check ids."""

from __future__ import annotations

from typing import Any

from app.audits.engine.checks.base import axe_elements
from app.audits.engine.document import Finding

CAT = "accessibility"
#: The form factor axe-core runs in: Lighthouse's default (and what its accessibility
#: verdicts, target-size above all, are measured on) is a phone.
AXE_FORM_FACTOR = "mobile"
#: Rules whose verdict is axe-core's but whose finding our own check writes (plain titles,
#: element descriptions, a fallback where one is cheap): ``checks/`` reads them from the
#: axe result, and :func:`axe_findings` leaves them out so no id appears twice.
AXE_OWNED_BY_CHECKS = frozenset(
    {"document-title", "image-alt", "heading-order", "html-has-lang", "html-lang-valid",
     "target-size"}
)
IMPACT_SEVERITY = {"critical": "critical", "serious": "high", "moderate": "medium", "minor": "low"}
# Catalogue rules that always appear in the document, even when inapplicable or not run.
CORE_RULES = {
    "color-contrast": (
        "Text is easy to read against its background",
        "Some text is hard to read against its background",
    ),
    "button-name": ("Buttons have names", "Some buttons have no name for screen readers"),
    "link-name": ("Links have names", "Some links have no name for screen readers"),
    "label": ("Form fields are labelled", "Some form fields have no label"),
    "select-name": ("Drop-down lists are labelled", "Some drop-down lists have no label"),
    "landmark-one-main": (
        "The page marks its main content",
        "The page does not mark its main content",
    ),
    "bypass": (
        "Keyboard users can skip to the content",
        "Keyboard users cannot skip repeated navigation",
    ),
    "frame-title": ("Embedded frames have titles", "Some embedded frames have no title"),
}


def _not_checked(rule: str, reason: str) -> Finding:
    return Finding(rule, CAT, "not_checked", "medium", "Could not be checked", reason)


def axe_findings(axe: dict[str, Any] | None, reason: str = "axe-core did not run") -> list[Finding]:
    """One finding per axe rule that passed or failed, plus the catalogue's core rules."""
    if not axe:
        return [_not_checked(rule, reason) for rule in CORE_RULES]
    out: list[Finding] = []
    seen: set[str] = set()
    seen.update(AXE_OWNED_BY_CHECKS)
    for v in axe.get("violations", []):
        if v["id"] in seen:
            continue
        seen.add(v["id"])
        title = CORE_RULES.get(v["id"], ("", v.get("help") or v["id"]))[1]
        nodes = v.get("nodes", [])
        out.append(
            Finding(
                id=v["id"],
                category=CAT,
                outcome="fail",
                severity=IMPACT_SEVERITY.get(v.get("impact") or "", "medium"),
                title=title,
                detail=f"{v.get('help', '')} — {v.get('count', len(nodes))} element(s). "
                f"{v.get('description', '')}".strip(),
                evidence={
                    "impact": v.get("impact"),
                    "count": v.get("count", len(nodes)),
                    "elements": axe_elements(v),
                    "help_url": v.get("help_url"),
                    "axe_version": axe.get("version"),
                    "form_factor": AXE_FORM_FACTOR,
                },
            )
        )
    for rule in axe.get("passes", []):
        if rule in seen:
            continue
        seen.add(rule)
        title = CORE_RULES.get(rule, (f"Passes axe rule {rule}", ""))[0]
        out.append(
            Finding(rule, CAT, "pass", "low", title, "", {"axe_version": axe.get("version")})
        )
    # Lighthouse passes a rule axe could not decide ("incomplete": needs a person's review).
    for inc in axe.get("incomplete", []):
        rule = inc.get("id")
        if not rule or rule in seen:
            continue
        seen.add(rule)
        title = CORE_RULES.get(rule, (f"Passes axe rule {rule}", ""))[0]
        out.append(
            Finding(
                rule,
                CAT,
                "pass",
                "low",
                title,
                f"axe-core could not decide for {inc.get('count') or 'some'} element(s); "
                "worth a manual look. Lighthouse counts this as a pass.",
                {"axe_version": axe.get("version"), "needs_review": inc.get("count")},
            )
        )
    for rule in CORE_RULES:
        if rule not in seen:
            out.append(
                Finding(
                    rule,
                    CAT,
                    "info",
                    "info",
                    "Not applicable on this page",
                    "No elements this rule applies to.",
                    {"axe_version": axe.get("version"), "not_applicable": True},
                )
            )
    return out


def axe_summary(axe: dict[str, Any] | None) -> dict[str, Any]:
    """Violations grouped by impact, for the plain-words summary on the public page."""
    if not axe:
        return {}
    groups: dict[str, list[str]] = {}
    for v in axe.get("violations", []):
        groups.setdefault(v.get("impact") or "unknown", []).append(v["id"])
    return {
        "version": axe.get("version"),
        "by_impact": groups,
        "incomplete": [i["id"] for i in axe.get("incomplete", [])][:20],
    }
