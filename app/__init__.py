"""PitchFast application factory: it only wires (no tables, no network at start-up)."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import instance_path, load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, run kinds, CLI, hooks and error pages."""
    # The web layer and the extensions are imported here, as in Flask's tutorial factory:
    # importing any ``app.*`` module (the audit engine, say) runs this package's
    # ``__init__``, and that must not load the whole web app. Run kinds register themselves
    # when their module is imported (``*_jobs`` below): listing every such module here
    # means web, worker, CLI and tests all know every kind.
    from app import (
        access,
        database,
        edge,
        errors,
        htmx,
        security,
        storage,
        templating,
        untrusted,
    )
    from app.audits import jobs as _audit_jobs  # noqa: F401
    from app.auth.sessions import load_user
    from app.blueprints import register_blueprints
    from app.extensions import csrf, db, login_manager, migrate
    from app.jobs import builtin as _builtin_jobs  # noqa: F401
    from app.jobs import queue, runs
    from app.outreach import jobs as _outreach_jobs  # noqa: F401
    from app.public import jobs as _public_jobs  # noqa: F401
    from app.upkeep import jobs as _upkeep_jobs  # noqa: F401
    from app.webhooks import jobs as _webhook_jobs  # noqa: F401

    inst = (test_config or {}).get("INSTANCE_PATH") or str(instance_path())
    app = Flask(__name__, instance_path=inst, instance_relative_config=True)
    load_config(app, test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    if app.config["TRUSTED_PROXIES"]:
        # Behind N reverse proxies: take the client address, scheme and host they set, so
        # per-address throttles see real addresses (and nobody can forge them directly).
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)

    edge.init_app(app)  # before the blueprints: their ``<int:…>`` rules use its converter
    register_blueprints(app)

    app.before_request(access.enforce)
    app.after_request(security.add_headers)
    security.install_log_redaction(app.config)
    errors.register(app)
    storage.init_app(app)
    queue.init_app(app, execute=runs.execute)
    templating.register(app)
    htmx.init_app(app)
    untrusted.register(app)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app
