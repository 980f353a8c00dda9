"""What changed between two audits of the same lead, by check id.

Only outcomes that mean "a problem" (``fail``, ``warn``) count as failing. A check
that failed before and passes now is *fixed*; one failing now that was not failing
before (or did not exist in the older rubric) is *new*; one failing in both is
*still failing* (with both outcomes, so fail → warn shows as an improvement).
Checks that could not run (``not_checked``) or are informational never count as fixed.

Measurements vary from run to run, so a *metric* finding (one whose evidence carries
``metric``: ``value``, ``threshold``, optionally ``spread``) is new or fixed only when its
value moved past the threshold by more than ``max(10 % of the threshold, the spread of the
new measurement)``; a smaller crossing is listed in ``within_noise``, never as new or fixed. The
verdicts themselves stay stateless: this only decides what "what changed" reports.

Plain functions over ``(check_id, outcome, …)`` records: they work on ``Finding``
rows or on the ``checks`` list of a snapshot alike. Every change carries a title (the
finding's, or one made from its id), never just a raw id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FAILING = frozenset({"fail", "warn"})


@dataclass(frozen=True)
class Change:
    """One check that differs (or persists) between two audits."""

    check_id: str
    category: str
    title: str
    severity: str
    before: str | None
    after: str | None


@dataclass
class Changes:
    """The comparison of an audit with its predecessor."""

    previous_id: int | None = None
    fixed: list[Change] = field(default_factory=list)
    new: list[Change] = field(default_factory=list)
    still_failing: list[Change] = field(default_factory=list)
    #: Metric findings that crossed their threshold by less than the noise margin.
    within_noise: list[Change] = field(default_factory=list)

    @property
    def has_previous(self) -> bool:
        """True when there was an earlier audit to compare with."""
        return self.previous_id is not None

    def counts(self) -> dict[str, int]:
        """How many checks are in each bucket."""
        return {"fixed": len(self.fixed), "new": len(self.new),
                "still_failing": len(self.still_failing)}


#: Smallest move past a threshold that counts, as a share of the threshold.
NOISE_SHARE = 0.10


def _record(item: Any) -> dict[str, Any]:
    """Accept a Finding row or a snapshot check dict."""
    if isinstance(item, dict):
        return {"id": item.get("id") or item.get("check_id"), "outcome": item.get("outcome"),
                "category": item.get("category", ""), "title": item.get("title", ""),
                "severity": item.get("severity", ""), "metric": _metric(item.get("evidence"))}
    return {"id": item.check_id, "outcome": item.outcome, "category": item.category,
            "title": item.title, "severity": item.severity,
            "metric": _metric(getattr(item, "evidence", None))}


def _metric(evidence: Any) -> dict[str, float] | None:
    """``{value, threshold, spread}`` from a finding's evidence, when it is a metric."""
    metric = evidence.get("metric") if isinstance(evidence, dict) else None
    if not isinstance(metric, dict):
        return None
    try:
        return {"value": float(metric["value"]), "threshold": float(metric["threshold"]),
                "spread": abs(float(metric.get("spread") or 0))}
    except (KeyError, TypeError, ValueError):
        return None


def margin(after: dict[str, float]) -> float:
    """How far past its threshold a metric must be to count: max(10 % of the threshold, the
    spread of the measurement that claims the move)."""
    return max(NOISE_SHARE * abs(after["threshold"]), after["spread"])


def _clear(after: dict[str, Any], failing: bool) -> bool:
    """Whether ``after`` is clearly on its side of the threshold (True without a metric)."""
    metric: dict[str, float] | None = after.get("metric")
    if metric is None:
        return True
    edge = margin(metric)
    if failing:
        return metric["value"] > metric["threshold"] + edge
    return metric["value"] < metric["threshold"] - edge


def title_of(check_id: str, *titles: str | None) -> str:
    """The first non-empty title, else words made from the id ("Server response time")."""
    for title in titles:
        if title and title.strip():
            return title
    return check_id.replace("-", " ").replace("_", " ").strip().capitalize() or "A check"


def _index(items: Iterable[Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        rec = _record(item)
        if rec["id"]:
            out.setdefault(str(rec["id"]), rec)
    return out


def compare(previous: Iterable[Any] | None, current: Iterable[Any],
            previous_id: int | None = None) -> Changes:
    """Fixed / new / still failing between ``previous`` and ``current`` findings.

    ``previous`` is None when there is no earlier audit: nothing is reported then
    (a first audit has no "new" problems, only problems).
    """
    changes = Changes(previous_id=previous_id)
    if previous is None:
        return changes
    before, after = _index(previous), _index(current)
    for check_id, now in after.items():
        old = before.get(check_id)
        old_outcome = old["outcome"] if old else None
        change = Change(check_id, now["category"],
                        title_of(check_id, now["title"], old["title"] if old else None),
                        now["severity"], old_outcome, now["outcome"])
        if now["outcome"] in FAILING:
            if old_outcome in FAILING:
                changes.still_failing.append(change)
            elif _clear(now, failing=True):
                changes.new.append(change)
            else:
                changes.within_noise.append(change)
        elif now["outcome"] == "pass" and old_outcome in FAILING:
            # Show what the problem was, not the passing title.
            fixed = Change(check_id, now["category"],
                           title_of(check_id, old["title"] if old else None, now["title"]),
                           now["severity"], old_outcome, "pass")
            (changes.fixed if _clear(now, failing=False) else changes.within_noise).append(
                fixed)
    order = {"fail": 0, "warn": 1}
    for bucket in (changes.new, changes.still_failing, changes.fixed, changes.within_noise):
        bucket.sort(key=lambda c: (order.get(c.after or "", 2), c.category, c.check_id))
    return changes
