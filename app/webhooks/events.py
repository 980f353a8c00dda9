"""The one seam through which the rest of the app announces an event to webhooks.

Operations call :func:`emit` inside their transaction (never after a commit); deliveries
are queued for every enabled endpoint subscribed to the event and reach the queue only
once that transaction commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Every event a webhook endpoint can subscribe to.
EVENTS = (
    "audit.finished",
    "audit.failed",
    "page.viewed",
    "outreach.sent",
    "outreach.replied",
    "lead.unsubscribed",
)


def emit(event: str, data: Mapping[str, Any]) -> None:
    """Announce ``event`` with its JSON-serialisable ``data`` (ids and public facts only).

    Placeholder seam until webhook deliveries exist: validates the event name only.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
