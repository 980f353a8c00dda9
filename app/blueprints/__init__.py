"""The one explicit list of blueprints."""

from __future__ import annotations

from flask import Flask

BLUEPRINTS = (
    ("app.blueprints.auth", None),
    ("app.blueprints.dashboard", None),
    ("app.blueprints.runs", "/runs"),
    ("app.blueprints.users", "/users"),
    ("app.blueprints.settings", "/settings"),
    ("app.blueprints.files", "/files"),
    ("app.blueprints.campaigns", "/campaigns"),
    ("app.blueprints.leads", None),
    ("app.blueprints.audits", None),
    ("app.blueprints.public", None),
)


def register_blueprints(app: Flask) -> None:
    """Import and register each blueprint of :data:`BLUEPRINTS`."""
    import importlib

    for module_name, prefix in BLUEPRINTS:
        module = importlib.import_module(module_name)
        app.register_blueprint(module.bp, url_prefix=prefix)
