"""``pitchfast dnc …`` commands: add to, import into and export the do-not-contact list."""

from __future__ import annotations

import sys
from typing import BinaryIO

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app import activity
from app.dnc import operations, queries
from app.extensions import db

dnc_group = AppGroup("dnc", help="Manage the do-not-contact list.")


@dnc_group.command("add")
@click.argument("value")
@click.option("--note", default="", help="Why (kept with the entry).")
@with_appcontext
def dnc_add(value: str, note: str) -> None:
    """Put an email address or a whole domain on the list."""
    try:
        entry = operations.add_entry(value, note=note, actor=activity.SYSTEM)
    except operations.DncError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Added {entry.value}.")


@dnc_group.command("import")
@click.argument("path", type=click.File("rb"))
@click.option("--note", default="", help="Where the list comes from.")
@with_appcontext
def dnc_import(path: BinaryIO, note: str) -> None:
    """Import a suppression list (CSV); bad rows are listed with their line."""
    limit = int(current_app.config.get("LEADS_IMPORT_MAX_BYTES")
                or current_app.config["MAX_CONTENT_LENGTH"])
    try:
        report = operations.import_csv(path.read(limit + 1), max_bytes=limit, note=note,
                                       actor=activity.SYSTEM)
    except operations.DncError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{report.added} added, {report.already} already listed, "
               f"{len(report.errors)} refused")
    for line, value, why in report.errors:
        click.echo(f"line {line}\t{value}\t{why}")


@dnc_group.command("export")
@with_appcontext
def dnc_export() -> None:
    """Write the whole list as CSV to standard output."""
    for line in queries.iter_csv():
        sys.stdout.write(line)
