"""``pitchfast campaigns …`` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from app import activity
from app.campaigns.operations import CampaignError, create_campaign
from app.campaigns.queries import list_campaigns
from app.extensions import db

campaigns_group = AppGroup("campaigns", help="Manage campaigns.")


@campaigns_group.command("create")
@click.argument("name")
@click.option("--slug", default=None, help="URL name (derived from NAME when omitted).")
@click.option("--niche", default="")
@with_appcontext
def campaigns_create(name: str, slug: str | None, niche: str) -> None:
    """Create a campaign called NAME."""
    try:
        campaign = create_campaign(name, slug, actor=activity.SYSTEM, niche=niche)
        db.session.commit()
    except CampaignError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created campaign {campaign.name} ({campaign.slug}).")


@campaigns_group.command("list")
@with_appcontext
def campaigns_list() -> None:
    """List campaigns with their lead counts."""
    for campaign, n in list_campaigns(include_archived=True):
        click.echo(f"{campaign.slug}\t{campaign.status.value}\t{n} leads\t{campaign.name}")
