"""Run kinds and their handlers.

A feature registers its kinds with :func:`handler` in its ``jobs.py``; the app factory
imports every such module by name, so every process (web, worker, CLI, tests) knows
every kind before the first run is created or executed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.extensions import db

if TYPE_CHECKING:
    from app.jobs.context import RunContext
    from app.models import Run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handler:
    kind: str
    run: Callable[[RunContext], dict[str, Any] | None]
    #: Given an exception: (error_code, transient?)
    classify: Callable[[BaseException], tuple[str, bool]]
    #: Called (in a savepoint of the transaction that ends the run) when a run ends without
    #: success for good: failed, dead (retries or lease renewals exhausted) or canceled
    #: (code ``"canceled"``). Its own exceptions are logged, never propagated.
    on_final_failure: Callable[[Run, str, str], None] | None = None
    max_attempts: int = 3


HANDLERS: dict[str, Handler] = {}


def default_classify(exc: BaseException) -> tuple[str, bool]:
    """Timeouts and connection errors are transient; everything else is permanent."""
    code = getattr(exc, "code", None)
    code = code if isinstance(code, str) and code else None
    if isinstance(exc, TimeoutError | ConnectionError):
        return (code or ("timeout" if isinstance(exc, TimeoutError) else "connection")), True
    return (code or type(exc).__name__), False


def handler(
    kind: str,
    *,
    classify: Callable[[BaseException], tuple[str, bool]] = default_classify,
    on_final_failure: Callable[[Run, str, str], None] | None = None,
    max_attempts: int = 3,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(ctx) -> result dict`` as the handler for runs of ``kind``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        HANDLERS[kind] = Handler(kind, fn, classify, on_final_failure, max_attempts)
        return fn

    return register


#: Kinds started on a schedule: kind → the config key holding the interval in hours.
PERIODIC: dict[str, str] = {}


def periodic(kind: str, every_hours_key: str) -> None:
    """Start a run of ``kind`` (no subject, no payload) every ``config[every_hours_key]``
    hours, from the one worker that does periodic work (:mod:`app.jobs.periodic`)."""
    PERIODIC[kind] = every_hours_key


def get(kind: str) -> Handler:
    """The handler for ``kind``; KeyError with a clear message otherwise."""
    try:
        return HANDLERS[kind]
    except KeyError:
        raise KeyError(f"no handler registered for run kind {kind!r}") from None


def call_final_failure(h: Handler | None, run: Run, code: str, message: str) -> None:
    """Call the handler's ``on_final_failure`` in a savepoint; its own bug is only logged."""
    if h is None or h.on_final_failure is None:
        return
    try:
        with db.session.begin_nested():
            h.on_final_failure(run, code, message)
    except Exception:
        log.exception("on_final_failure of %s failed for run %s", h.kind, run.id)
