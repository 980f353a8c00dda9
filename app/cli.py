"""The ``pitchfast`` console script, built on the Flask CLI."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from app.config import ConfigError, instance_path, write_instance_config

#: Command groups contributed by feature modules: (module, attribute).
FEATURE_COMMANDS = (
    ("app.audits.cli", "audit_command"),
    ("app.leads.cli", "campaigns_group"),
    ("app.leads.cli", "leads_group"),
)


def _create_app():
    from app import create_app

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

    def invoke(self, ctx: click.Context):
        from sqlalchemy.exc import InterfaceError, OperationalError

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
    from flask_migrate.cli import db as migrate_db

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


@main.command("web")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--threads", default=8, type=int, show_default=True)
@with_appcontext
def web_command(host: str, port: int, threads: int) -> None:
    """Serve the web app with waitress (no worker)."""
    from waitress import serve

    click.echo(f"PitchFast is running at http://{host}:{port}/")
    serve(current_app._get_current_object(), host=host, port=port, threads=threads,  # type: ignore[attr-defined]
          ident="PitchFast")


@main.command("worker")
@click.option("--threads", type=int, default=None, help="Worker threads (default WORKER_THREADS).")
@click.option("--no-periodic", is_flag=True,
              help="Do not run periodic tasks (run them on one worker only).")
@with_appcontext
def worker_command(threads: int | None, no_periodic: bool) -> None:
    """Run the background worker (Huey consumer)."""
    from app.jobs.queue import run_consumer

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        run_consumer(app, threads or app.config["WORKER_THREADS"], periodic=not no_periodic)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("run", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
def run_command(host: str, port: int) -> None:
    """Run web + worker together on the embedded default (SQLite, local files)."""
    write_instance_config(instance_path())
    app = _create_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    exe = [sys.executable, "-m", "app.cli"]

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    worker = subprocess.Popen([*exe, "worker"])
    try:
        web = subprocess.Popen([*exe, "web", "--host", host, "--port", str(port)])
        while worker.poll() is None and web.poll() is None:
            time.sleep(0.5)
        if worker.poll() is not None:
            raise click.ClickException(f"the worker stopped (exit code {worker.returncode})")
        raise click.ClickException(f"the web server stopped (exit code {web.returncode})")
    except KeyboardInterrupt:
        click.echo("Stopping…")
    finally:
        # Huey stops gracefully on SIGINT; waitress simply on SIGTERM.
        for proc, sig in ((worker, signal.SIGINT), (locals().get("web"), signal.SIGTERM)):
            if proc is not None and proc.poll() is None:
                proc.send_signal(sig)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


@main.group("users")
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
    from app.auth import AuthError, create_user
    from app.extensions import db

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, password, role, name)
        db.session.commit()
    except AuthError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role.value} {user.email}.")


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent, integrity-checked copy of the SQLite database to PATH."""
    from app.backup import BackupError, backup_sqlite

    try:
        size = backup_sqlite(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written to {path} ({size:,} bytes, integrity ok).")


def _add_feature_commands() -> None:
    for module_name, attr in FEATURE_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # feature not built yet
            raise
        main.add_command(getattr(module, attr))


_add_feature_commands()

if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
