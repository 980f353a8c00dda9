"""What changed between two audits of the same lead, by check id.

Only outcomes that mean "a problem" (``fail``, ``warn``) count as failing. A check
that failed before and passes now is *fixed*; one failing now that was not failing
before (or did not exist in the older rubric) is *new*; one failing in both is
*still failing* (with both outcomes, so fail → warn shows as an improvement).
Checks that could not run (``not_checked``) or are informational never count as fixed.

Plain functions over ``(check_id, outcome, …)`` records: they work on ``Finding``
rows or on the ``checks`` list of a snapshot alike.
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

    @property
    def has_previous(self) -> bool:
        """True when there was an earlier audit to compare with."""
        return self.previous_id is not None

    def counts(self) -> dict[str, int]:
        """How many checks are in each bucket."""
        return {"fixed": len(self.fixed), "new": len(self.new),
                "still_failing": len(self.still_failing)}


def _record(item: Any) -> dict[str, Any]:
    """Accept a Finding row or a snapshot check dict."""
    if isinstance(item, dict):
        return {"id": item.get("id") or item.get("check_id"), "outcome": item.get("outcome"),
                "category": item.get("category", ""), "title": item.get("title", ""),
                "severity": item.get("severity", "")}
    return {"id": item.check_id, "outcome": item.outcome, "category": item.category,
            "title": item.title, "severity": item.severity}


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
        change = Change(check_id, now["category"], now["title"], now["severity"],
                        old_outcome, now["outcome"])
        if now["outcome"] in FAILING:
            (changes.still_failing if old_outcome in FAILING else changes.new).append(change)
        elif now["outcome"] == "pass" and old_outcome in FAILING:
            # Show what the problem was, not the passing title.
            changes.fixed.append(Change(check_id, now["category"], old["title"] if old else "",
                                        now["severity"], old_outcome, "pass"))
    order = {"fail": 0, "warn": 1}
    for bucket in (changes.new, changes.still_failing, changes.fixed):
        bucket.sort(key=lambda c: (order.get(c.after or "", 2), c.category, c.check_id))
    return changes
