"""Scores: per category 0–100 from weighted outcomes, overall, and the opportunity score.

``RUBRIC_VERSION`` is recorded on every audit; bump it whenever weights, thresholds or the
check list change, so scores from different rubrics are never compared blindly.
"""

from __future__ import annotations

from typing import Any

from app.audits.engine.document import Finding

RUBRIC_VERSION = "2026.11-2"

SEVERITY_WEIGHT = {"critical": 10.0, "high": 6.0, "medium": 3.0, "low": 1.0, "info": 0.5}
OUTCOME_VALUE = {
    "pass": 1.0,
    "warn": 0.5,
    "fail": 0.0,
}  # info and not_checked leave the denominator
CATEGORY_WEIGHT = {
    "security": 1.0,
    "seo": 1.0,
    "mobile": 1.2,
    "speed": 1.0,
    "accessibility": 0.8,
    "conversion": 1.2,
}
# How much a problem in each category is worth pitching: what a prospect feels first.
PITCH_WEIGHT = {
    "security": 0.8,
    "seo": 1.0,
    "mobile": 1.3,
    "speed": 1.1,
    "accessibility": 0.6,
    "conversion": 1.5,
}
CATEGORIES = tuple(CATEGORY_WEIGHT)
#: A site that is down for every visitor has no score and the highest opportunity there is.
SITE_DOWN_OPPORTUNITY = 100


def category_scores(findings: list[Finding]) -> dict[str, int | None]:
    """0–100 per category; None when nothing in the category could be scored."""
    sums: dict[str, list[float]] = {c: [0.0, 0.0] for c in CATEGORIES}
    for f in findings:
        value = OUTCOME_VALUE.get(f.outcome)
        if value is None or f.category not in sums:
            continue
        w = SEVERITY_WEIGHT.get(f.severity, 1.0)
        sums[f.category][0] += w * value
        sums[f.category][1] += w
    return {c: (round(100 * got / total) if total else None) for c, (got, total) in sums.items()}


def _weighted(scores: dict[str, int | None], weights: dict[str, float]) -> float | None:
    pairs = [(s, weights[c]) for c, s in scores.items() if s is not None]
    total = sum(w for _, w in pairs)
    return sum(s * w for s, w in pairs) / total if total else None


def opportunity(findings: list[Finding]) -> int:
    """0–100: how much there is to pitch (weighted failing checks, saturating)."""
    points = 0.0
    for f in findings:
        if f.outcome in ("fail", "warn"):
            factor = 1.0 if f.outcome == "fail" else 0.4
            points += (
                factor * SEVERITY_WEIGHT.get(f.severity, 1.0) * PITCH_WEIGHT.get(f.category, 1.0)
            )
    # 60 points (e.g. no CTA, no tap-to-call, slow LCP, no HTTPS, a few SEO gaps) ≈ 75.
    return round(100 * points / (points + 20)) if points else 0


def score(findings: list[Finding]) -> dict[str, Any]:
    """The document's ``scores`` section."""
    cats = category_scores(findings)
    overall = _weighted(cats, CATEGORY_WEIGHT)
    return {
        **cats,
        "overall": None if overall is None else round(overall),
        "opportunity": opportunity(findings),
    }
