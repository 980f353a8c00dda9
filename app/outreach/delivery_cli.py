"""``pitchfast outreach …`` delivery commands (added to the outreach group): send a test
email, pace out approved emails now, resume a paused campaign, settle an email whose
fate is unknown. They call the same operations as the Sending pages."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app import activity, mail
from app.campaigns.queries import find_campaign
from app.extensions import db
from app.models import Outreach
from app.outreach import controls, delivery, pacing
from app.outreach.cli import outreach_group


@outreach_group.command("send-test")
@click.argument("email")
@with_appcontext
def outreach_send_test(email: str) -> None:
    """Send a short test email to EMAIL through the configured SMTP server."""
    try:
        answer = controls.send_test(current_app.config, to=email, actor=activity.SYSTEM)
    except (mail.MailError, controls.DeliveryError) as exc:
        raise click.ClickException(f"Not sent: {exc}") from None
    click.echo(f"Sent to {email} (the server said: {answer}).")


@outreach_group.command("dispatch")
@with_appcontext
def outreach_dispatch() -> None:
    """Pace out approved emails now (the worker does it every minute)."""
    if not delivery.sending_enabled(current_app.config):
        raise click.ClickException(delivery.sending_blocked(current_app.config) or
                                   "Sending is off: set SMTP_HOST (see the README).")
    counts = pacing.dispatch()
    click.echo(f"{counts['queued']} email(s) queued from {counts['campaigns']} campaign(s).")


@outreach_group.command("resume")
@click.argument("slug")
@with_appcontext
def outreach_resume(slug: str) -> None:
    """Resume a campaign's sending after it paused itself."""
    campaign = find_campaign(slug)
    if campaign is None:
        raise click.ClickException(f"No campaign with the slug {slug!r}.")
    try:
        controls.resume(campaign, actor=activity.SYSTEM)
    except controls.DeliveryError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Sending resumed for {campaign.name}.")


@outreach_group.command("settle")
@click.argument("outreach_id", type=click.IntRange(1, 2**63 - 1))
@click.argument("outcome", type=click.Choice(["sent", "failed"]))
@with_appcontext
def outreach_settle(outreach_id: int, outcome: str) -> None:
    """Say what became of an email whose fate is unknown: sent or failed."""
    message = db.session.get(Outreach, outreach_id)
    if message is None:
        raise click.ClickException(f"No email #{outreach_id}.")
    try:
        controls.settle(message, sent=outcome == "sent", actor=activity.SYSTEM)
    except controls.DeliveryError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Email #{outreach_id} marked {outcome}.")
