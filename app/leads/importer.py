"""CSV import of leads: classification of every row of a file, before anything is written.

Rows are classified as imported, duplicate (same normalised domain in the campaign
or same email), refused (on the do-not-contact list) or bad (with line and reason).
A bad row never costs a good one. :func:`app.leads.operations.import_leads` inserts the
good rows, all or nothing; the dashboard's preview shows the same classification.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from app.audits.operations import allowed_targets
from app.extensions import db
from app.leads import dnc
from app.leads.columns import FIELDS
from app.leads.csvfile import CsvFile
from app.leads.normalize import (
    InvalidValue,
    clean_text,
    email_domain,
    looks_like_formula,
    normalize_email,
    normalize_website,
)
from app.models import Campaign, Lead, LeadStatus
from app.models.base import utcnow


@dataclass
class ImportReport:
    """What happened to every row of a file."""

    total: int = 0
    imported: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    bad: list[dict[str, Any]] = field(default_factory=list)
    blank_lines: int = 0
    formula_cells: int = 0
    encoding: str = ""
    delimiter: str = ","
    filename: str = ""
    committed: bool = False
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)
    good_lines: list[int] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the rows to insert)."""
        data = asdict(self)
        data.pop("rows")
        data.pop("good_lines")
        return data

    def verdicts(self) -> dict[int, tuple[str, str]]:
        """``{line: (kind, reason)}`` for every data line, for the preview table."""
        out: dict[int, tuple[str, str]] = dict.fromkeys(self.good_lines, ("ok", "will be imported"))
        for kind, rows in (
            ("duplicate", self.duplicates),
            ("refused", self.refused),
            ("bad", self.bad),
        ):
            for row in rows:
                out[row["line"]] = (kind, row["reason"])
        return out


def _row_values(record: list[str], mapping: dict[str, int | None]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for fieldname, (label, max_len) in FIELDS.items():
        idx = mapping.get(fieldname)
        raw = record[idx] if idx is not None and idx < len(record) else None
        if fieldname in ("website_url", "email"):
            values[fieldname] = raw
        else:
            values[fieldname] = (
                clean_text(raw, max_len, label.lower())
                if fieldname != "notes"
                else ((raw or "").strip()[:max_len])
            )
    return values


def classify(
    campaign: Campaign, csvfile: CsvFile, mapping: dict[str, int | None], filename: str = ""
) -> ImportReport:
    """Sort every record into good rows (ready to insert), duplicates, refused and bad rows.

    Runs two reads: the campaign's existing domains and emails, and the do-not-contact
    entries matching the file's values.
    """
    report = ImportReport(
        total=len(csvfile.records) + len(csvfile.broken),
        blank_lines=csvfile.blank_lines,
        encoding=csvfile.encoding,
        delimiter=csvfile.delimiter,
        filename=filename,
    )
    mapped = {i for i in mapping.values() if i is not None}
    extra_cols = [(i, h) for i, h in enumerate(csvfile.headers) if i not in mapped and h]
    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, reason in csvfile.broken:
        report.bad.append({"line": line, "reason": reason, "name": ""})
    allow = allowed_targets()
    for line, record in csvfile.records:
        try:
            values = _row_values(record, mapping)
            url, domain = normalize_website(values["website_url"], allow)
            email = normalize_email(values["email"])
        except InvalidValue as exc:
            report.bad.append(
                {"line": line, "reason": str(exc), "name": _preview_name(record, mapping)}
            )
            continue
        if url is None:
            report.bad.append(
                {"line": line, "reason": "missing website", "name": _preview_name(record, mapping)}
            )
            continue
        values.update(website_url=url, domain=domain, email=email)
        values["business_name"] = values["business_name"] or domain
        report.formula_cells += sum(looks_like_formula(v) for v in record)
        values["extra"] = {
            h: record[i] for i, h in extra_cols if i < len(record) and record[i].strip()
        }
        # cells beyond the header line are kept too, named by their position
        for i in range(len(csvfile.headers), len(record)):
            if record[i].strip():
                values["extra"][f"column {i + 1}"] = record[i]
        parsed.append((line, values))

    domains = {v["domain"] for _, v in parsed}
    emails = {v["email"] for _, v in parsed if v["email"]}
    seen_domains, seen_emails = existing_keys(campaign.id)
    blocked = dnc.matching(domains | {email_domain(e) for e in emails}, emails)
    now = utcnow()
    for line, v in parsed:
        entry = {
            "line": line,
            "name": v["business_name"],
            "domain": v["domain"],
            "email": v["email"],
        }
        refusal = dnc.reason_for(blocked, v["domain"], v["email"])
        if refusal:
            report.refused.append({**entry, "reason": refusal})
            continue
        if v["domain"] in seen_domains:
            report.duplicates.append(
                {**entry, "reason": f"domain {v['domain']} is already in the campaign"}
            )
            continue
        if v["email"] and v["email"] in seen_emails:
            report.duplicates.append(
                {**entry, "reason": f"email {v['email']} is already in the campaign"}
            )
            continue
        report.good_lines.append(line)
        seen_domains.add(v["domain"])
        if v["email"]:
            seen_emails.add(v["email"])
        report.rows.append(
            {
                **v,
                "campaign_id": campaign.id,
                "status": LeadStatus.NEW.value,
                "notes": v["notes"] or "",
                "created_at": now,
                "updated_at": now,
                "source": v["source"] or (filename[:120] or "csv import"),
            }
        )
    report.imported = len(report.rows)
    return report


def _preview_name(record: list[str], mapping: dict[str, int | None]) -> str:
    idx = mapping.get("business_name")
    if idx is None:
        idx = mapping.get("website_url")
    return (record[idx] if idx is not None and idx < len(record) else "")[:120]


def existing_keys(campaign_id: int) -> tuple[set[str], set[str]]:
    """The normalised domains and emails already in a campaign (one query)."""
    domains: set[str] = set()
    emails: set[str] = set()
    for domain, email in db.session.execute(
        select(Lead.domain, Lead.email).where(Lead.campaign_id == campaign_id)
    ):
        if domain:
            domains.add(domain)
        if email:
            emails.add(email)
    return domains, emails

