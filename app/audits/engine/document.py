"""The audit result document: findings, error codes and the JSON-serialisable snapshot.

The document is the frozen output of one audit. Pages, emails and the CLI render from it,
so its shape is a contract: see ``build_document`` and ``error_document``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("pass", "fail", "warn", "info", "not_checked")
SEVERITIES = ("critical", "high", "medium", "low", "info")

# code -> (plain message, transient?)
ERROR_CODES: dict[str, tuple[str, bool]] = {
    "invalid_url": ("The address is not a valid web address.", False),
    "unsupported_scheme": ("Only http:// and https:// addresses can be audited.", False),
    "userinfo_not_allowed": ("Addresses with a user name or password cannot be audited.", False),
    "port_not_allowed": ("Only the standard web ports can be audited.", False),
    "blocked_address": ("The address points to a private or reserved network.", False),
    # A name that does not exist (NXDOMAIN) is a finished "site down" audit, not this.
    "dns_failure": ("The domain name could not be looked up (no answer from DNS).", True),
    "connection_refused": ("The server refused the connection.", True),
    "connection_failed": ("The server could not be reached.", True),
    "tls_error": ("The site's secure connection (TLS certificate) is broken.", False),
    "timeout": ("The audit took longer than its time limit.", True),
    "navigation_timeout": ("The page did not finish loading within the time limit.", True),
    "page_unresponsive": ("The page's scripts stopped responding.", False),
    "navigation_loop": ("The page keeps reloading or navigating away.", False),
    "redirect_loop": ("The address redirects in a loop.", False),
    "too_many_redirects": ("The address redirects too many times.", False),
    "http_error": ("The server answered with an error status.", True),
    "http_client_error": ("The page does not exist or refuses visitors (HTTP 4xx).", False),
    "budget_exceeded": ("The page is too large to audit (request or byte budget).", False),
    "download": ("The address starts a file download instead of showing a page.", False),
    "browser_crash": ("The audit browser crashed.", True),
    "internal_error": ("The audit failed unexpectedly.", True),
}


#: The status of a finished audit of a site that is broken for every visitor.
SITE_DOWN = "site_down"
#: Kinds of "site down", each with the plain title a business owner reads.
SITE_DOWN_KINDS: dict[str, str] = {
    "http_status": "The website shows an error page instead of the site",
    "certificate": "Browsers show a security warning instead of the website",
    "nxdomain": "The website's address does not exist any more",
}


def is_transient(code: str | None) -> bool:
    """Whether a failed audit with this error code is worth retrying later."""
    if not code or code in ("ok", SITE_DOWN):
        return False
    return ERROR_CODES.get(code, ("", True))[1]


def error_message(code: str) -> str:
    """The plain-language message for an error code."""
    return ERROR_CODES.get(code, ("The audit failed.", True))[0]


class AuditError(Exception):
    """An audit that could not run, with a stable error ``code``."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code if code in ERROR_CODES else "internal_error"
        self.message = message or error_message(self.code)
        super().__init__(f"{self.code}: {self.message}")


class SiteDown(Exception):  # noqa: N818 - an outcome, not an error
    """The site is broken for every visitor: a finished audit of kind ``kind`` (see
    :data:`SITE_DOWN_KINDS`), never a failed one. ``raws`` holds the captures of what a
    visitor sees, by form factor (filled by the pipeline)."""

    def __init__(self, kind: str, detail: str, evidence: dict[str, Any],
                 final_url: str | None = None, http_status: int | None = None) -> None:
        super().__init__(f"site down ({kind}): {detail}")
        self.kind, self.detail, self.evidence = kind, detail, evidence
        self.final_url, self.http_status = final_url, http_status
        self.raws: dict[str, dict[str, Any]] = {}


@dataclass
class Finding:
    """One check's outcome with the evidence behind it."""

    id: str
    category: str
    outcome: str
    severity: str
    title: str
    detail: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        """True for pass, False for fail/warn, None for info/not_checked."""
        if self.outcome == "pass":
            return True
        if self.outcome in ("fail", "warn"):
            return False
        return None

    def as_dict(self) -> dict[str, Any]:
        """The document form of the finding."""
        return {
            "id": self.id,
            "category": self.category,
            "outcome": self.outcome,
            "passed": self.passed,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "evidence": self.evidence,
        }


