"""The audit engine: audits one website in a real Chromium and returns a result document.

No Flask and no database here (an import-direction test holds it to that): callers pass
the configuration in (:class:`EngineConfig`, or :func:`config_from_mapping` over the
app's config) and store the :class:`AuditResult` themselves (``app.audits.results``).

Modules:

- ``runner``: :class:`AuditEngine` (one Chromium per process, a fresh context per audit,
  blocking and thread-safe ``audit(url)``), :func:`get_engine`, :func:`config_from_mapping`
- ``pipeline``: one audit, step by step (navigate, collect, check, score, screenshots),
  the measurement slot (page loads measured one at a time) and "site down" audits
- ``browser``: Chromium launch, hardened contexts, page recording, :class:`EngineConfig`
- ``proxy`` and ``netguard``: the network guard (every connection the browser makes goes
  through the proxy, which resolves names itself and refuses private addresses);
  ``fetch``: server-side requests under the same guard
- ``collect`` (+ ``collect.js``), ``contacts``, ``screenshots``, ``checks/``, ``scoring``
- ``document``: the result document (:class:`AuditResult`, error codes, site down);
  ``diff``: what changed between two audits (metric moves within noise left out)

``runner`` and ``browser`` load Playwright, so their names below are imported on first
use (PEP 562): the web process only validates URLs and reads documents, and never loads
Playwright.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from app.audits.engine.document import AuditError, AuditResult, is_transient
from app.audits.engine.netguard import TargetError, normalize_url
from app.audits.engine.scoring import RUBRIC_VERSION

if TYPE_CHECKING:
    from app.audits.engine.browser import EngineConfig
    from app.audits.engine.runner import AuditEngine, config_from_mapping, get_engine

__all__ = [
    "RUBRIC_VERSION",
    "AuditEngine",
    "AuditError",
    "AuditResult",
    "EngineConfig",
    "TargetError",
    "config_from_mapping",
    "get_engine",
    "is_transient",
    "normalize_url",
]

#: Names that need Playwright, and the module that defines each.
_ON_FIRST_USE = {
    "AuditEngine": "runner",
    "config_from_mapping": "runner",
    "get_engine": "runner",
    "EngineConfig": "browser",
}


def __getattr__(name: str) -> Any:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
