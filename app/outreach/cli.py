"""``pitchfast outreach …`` commands: draft a campaign's emails, draft due follow-ups,
approve drafts. They call the same operations as the pages."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from app import activity
from app.campaigns.queries import find_campaign
from app.extensions import db
from app.models import Campaign, User
from app.outreach import operations as ops

outreach_group = AppGroup("outreach", help="Draft and approve outreach emails.")


def _campaign(slug: str) -> Campaign:
    campaign = find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"No campaign with the slug {slug!r}.")
    return campaign


def _report(result: ops.BulkDrafts) -> None:
    click.echo(result.summary)
    for lead in result.without_email:
        click.echo(f"no email\t{lead.id}\t{lead.business_name}")
    for lead, why in result.refused:
        click.echo(f"refused\t{lead.id}\t{why}")


@outreach_group.command("draft")
@click.option("--campaign", "slug", required=True, help="The campaign's slug.")
@with_appcontext
def outreach_draft(slug: str) -> None:
    """Draft the first email for every audited lead of a campaign without one."""
    result = ops.draft_campaign(_campaign(slug), actor=activity.SYSTEM)
    db.session.commit()
    _report(result)


@outreach_group.command("follow-ups")
@click.option("--campaign", "slug", required=True, help="The campaign's slug.")
@with_appcontext
def outreach_follow_ups(slug: str) -> None:
    """Draft the follow-ups that are due (never after a reply, unsubscribe or bounce)."""
    result = ops.draft_follow_ups(_campaign(slug), actor=activity.SYSTEM)
    db.session.commit()
    _report(result)


def _person(email: str) -> activity.Actor:
    """The person approving: an existing, active user (an approval is a person's act)."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with the email {email!r}: approvals are made by "
                                   "a person (pitchfast users list).")
    if not user.active:
        raise click.ClickException(f"{user.email} is deactivated and cannot approve.")
    return activity.Actor.of_user(user)


@outreach_group.command("approve")
@click.argument("ids", nargs=-1, type=click.IntRange(1, 2**63 - 1), required=True)
@click.option("--as", "as_email", required=True, metavar="EMAIL",
              help="Who approves: the email of an existing user (recorded on each message).")
@with_appcontext
def outreach_approve(ids: tuple[int, ...], as_email: str) -> None:
    """Approve drafts by id as a person; each one refused is listed with the reason."""
    out = ops.approve_many(ids, actor=_person(as_email))
    db.session.commit()
    click.echo(out.summary)
    for message, why in out.refused:
        click.echo(f"refused\t{message.id}\t{why}")
