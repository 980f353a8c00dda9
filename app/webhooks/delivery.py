"""One delivery attempt on the wire: the signed request, the guarded POST, and what the
answer means (delivered, retry later, or give up). No database here.

Retries: 5xx, 408 and 429 answers, timeouts, refused or broken connections, TLS failures
and DNS lookups without an answer are worth another attempt (with the runs' backoff);
other 4xx answers, 3xx (redirects are never followed) and refused addresses are not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.audits.engine.fetch import FetchError, FetchNameNotFound, send_once
from app.audits.engine.netguard import NameNotFound, TargetError
from app.untrusted import clean_text
from app.webhooks import signing, targets

USER_AGENT = "PitchFast-Webhooks/1"
#: How much of an endpoint's answer is read (and kept, cleaned, for the delivery log).
MAX_RESPONSE_BYTES = 4096
EXCERPT_CHARS = 500
RETRY_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to."""

    ok: bool
    code: str | None  #: error code when not ok: ``http_500``, ``timeout``, ``blocked_address``…
    message: str
    transient: bool
    status_code: int | None = None
    excerpt: str | None = None
    duration_ms: int = 0


def encode(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys sorted, UTF-8."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False).encode()


def headers(secret: str, body: bytes, *, event: str, delivery_id: str,
            timestamp: int) -> dict[str, str]:
    """The request headers of one attempt, signature included."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-PitchFast-Event": event,
        "X-PitchFast-Delivery": delivery_id,
        "X-PitchFast-Timestamp": str(timestamp),
        "X-PitchFast-Signature": signing.signature(secret, timestamp, body),
    }


def judge(status: int) -> tuple[bool, bool]:
    """(delivered?, worth retrying?) for an HTTP status."""
    if 200 <= status < 300:
        return True, False
    return False, status >= 500 or status in RETRY_STATUSES


def attempt(url: str, secret: str, body: Mapping[str, Any], config: Mapping[str, Any]) -> Attempt:
    """POST ``body`` to ``url`` once, signed with ``secret``, through the network guard."""
    raw = encode(body)
    sent_headers = headers(secret, raw, event=str(body["event"]), delivery_id=str(body["id"]),
                           timestamp=int(time.time()))
    start = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - start) * 1000)

    try:
        result = send_once(url, targets.policy(config), body=raw, headers=sent_headers,
                           timeout=float(config["WEBHOOK_TIMEOUT_SECONDS"]),
                           max_bytes=MAX_RESPONSE_BYTES, connect=targets.connector(config))
    except TargetError as exc:
        # An address refused now (it may have passed at registration: DNS rebinding) is
        # permanent; a lookup without an answer may be ours, so it is retried.
        transient = exc.code == "dns_failure" and not isinstance(exc, NameNotFound)
        return Attempt(False, exc.code, targets.scrub(targets.explain(exc, url), url),
                       transient, duration_ms=took())
    except FetchError as exc:  # its message may name the URL, whose path can be a secret
        # A name that does not exist (NXDOMAIN) will not exist in 15 minutes either: it
        # fails at once; other lookup failures (timeouts, SERVFAIL) may be ours: retried.
        if isinstance(exc, FetchNameNotFound):
            message = targets.explain(NameNotFound(urlsplit(url).hostname or ""), url)
            return Attempt(False, exc.code, message, False, duration_ms=took())
        return Attempt(False, exc.code, targets.scrub(exc.message, url), True,
                       duration_ms=took())
    excerpt = clean_text(result.body.decode("utf-8", "replace"))[:EXCERPT_CHARS] or None
    ok, transient = judge(result.status)
    if ok:
        return Attempt(True, None, f"HTTP {result.status}", False, result.status, excerpt,
                       took())
    if 300 <= result.status < 400:
        message = f"HTTP {result.status}: redirects are not followed; register the final URL."
    else:
        message = f"HTTP {result.status} from the endpoint."
    return Attempt(False, f"http_{result.status}", message, transient, result.status, excerpt,
                   took())
