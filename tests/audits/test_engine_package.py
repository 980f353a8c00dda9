"""The engine package's public names, and Playwright staying out of the web process."""

from __future__ import annotations

import subprocess
import sys

import pytest

import app.audits.engine as engine


def test_public_names_resolve_to_their_modules():
    from app.audits.engine.browser import EngineConfig
    from app.audits.engine.runner import AuditEngine, config_from_mapping, get_engine

    assert engine.AuditEngine is AuditEngine and engine.EngineConfig is EngineConfig
    assert engine.get_engine is get_engine and engine.config_from_mapping is config_from_mapping
    assert all(getattr(engine, name) is not None for name in engine.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        engine.nope  # noqa: B018


def test_the_web_side_of_audits_never_loads_playwright():
    """Validating URLs, requesting audits, the pages and the run handler's module: none
    of them may import Playwright (only the worker does, on its first audit)."""
    code = (
        "import sys\n"
        "import app.audits.engine, app.audits.operations, app.audits.queries, app.audits.jobs\n"
        "import app.blueprints.audits\n"
        "from app.audits.engine import AuditError, TargetError, normalize_url\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('playwright'))\n"
        "assert not loaded, loaded\n"
        "from app.audits.engine import AuditEngine\n"
        "assert 'playwright.async_api' in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
