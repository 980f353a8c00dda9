"""``pitchfast users …``: account commands. They call the same operations as the Users
pages, so they leave the same activity (the actor is the system)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.activity import SYSTEM
from app.extensions import db
from app.users.operations import AccountError, create_user


@click.group("users")
def users_group() -> None:
    """Manage user accounts."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "member"]), default="member", show_default=True)
@click.option("--password", default=None, help="Prompted for when omitted.")
@click.option("--name", default="")
@with_appcontext
def users_create(email: str, role: str, password: str | None, name: str) -> None:
    """Create a user account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, password, role, name, actor=SYSTEM)
        db.session.commit()
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role.value} {user.email}.")
