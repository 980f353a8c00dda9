"""Writing the do-not-contact list by hand: add an address or a whole domain with a
reason, remove one (unsubscribed, bounced and complaint entries only by an admin), import a
suppression list from CSV. Each flushes, never commits, and records its activity."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app import activity
from app.activity import Actor
from app.dnc.queries import PROTECTED
from app.extensions import db
from app.leads.csvfile import CsvRefused, read_csv
from app.leads.normalize import InvalidValue, normalize_domain, normalize_email
from app.models import BlacklistEntry, BlacklistKind, BlacklistReason
from app.untrusted import clean_text
from app.users.queries import acts_as_admin

MAX_NOTE = 500
MAX_IMPORT_ROWS = 100_000
#: Header names read as the value column of an imported list (else the first column).
VALUE_HEADERS = ("email", "e-mail", "email address", "address", "domain", "value")
REASON_HEADERS = ("reason",)
NOTE_HEADERS = ("note", "notes", "comment", "source")


class DncError(ValueError):
    """An entry refused, with a message for the person."""


class NotAllowed(PermissionError):
    """Only an admin may do this."""


def parse_value(raw: str) -> tuple[BlacklistKind, str]:
    """``("email", address)`` for something with a local part, else ``("domain", name)``;
    ``@example.com`` and ``*@example.com`` mean the whole domain. DncError when neither."""
    text = clean_text(raw).strip()
    if not text:
        raise DncError("Enter an email address or a domain.")
    if len(text) > 254:
        raise DncError("That is too long for an email address or a domain.")
    try:
        if text.startswith(("@", "*@")):
            return BlacklistKind.DOMAIN, normalize_domain(text.split("@", 1)[1])
        if "@" in text:
            email = normalize_email(text)
            if email:
                return BlacklistKind.EMAIL, email
        return BlacklistKind.DOMAIN, normalize_domain(text.removeprefix("*."))
    except InvalidValue as exc:
        what = "email address" if "@" in text else "domain"
        raise DncError(f"{text!r} is not a valid {what}: {exc}.") from None


def _existing(kind: BlacklistKind, value: str) -> BlacklistEntry | None:
    return db.session.scalar(select(BlacklistEntry).where(BlacklistEntry.kind == kind,
                                                          BlacklistEntry.value == value))


def add_entry(raw: str, *, actor: Actor, note: str = "",
              reason: BlacklistReason = BlacklistReason.MANUAL) -> BlacklistEntry:
    """Put one address or domain on the list. DncError when invalid or already there."""
    kind, value = parse_value(raw)
    found = _existing(kind, value)
    if found is not None:
        raise DncError(f"{value} is already on the list ({found.reason.value}).")
    entry = BlacklistEntry(kind=kind, value=value, reason=reason, created_by_id=actor.user_id,
                           note=clean_text(note).strip()[:MAX_NOTE])
    db.session.add(entry)
    db.session.flush()
    what = "domain" if kind == BlacklistKind.DOMAIN else "address"
    activity.record(actor, "dnc.add", f"added the {what} {value} to do-not-contact "
                    f"({reason.value}){': ' + entry.note if entry.note else ''}",
                    subject=("dnc", entry.id))
    return entry


def remove_entry(entry: BlacklistEntry, *, actor: Actor, note: str = "") -> None:
    """Take one entry off the list. Unsubscribed, bounced and complaint entries: admins
    only (NotAllowed for anyone else)."""
    reason = BlacklistReason(entry.reason)
    if reason in PROTECTED and not acts_as_admin(actor):
        source = ("the person asked" if reason == BlacklistReason.UNSUBSCRIBED
                  else "reported by the mail system")
        raise NotAllowed(f"{entry.value} is on the list as {reason.value} "
                         f"({source}): only an admin can remove it.")
    value, entry_id = entry.value, entry.id
    db.session.delete(entry)
    db.session.flush()
    why = clean_text(note).strip()[:MAX_NOTE]
    activity.record(actor, "dnc.remove", f"removed {value} ({reason.value}) from "
                    f"do-not-contact{': ' + why if why else ''}", subject=("dnc", entry_id))


@dataclass
class ImportReport:
    added: int = 0
    already: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # line, value, why


def _column(headers: list[str], names: tuple[str, ...]) -> int | None:
    folded = [h.strip().lower() for h in headers]
    for name in names:
        if name in folded:
            return folded.index(name)
    return None


def import_csv(data: bytes, *, actor: Actor, max_bytes: int, note: str = "") -> ImportReport:
    """Add every address or domain of a suppression list (a CSV with a header line; the
    ``email``/``domain``/``value`` column, else the first; an optional ``reason`` column:
    manual, unsubscribed, bounced or complaint). Bad rows are reported by line, good rows
    are added; existing entries are counted, not duplicated. DncError for an unreadable
    file."""
    try:
        parsed = read_csv(data, max_bytes)
    except CsvRefused as exc:
        raise DncError(str(exc)) from None
    value_col = _column(parsed.headers, VALUE_HEADERS)
    header_is_value = value_col is None and "@" in "".join(parsed.headers)
    col = value_col or 0
    reason_col = _column(parsed.headers, REASON_HEADERS)
    note_col = _column(parsed.headers, NOTE_HEADERS)
    records = list(parsed.records)
    if header_is_value:  # no header line: the first line is a value too
        records.insert(0, (1, parsed.headers))
    report = ImportReport()
    report.errors.extend((line, "", why) for line, why in parsed.broken)
    base_note = clean_text(note).strip()[:MAX_NOTE]
    wanted: dict[tuple[BlacklistKind, str], tuple[BlacklistReason, str]] = {}
    for line, row in records[:MAX_IMPORT_ROWS]:
        raw = row[col] if col < len(row) else ""
        try:
            kind, value = parse_value(raw)
        except DncError as exc:
            report.errors.append((line, clean_text(raw)[:100], str(exc)))
            continue
        reason = BlacklistReason.MANUAL
        if reason_col is not None and reason_col < len(row) and row[reason_col].strip():
            try:
                reason = BlacklistReason(row[reason_col].strip().lower())
            except ValueError:
                report.errors.append((line, value, f"unknown reason {row[reason_col]!r}: use "
                                      "manual, unsubscribed, bounced or complaint"))
                continue
        row_note = (clean_text(row[note_col]).strip()[:MAX_NOTE]
                    if note_col is not None and note_col < len(row) else "") or base_note
        wanted.setdefault((kind, value), (reason, row_note))
    if len(records) > MAX_IMPORT_ROWS:
        report.errors.append((records[MAX_IMPORT_ROWS][0], "", f"only the first "
                              f"{MAX_IMPORT_ROWS} rows are read; import the rest separately"))
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for kind in BlacklistKind:
            values = [v for k, v in chunk if k == kind]
            if not values:
                continue
            for value in db.session.scalars(select(BlacklistEntry.value).where(
                    BlacklistEntry.kind == kind, BlacklistEntry.value.in_(values))):
                wanted.pop((kind, value), None)
                report.already += 1
    for (kind, value), (reason, row_note) in wanted.items():
        db.session.add(BlacklistEntry(kind=kind, value=value, reason=reason, note=row_note,
                                      created_by_id=actor.user_id))
        report.added += 1
    db.session.flush()
    activity.record(actor, "dnc.import", f"imported a do-not-contact list: {report.added} "
                    f"added, {report.already} already listed, {len(report.errors)} refused",
                    subject=("dnc", None))
    return report
