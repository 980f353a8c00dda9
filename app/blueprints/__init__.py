"""The one explicit list of blueprints: the web layer, one package per navigation entry.

Each package's ``bp`` is registered by :func:`register_blueprints` with its URL prefix.
Blueprints never import each other; only this list (and the factory) imports them.
"""

from __future__ import annotations

from types import ModuleType

from flask import Flask

from app.blueprints import (
    api,
    apikeys,
    audits,
    auth,
    campaigns,
    dashboard,
    dnc,
    files,
    leads,
    outreach,
    public,
    runs,
    sending,
    settings,
    unsubscribe,
    users,
    webhooks,
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
    (outreach, "/outreach"),
    (dnc, "/do-not-contact"),
    (public, None),
    (unsubscribe, None),
    (sending, "/sending"),
    (api, "/api/v1"),
    (apikeys, "/api-keys"),
    (webhooks, "/webhooks"),
)


def register_blueprints(app: Flask) -> None:
    """Register each blueprint of :data:`BLUEPRINTS` on ``app``."""
    for package, prefix in BLUEPRINTS:
        app.register_blueprint(package.bp, url_prefix=prefix)
