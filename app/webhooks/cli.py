"""``pitchfast webhooks …`` commands: the same operations as the admin pages."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app import activity
from app.extensions import db
from app.models import WebhookEndpoint
from app.webhooks import operations
from app.webhooks.events import EVENTS
from app.webhooks.operations import WebhookError

webhooks_group = AppGroup("webhooks", help="Manage webhook endpoints.")


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    found = db.session.get(WebhookEndpoint, endpoint_id)
    if found is None:
        raise click.ClickException(f"No webhook endpoint {endpoint_id}.")
    return found


@webhooks_group.command("add")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True,
              type=click.Choice(EVENTS), help="An event to send (repeat for several).")
@click.option("--description", default=None)
@with_appcontext
def webhooks_add(url: str, events: tuple[str, ...], description: str | None) -> None:
    """Register an endpoint at URL; prints its signing secret once."""
    try:
        issued = operations.create_endpoint(url, events, actor=activity.SYSTEM,
                                            config=current_app.config, description=description)
        db.session.commit()
    except WebhookError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"Added webhook {issued.endpoint.id} → {issued.endpoint.url}")
    click.echo(f"Signing secret (shown only now): {issued.secret}")


@webhooks_group.command("list")
@with_appcontext
def webhooks_list() -> None:
    """List endpoints: id, state, events, URL (and why one is disabled)."""
    for e in db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)):
        state = "enabled" if e.enabled else "disabled"
        click.echo(f"{e.id}\t{state}\t{','.join(e.events)}\t{e.url}"
                   + (f"\t{e.disabled_reason}" if e.disabled_reason else ""))


@webhooks_group.command("test")
@click.argument("endpoint_id", type=click.IntRange(1, 2**63 - 1))
@with_appcontext
def webhooks_test(endpoint_id: int) -> None:
    """Queue a webhook.test delivery to endpoint ENDPOINT_ID."""
    try:
        delivery = operations.send_test(_endpoint(endpoint_id), actor=activity.SYSTEM)
        db.session.commit()
    except WebhookError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"Queued delivery {delivery.public_id} (run {delivery.run_id}).")


@webhooks_group.command("enable")
@click.argument("endpoint_id", type=click.IntRange(1, 2**63 - 1))
@with_appcontext
def webhooks_enable(endpoint_id: int) -> None:
    """Re-enable endpoint ENDPOINT_ID (after it was disabled)."""
    operations.enable_endpoint(_endpoint(endpoint_id), actor=activity.SYSTEM)
    db.session.commit()
    click.echo(f"Webhook {endpoint_id} is enabled.")
