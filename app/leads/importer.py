"""CSV import of leads: classification of every row of a file, before anything is written.

Rows are classified as imported, duplicate (same normalised domain or email as a lead
already in the campaign, or as an earlier row of the same file: each is told apart),
refused (on the do-not-contact list) or bad (with line and reason). A bad row never costs
a good one. :func:`app.leads.operations.import_leads` inserts the good rows, all or
nothing; the dashboard's preview shows the same classification.

The rows not imported can be written back as CSV (:func:`rejected_csv`): their original
cells after an :data:`PROBLEM_HEADER` column that says what was wrong, so people fix them
in a spreadsheet and import that file again (the problem column is ignored then).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from app.audits.operations import allowed_targets
from app.extensions import db
from app.leads import dnc
from app.leads.columns import FIELDS
from app.leads.csvfile import CsvFile
from app.leads.normalize import (
    FORMULA_PREFIXES,
    InvalidValue,
    clean_text,
    email_domain,
    looks_like_formula,
    neutralize_cell,
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
    #: The rows not imported were stored as CSV to download (the dashboard's import).
    rejected_csv: bool = False
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
    extra_cols = [(i, h) for i, h in enumerate(csvfile.headers)
                  if i not in mapped and h and h != PROBLEM_HEADER]
    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, reason in csvfile.broken:
        report.bad.append({"line": line, "reason": reason, "name": ""})
    allow = allowed_targets()
    for line, raw in csvfile.records:
        record = [unquote_formula(cell) for cell in raw]
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
    # The line of the first row of this file with each domain and email (imported or to be).
    file_domains: dict[str, int] = {}
    file_emails: dict[str, int] = {}
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
        duplicate = _duplicate_of(v, seen_domains, seen_emails, file_domains, file_emails)
        if duplicate:
            report.duplicates.append({**entry, **duplicate})
            continue
        report.good_lines.append(line)
        file_domains.setdefault(v["domain"], line)
        if v["email"]:
            file_emails.setdefault(v["email"], line)
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


def _duplicate_of(
    v: dict[str, Any],
    campaign_domains: set[str],
    campaign_emails: set[str],
    file_domains: dict[str, int],
    file_emails: dict[str, int],
) -> dict[str, Any] | None:
    """Why a row is a duplicate (``reason``, and ``of_line`` for an earlier row of the same
    file), or None. The campaign's leads are checked first: that row exists already."""
    domain, email = v["domain"], v["email"]
    if domain in campaign_domains:
        return {"reason": f"domain {domain} is already in the campaign"}
    if email and email in campaign_emails:
        return {"reason": f"email {email} is already in the campaign"}
    if domain in file_domains:
        line = file_domains[domain]
        return {"reason": f"duplicate of line {line} in this file (same domain {domain})",
                "of_line": line}
    if email and email in file_emails:
        line = file_emails[email]
        return {"reason": f"duplicate of line {line} in this file (same email {email})",
                "of_line": line}
    return None


def unquote_formula(cell: str) -> str:
    """Undo :func:`~app.leads.normalize.neutralize_cell`: ``'=SUM(…)`` read back from one
    of our own exports is ``=SUM(…)`` (stored as text, neutralised again on export)."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_PREFIXES):
        return cell[1:]
    return cell


#: The first column of the rejected-rows file; an import ignores a column of that name.
PROBLEM_HEADER = "Import problem"
_KIND_WORDS = {"bad": "Bad row", "refused": "Do not contact", "duplicates": "Duplicate"}


def rejected_csv(csvfile: CsvFile, report: ImportReport, lines: list[str] | None = None) -> str:
    """The rows of ``csvfile`` that ``report`` did not import, as CSV text (with a BOM, the
    file's own separator): a :data:`PROBLEM_HEADER` column ("line 7 · Bad row: missing
    website"), then the row's original cells under the original header. A line that could
    not be parsed at all is split as best it can be from ``lines`` (the file's text lines).
    Cells a spreadsheet would run as formulas are neutralised (an import undoes that)."""
    records = dict(csvfile.records)
    rejected = sorted(
        (row["line"], kind, row["reason"])
        for kind in _KIND_WORDS for row in getattr(report, kind)
    )
    rows = []
    for line, kind, reason in rejected:
        cells = records.get(line)
        if cells is None:
            cells = _split_line(lines, line, csvfile.delimiter)
        rows.append([f"line {line} · {_KIND_WORDS[kind]}: {reason}", *cells])
    width = max([len(csvfile.headers) + 1, *(len(r) for r in rows)])
    header = [PROBLEM_HEADER, *csvfile.headers]
    header += [f"column {i}" for i in range(len(header), width)]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=csvfile.delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralize_cell(c) for c in row] + [""] * (width - len(row)))
    return "\ufeff" + out.getvalue()


def _split_line(lines: list[str] | None, line: int, delimiter: str) -> list[str]:
    if not lines or not 0 < line <= len(lines):
        return []
    try:
        return next(csv.reader([lines[line - 1]], delimiter=delimiter, strict=False), [])
    except csv.Error:
        return [lines[line - 1]]


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

