"""``pitchfast leads …`` commands: CSV import with a report, CSV export."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app import activity
from app.campaigns.queries import find_campaign
from app.extensions import db
from app.leads.columns import detect_mapping
from app.leads.csvfile import CsvRefused, decode, read_csv
from app.leads.importer import classify, rejected_csv
from app.leads.normalize import InvalidValue
from app.leads.operations import import_leads
from app.leads.queries import iter_csv
from app.models import Campaign

leads_group = AppGroup("leads", help="Import and export leads.")


def _campaign(slug: str) -> Campaign:
    campaign = find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"No campaign with slug {slug!r}.")
    return campaign


@leads_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", "slug", required=True, help="Campaign slug.")
@click.option("--dry-run", is_flag=True, help="Report what would happen without importing.")
@click.option("--rejected", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the rows not imported to this CSV file (a problem column first), "
                   "to fix and import again.")
@with_appcontext
def leads_import(file: Path, slug: str, dry_run: bool, rejected: Path | None) -> None:
    """Import leads from a CSV FILE (columns detected from the header line)."""
    campaign = _campaign(slug)
    limit = int(
        current_app.config.get("LEADS_IMPORT_MAX_BYTES") or current_app.config["MAX_CONTENT_LENGTH"]
    )
    try:
        with file.open("rb") as fh:
            data = fh.read(limit + 1)
        parsed = read_csv(data, limit)
        mapping = detect_mapping(parsed.headers)
        if dry_run:
            report = classify(campaign, parsed, mapping, file.name)
            db.session.rollback()
        else:
            report = import_leads(campaign, parsed, mapping, file.name, actor=activity.SYSTEM)
            db.session.commit()
    except (CsvRefused, InvalidValue) as exc:
        db.session.rollback()
        raise click.ClickException(f"{file.name}: {exc} Nothing was imported.") from None
    except Exception as exc:
        db.session.rollback()
        raise click.ClickException(
            f"{file.name}: the import failed ({exc}); nothing was imported."
        ) from None
    cols = ", ".join(f"{k}={parsed.headers[i]!r}" for k, i in mapping.items() if i is not None)
    click.echo(f"Columns: {cols} (encoding {report.encoding}, separator {report.delimiter!r})")
    verb = "Would import" if dry_run else "Imported"
    click.echo(
        f"{verb} {report.imported} of {report.total} rows; {len(report.duplicates)} duplicates, "
        f"{len(report.refused)} on the do-not-contact list, {len(report.bad)} bad rows."
    )
    for kind, rows in (
        ("duplicate", report.duplicates),
        ("refused", report.refused),
        ("bad", report.bad),
    ):
        for row in rows:
            click.echo(f"  line {row['line']}: {kind}: {row['reason']}")
    if rejected is not None:
        lines = decode(data)[0].splitlines() if parsed.broken else None
        rejected.write_text(rejected_csv(parsed, report, lines), encoding="utf-8", newline="")
        n = len(report.bad) + len(report.refused) + len(report.duplicates)
        click.echo(f"Wrote the {n} rows not imported to {rejected}.")


@leads_group.command("export")
@click.option("--campaign", "slug", required=True, help="Campaign slug.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (standard output when omitted).",
)
@with_appcontext
def leads_export(slug: str, out: Path | None) -> None:
    """Export a campaign's leads as CSV (formula cells neutralised)."""
    campaign = _campaign(slug)
    if out is None:
        for line in iter_csv(campaign.id):
            click.echo(line, nl=False)
        return
    n = -1
    with out.open("w", encoding="utf-8", newline="") as fh:
        for line in iter_csv(campaign.id):
            fh.write(line)
            n += 1
    click.echo(f"Exported {n} leads to {out}.", err=True)