@dataclass
class Screenshot:
    """Encoded image bytes plus metadata; the caller stores it under ``name``."""

    name: str
    content_type: str
    width: int
    height: int
    data: bytes = field(repr=False)
    kind: str = "viewport"  # viewport | full | thumbnail | annotated
    form_factor: str = "desktop"

    def meta(self) -> dict[str, Any]:
        """Metadata without the bytes."""
        return {
            "name": self.name,
            "content_type": self.content_type,
            "width": self.width,
            "height": self.height,
            "bytes": len(self.data),
            "kind": self.kind,
            "form_factor": self.form_factor,
        }


@dataclass
class AuditResult:
    """What ``AuditEngine.audit`` returns: the document plus screenshot bytes."""

    document: dict[str, Any]
    screenshots: list[Screenshot] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``ok`` or the error code."""
        return str(self.document.get("status"))

    @property
    def ok(self) -> bool:
        """Whether the audit finished with scores."""
        return self.status == "ok"

    @property
    def site_down(self) -> bool:
        """Whether the audit finished finding the site broken for every visitor."""
        return self.status == SITE_DOWN

    @property
    def finished(self) -> bool:
        """Whether the audit finished (scored, or site down): not a failed run."""
        return self.ok or self.site_down

    @property
    def transient(self) -> bool:
        """Whether a failed audit is worth retrying."""
        return is_transient(self.status)


def now_iso() -> str:
    """Current UTC time in ISO 8601."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def error_document(
    url: str,
    code: str,
    message: str | None,
    *,
    rubric_version: str,
    fetched_at: str | None = None,
    timings: dict[str, int] | None = None,
    final_url: str | None = None,
) -> dict[str, Any]:
    """The document for an audit that could not run: no scores, never 0/100."""
    return {
        "url": url,
        "final_url": final_url,
        "status": code,
        "error": message or error_message(code),
        "transient": is_transient(code),
        "fetched_at": fetched_at or now_iso(),
        "rubric_version": rubric_version,
        "scores": None,
        "metrics": {},
        "checks": [],
        "contacts": {},
        "screenshots": [],
        "timings": timings or {},
        "platform": [],
        "js_libraries": [],
    }


def build_document(
    *,
    url: str,
    final_url: str,
    fetched_at: str,
    rubric_version: str,
    scores: dict[str, Any],
    metrics: dict[str, Any],
    findings: list[Finding],
    contacts: dict[str, Any],
    screenshots: list[Screenshot],
    timings: dict[str, int],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The document for a finished audit."""
    doc: dict[str, Any] = {
        "url": url,
        "final_url": final_url,
        "status": "ok",
        "error": None,
        "transient": False,
        "fetched_at": fetched_at,
        "rubric_version": rubric_version,
        "scores": scores,
        "metrics": metrics,
        "checks": [f.as_dict() for f in findings],
        "contacts": contacts,
        "screenshots": [s.meta() for s in screenshots],
        "timings": timings,
    }
    doc.update(extra or {})
    return doc


def site_down_document(
    *,
    url: str,
    final_url: str | None,
    fetched_at: str,
    rubric_version: str,
    kind: str,
    detail: str,
    evidence: dict[str, Any],
    screenshots: list[Screenshot],
    timings: dict[str, int],
    http_status: int | None = None,
) -> dict[str, Any]:
    """The document for a finished audit of a site that is down: no scores (there is no
    site to score), the kind and its evidence, and what a visitor sees."""
    return {
        "url": url,
        "final_url": final_url,
        "status": SITE_DOWN,
        "error": None,
        "transient": False,
        "fetched_at": fetched_at,
        "rubric_version": rubric_version,
        "site_down": {
            "kind": kind,
            "title": SITE_DOWN_KINDS.get(kind, "The website is down"),
            "detail": detail,
            "evidence": evidence,
        },
        "scores": None,
        "metrics": {},
        "checks": [],
        "contacts": {},
        "screenshots": [s.meta() for s in screenshots],
        "timings": timings,
        "platform": [],
        "js_libraries": [],
        "http_status": http_status,
    }
