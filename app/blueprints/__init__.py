"""The one explicit list of blueprints: the web layer, one package per navigation entry.

Each package's ``bp`` is registered by :func:`register_blueprints` with its URL prefix.
Blueprints never import each other; only this list (and the factory) imports them.
"""

from __future__ import annotations

from types import ModuleType

from flask import Flask

from app.blueprints import (
    audits,
    auth,
    campaigns,
    dashboard,
    files,
    leads,
    runs,
    settings,
    users,
)

#: (blueprint package, URL prefix), in registration order.
BLUEPRINTS: tuple[tuple[ModuleType, str | None], ...] = (
    (auth, None),
    (dashboard, None),
    (runs, "/runs"),
    (users, "/users"),
    (settings, "/settings"),
    (files, "/files"),
    (campaigns, "/campaigns"),
    (leads, None),
    (audits, None),
)


def register_blueprints(app: Flask) -> None:
    """Register each blueprint of :data:`BLUEPRINTS` on ``app``."""
    for package, prefix in BLUEPRINTS:
        app.register_blueprint(package.bp, url_prefix=prefix)
