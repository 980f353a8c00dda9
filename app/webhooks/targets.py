"""Webhook URLs are hostile targets, checked like audit targets (RELIABILITY.md §1).

The same network guard as the audit engine (:mod:`app.audits.engine.netguard`): http(s)
only, no user name or password, the default port, no private, loopback, link-local, CGNAT
or metadata address, after resolving the name; exact ``host:port`` pairs in
``WEBHOOK_ALLOW_TARGETS`` are allowed for local testing only (each use is logged). The URL
is checked when an endpoint is registered and again at every delivery attempt, whose
connection goes to exactly the address that check returned
(:func:`app.audits.engine.fetch.send_once`), so a name that resolved to a public address
at registration and to a private one later (DNS rebinding) is refused then.

Tests inject a name resolver (``WEBHOOK_RESOLVER``) and a connect function
(``WEBHOOK_CONNECT``) through the config, as the engine's own tests do.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

from app.audits.engine.fetch import SocketConnect
from app.audits.engine.netguard import TargetError, TargetPolicy, normalize_url

log = logging.getLogger(__name__)

#: Clearer words for webhook URLs than the audit engine's own messages.
MESSAGES = {
    "unsupported_scheme": "A webhook URL must start with https:// (or http://).",
    "userinfo_not_allowed": "A webhook URL may not contain a user name or password.",
    "port_not_allowed": "A webhook URL must use the default port (443 for https, 80 for http).",
    "dns_failure": "could not be looked up; check the host name.",
}


def allow_targets(config: Mapping[str, Any]) -> frozenset[str]:
    """``WEBHOOK_ALLOW_TARGETS`` as the guard takes it."""
    return frozenset(config.get("WEBHOOK_ALLOW_TARGETS") or [])


def policy(config: Mapping[str, Any]) -> TargetPolicy:
    """The guard for webhook connections (with the test resolver, when one is injected)."""
    resolver = config.get("WEBHOOK_RESOLVER")
    return TargetPolicy(allow_targets(config), logger=log,
                        resolver=resolver if hasattr(resolver, "resolve") else None)


def connector(config: Mapping[str, Any]) -> SocketConnect | None:
    """The injected ``connect(ip, port, timeout)`` of the tests, or None (a real socket)."""
    connect = config.get("WEBHOOK_CONNECT")
    return cast("SocketConnect", connect) if callable(connect) else None


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: how a webhook URL is named outside the admin's
    webhook pages. Slack, Zapier or Discord hook URLs carry their secret in the path (or
    the query), so activity, run logs and run errors (which read keys can see through
    ``GET /api/v1/runs/<id>``) show only where the URL points."""
    try:
        parts = urlsplit(url)
        hostport = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "(invalid URL)"
    if not parts.scheme or not hostport:
        return "(invalid URL)"
    return f"{parts.scheme}://{hostport}"


def scrub(text: str, url: str) -> str:
    """``text`` (an error message, say) with ``url`` and its path and query replaced by
    :func:`origin`, wherever they appear."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return text.replace(url, "(invalid URL)") if url else text
    short = origin(url)
    text = text.replace(url, short)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    for piece in (tail, parts.path, parts.query):
        if len(piece) > 1:
            text = text.replace(piece, "/…")
    return text


def explain(exc: TargetError, url: str) -> str:
    """A sentence for people about why ``url`` is refused."""
    if exc.code == "dns_failure":
        host = urlsplit(url if "//" in url else f"//{url}").hostname or url
        return f"{host} {MESSAGES['dns_failure']}"
    if exc.code == "blocked_address":
        return (f"{exc.message} Webhooks may not reach private, loopback, link-local or "
                "cloud metadata addresses.")
    return MESSAGES.get(exc.code, exc.message)


def check_url(raw: str, config: Mapping[str, Any]) -> str:
    """The canonical URL, after its host was resolved and every answer found public;
    :class:`TargetError` otherwise. Looks the name up: call it with no transaction open."""
    guard = policy(config)
    url = normalize_url(raw, guard.allow_targets)
    parts = urlsplit(url)
    guard.check(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    return url
