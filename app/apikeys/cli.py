"""``pitchfast keys …``: create, list and revoke API keys from the server's shell."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import click
from flask.cli import AppGroup, with_appcontext

from app import activity
from app.apikeys.operations import ApiKeyError, create_key, revoke_key
from app.apikeys.queries import PER_PAGE, count_keys, list_keys
from app.extensions import db
from app.models import ApiKey
from app.models.base import utcnow

keys_group = AppGroup("keys", help="Manage API keys.")
_DAYS = re.compile(r"^(\d{1,5})d$")


def parse_expiry(value: str | None) -> datetime | None:
    """``30d`` (days from now) or a date ``YYYY-MM-DD`` (its midnight, UTC), or None."""
    if not value:
        return None
    value = value.strip()
    days = _DAYS.match(value)
    if days:
        return utcnow() + timedelta(days=int(days.group(1)))
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise click.BadParameter("give a number of days (30d) or a date (2027-01-31)") from None


def _state(row: ApiKey) -> str:
    if row.revoked_at:
        return f"revoked {row.revoked_at:%Y-%m-%d}"
    if row.expires_at and row.expires_at <= utcnow():
        return f"expired {row.expires_at:%Y-%m-%d}"
    return "open" + (f" until {row.expires_at:%Y-%m-%d}" if row.expires_at else "")


@keys_group.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "write"]), required=True,
              help="read: GET only; write: also creates and changes.")
@click.option("--expires", default=None, help="Expiry: days (30d) or a date (YYYY-MM-DD).")
@with_appcontext
def keys_create(name: str, scope: str, expires: str | None) -> None:
    """Create an API key called NAME; prints the key (shown this once) on standard output."""
    try:
        row, key = create_key(name, scope, expires_at=parse_expiry(expires),
                              actor=activity.SYSTEM)
        db.session.commit()
    except ApiKeyError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created API key '{row.name}' (id {row.id}, {scope}). Copy it now: it is "
               "not shown again.", err=True)
    click.echo(key)


@keys_group.command("list")
@click.option("--page", type=click.IntRange(1, 1_000_000), default=1, show_default=True,
              help=f"Which page of {PER_PAGE} keys (open ones first, newest first).")
@with_appcontext
def keys_list(page: int) -> None:
    """List API keys (never the keys themselves: only their first characters)."""
    rows, total = list_keys(offset=(page - 1) * PER_PAGE), count_keys()
    for row in rows:
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        click.echo(f"{row.id}\t{row.prefix}…\t{row.scope.value}\t{_state(row)}\t{used}\t"
                   f"{row.name}")
    if total > PER_PAGE:  # never cut the list silently
        first = (page - 1) * PER_PAGE + 1
        shown = f"{first}–{first + len(rows) - 1}" if rows else "none"
        more = f"; --page {page + 1} for more" if page * PER_PAGE < total else ""
        click.echo(f"Showing {shown} of {total} keys{more}.", err=True)


@keys_group.command("revoke")
@click.argument("key_id", type=click.IntRange(1, 2**63 - 1))
@with_appcontext
def keys_revoke(key_id: int) -> None:
    """Revoke the API key with id KEY_ID (its next request is refused)."""
    row = db.session.get(ApiKey, key_id)
    if row is None:
        raise click.ClickException(f"No API key with id {key_id}.")
    if revoke_key(row, actor=activity.SYSTEM):
        db.session.commit()
        click.echo(f"Revoked API key '{row.name}'.")
    else:
        click.echo(f"API key '{row.name}' was already revoked.")
