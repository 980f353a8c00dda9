"""PitchFast application factory: it only wires (no tables, no network at start-up)."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

from app.config import instance_path, load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, CLI, hooks and error pages."""
    inst = (test_config or {}).get("INSTANCE_PATH") or str(instance_path())
    app = Flask(__name__, instance_path=inst, instance_relative_config=True)
    load_config(app, test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    from app import database  # noqa: F401  (registers SQLite engine listeners)
    from app.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    from app import models  # noqa: F401
    from app.auth import load_user

    login_manager.user_loader(load_user)

    from app.blueprints import register_blueprints

    register_blueprints(app)

    from app import access, errors, security, storage
    from app.jobs import queue

    app.before_request(access.enforce)
    app.after_request(security.add_headers)
    security.install_log_redaction(app.config)
    errors.register(app)
    storage.init_app(app)
    queue.init_app(app)
    app.jinja_env.globals["app_name"] = "PitchFast"
    from app.templating import register as register_templating

    register_templating(app)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app
