"""``pitchfast public …`` commands: the same operations as the audit and lead pages."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app import activity
from app.extensions import db
from app.models import Audit, Campaign, PublicLink
from app.models.base import utcnow
from app.public import operations, queries

public_group = AppGroup("public", help="Publish, revoke and rotate public audit pages.")


def _link(lead_id: int) -> PublicLink:
    link = queries.link_for_lead(lead_id)
    if link is None:
        raise click.ClickException(f"Lead {lead_id} has no public page.")
    return link


@public_group.command("publish")
@click.argument("audit_id", type=int)
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None,
              help="The link stops working after this many days.")
@with_appcontext
def publish_command(audit_id: int, expires_days: int | None) -> None:
    """Publish audit AUDIT_ID on its lead's public page and print the link."""
    audit = db.session.get(Audit, audit_id)
    if audit is None:
        raise click.ClickException(f"No audit {audit_id}.")
    expires = utcnow() + timedelta(days=expires_days) if expires_days else None
    try:
        link = operations.publish(audit, actor=activity.SYSTEM, expires_at=expires)
    except ValueError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(queries.public_url(link))


@public_group.command("url")
@click.argument("lead_id", type=int)
@with_appcontext
def url_command(lead_id: int) -> None:
    """Print the link of lead LEAD_ID's public page (only while it is live)."""
    link = _link(lead_id)
    if not queries.is_live(link):
        raise click.ClickException(f"Lead {lead_id}'s public page is not live.")
    click.echo(queries.public_url(link))


@public_group.command("revoke")
@click.argument("lead_id", type=int)
@with_appcontext
def revoke_command(lead_id: int) -> None:
    """Revoke lead LEAD_ID's public page: its link stops working at once."""
    operations.revoke(_link(lead_id), actor=activity.SYSTEM)
    db.session.commit()
    click.echo(f"Revoked the public page of lead {lead_id}.")


@public_group.command("rotate")
@click.argument("lead_id", type=int)
@with_appcontext
def rotate_command(lead_id: int) -> None:
    """Give lead LEAD_ID's public page a new link (the old one stops working)."""
    link = operations.rotate(_link(lead_id), actor=activity.SYSTEM)
    db.session.commit()
    click.echo(queries.public_url(link) if queries.is_live(link) else "New link made.")


@public_group.command("publish-finished")
@click.option("--campaign", "slug", required=True, help="Campaign slug.")
@with_appcontext
def publish_finished_command(slug: str) -> None:
    """Publish every finished audit of a campaign that is not live yet (revoked links
    stay revoked; PDFs are made on first download)."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        raise click.ClickException(f"No campaign {slug!r}.")
    count = operations.publish_finished(campaign, actor=activity.SYSTEM)
    db.session.commit()
    click.echo(f"Published {count} audit page{'s' if count != 1 else ''}.")
