"""Template filters and globals of the audit pages.

Registered app-wide: the lead page (leads feature) includes the audit panel, which uses
``audit_score_class``. Neither runs a query; pages get their data from their route.
"""

from __future__ import annotations

from typing import Any

from app import storage
from app.audits import queries
from app.blueprints.audits.routes import bp


@bp.app_template_filter("audit_score_class")
def audit_score_class(value: Any) -> str:
    """CSS class for a 0–100 score: ``score-good``, ``score-mid``, ``score-bad`` or none."""
    return queries.score_class(value)


@bp.app_template_global("audit_image_url")
def audit_image_url(meta: dict[str, Any] | None) -> str | None:
    """URL of a stored screenshot from its index entry (None when there is no image)."""
    if not meta or not meta.get("key"):
        return None
    return storage.url(str(meta["key"]))


#: Evidence keys staff need but a business owner does not: behind "Technical details".
TECHNICAL_KEYS = frozenset({
    "selector", "box", "html", "summary", "axe_version", "help_url", "impact", "form_factor",
    "viewport", "values", "unit", "worst", "measured_by", "src", "url", "href", "column",
    "kind", "outline", "missing", "desktop", "mobile",
})
#: Element facts shown next to the description, in this order, with their labels.
ELEMENT_FACTS = (
    ("size", "size"), ("shown_at", "shown at"), ("natural_size", "image size"),
    ("file_size", "file size"), ("text", "text"), ("message", "message"), ("line", "line"),
)


@bp.app_template_filter("split_evidence")
def split_evidence(evidence: Any) -> dict[str, Any]:
    """A finding's evidence for the report page: ``elements`` (each a human ``description``
    with a few ``facts``), ``plain`` (other evidence a business owner can read: values with
    units) and ``technical`` (selectors, boxes, HTML, raw numbers: behind a fold)."""
    if not isinstance(evidence, dict):
        return {"elements": [], "plain": {}, "technical": {}}
    elements: list[dict[str, Any]] = []
    technical: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    for key, value in evidence.items():
        if value in (None, "", [], {}):
            continue
        if key in ("elements", "examples", "errors", "large_images", "legacy_format") and (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
            and any(v.get("description") for v in value)
        ):
            for item in value:
                facts = [(label, item[k]) for k, label in ELEMENT_FACTS
                         if item.get(k) not in (None, "") and k != "description"]
                elements.append({"description": item.get("description") or "an element",
                                 "facts": facts[:4]})
            technical[key] = value
        elif key in TECHNICAL_KEYS:
            technical[key] = value
        else:
            plain[key] = value
    if elements and "count" in plain:  # the numbered list says it already
        technical["count"] = plain.pop("count")
    return {"elements": elements, "plain": plain, "technical": technical}


@bp.app_template_filter("evidence_label")
def evidence_label(key: Any) -> str:
    """An evidence key as a label: ``content_width`` → "content width"."""
    return str(key).replace("_", " ")
