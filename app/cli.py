"""The ``pitchfast`` console script, built on the Flask CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from flask_migrate.cli import db as migrate_db
from sqlalchemy.exc import InterfaceError, OperationalError

from app import create_app
from app.apikeys.cli import keys_group
from app.audits.cli import audit_command
from app.backup import BackupError, backup_sqlite
from app.campaigns.cli import campaigns_group
from app.config import ConfigError, instance_path, write_instance_config
from app.dnc.cli import dnc_group
from app.jobs.worker import run_consumer
from app.leads.cli import leads_group
from app.outreach import delivery_cli as _delivery_cli  # noqa: F401 (its commands)
from app.outreach.cli import outreach_group
from app.public.cli import public_group
from app.server import PortBusy, exit_with_parent, port_owner, serve_web, watch_parent
from app.users.cli import users_group
from app.webhooks.cli import webhooks_group


def _create_app() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False)
def main() -> None:
    """PitchFast: audit local businesses' websites and pitch them."""


class _DatabaseCommands(click.Group):
    """Flask-Migrate's ``db`` commands, with an unreachable database reported in one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (OperationalError, InterfaceError) as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise click.ClickException(
                f"Cannot reach the database: {reason}. Check that the database server is "
                "running and that DATABASE_URL (instance/config.py or PITCHFAST_DATABASE_URL) "
                "is right."
            ) from None


def _db_group() -> click.Group:
    return _DatabaseCommands("db", commands=migrate_db.commands, callback=migrate_db.callback,
                             params=migrate_db.params, help="Database migrations.")


main.add_command(_db_group())


@main.command("init", with_appcontext=False)
def init_command() -> None:
    """Create the instance folder and its config with a fresh secret key (idempotent)."""
    path = instance_path()
    if write_instance_config(path):
        click.echo(f"Created {path / 'config.py'} with a new secret key.")
    else:
        click.echo(f"{path / 'config.py'} already exists; left unchanged.")


#: Hidden option of ``web`` and ``worker``: the pid of the ``pitchfast run`` to end with.
_PARENT_OPTION = click.option("--parent-pid", type=int, default=None, hidden=True)


@main.command("web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--threads", default=8, type=int, show_default=True)
@_PARENT_OPTION
@with_appcontext
def web_command(host: str, port: int, threads: int, parent_pid: int | None) -> None:
    """Serve the web app with waitress (no worker)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if parent_pid is not None:
        watch_parent(parent_pid)
    try:
        serve_web(app, host, port, threads, announce=click.echo)
    except PortBusy as exc:
        raise click.ClickException(str(exc)) from None


@main.command("worker")
@click.option("--threads", type=int, default=None, help="Worker threads (default WORKER_THREADS).")
@click.option("--no-periodic", is_flag=True,
              help="Do not run periodic tasks (run them on one worker only).")
@_PARENT_OPTION
@with_appcontext
def worker_command(threads: int | None, no_periodic: bool, parent_pid: int | None) -> None:
    """Run the background worker (Huey consumer)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if parent_pid is not None:
        watch_parent(parent_pid)
    try:
        run_consumer(app, threads or app.config["WORKER_THREADS"], periodic=not no_periodic)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("run", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
def run_command(host: str, port: int) -> None:
    """Run web + worker together on the embedded default (SQLite, local files).

    Both are children of this process and end with it, even when it is SIGKILLed.
    """
    owner = port_owner(host, port)
    if owner is not None:  # say so before anything starts, rather than half-starting
        raise click.ClickException(str(PortBusy(host, port, owner)))
    write_instance_config(instance_path())
    app = _create_app()
    with app.app_context():
        upgrade()
    me = os.getpid()
    exe = [sys.executable, "-m", "app.cli"]

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    def _child(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([*exe, *args, "--parent-pid", str(me)],
                                preexec_fn=exit_with_parent(me))  # run starts no threads

    signal.signal(signal.SIGTERM, _stop)
    worker = _child("worker")
    web: subprocess.Popen[bytes] | None = None
    try:
        web = _child("web", "--host", host, "--port", str(port))
        while worker.poll() is None and web.poll() is None:
            time.sleep(0.5)
        if worker.poll() is not None:
            raise click.ClickException(f"the worker stopped (exit code {worker.returncode})")
        raise click.ClickException(f"the web server stopped (exit code {web.returncode})")
    except KeyboardInterrupt:
        click.echo("Stopping…")
    finally:
        # Huey stops gracefully on SIGINT; waitress simply on SIGTERM.
        for proc, sig in ((worker, signal.SIGINT), (web, signal.SIGTERM)):
            if proc is not None and proc.poll() is None:
                proc.send_signal(sig)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent, integrity-checked copy of the SQLite database to PATH."""
    try:
        size = backup_sqlite(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written to {path} ({size:,} bytes, integrity ok).")


#: Command groups of the features (each feature's ``cli.py``).
for _command in (audit_command, campaigns_group, keys_group, leads_group, users_group,
                 webhooks_group, outreach_group, dnc_group, public_group):
    main.add_command(_command)

if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
