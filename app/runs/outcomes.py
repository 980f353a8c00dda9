"""What went wrong with a run, in plain words, and what to do about it.

A run records a stable error code (``dns_failure``) and a technical message
(``… could not be looked up ([Errno -2] Name or service not known)``). People read the
explanation below; the code and the message stay behind the page's "Technical details".
"""

from __future__ import annotations

from dataclasses import dataclass

_RETRY_LATER = "Retry later: this is often temporary."
_CHECK_SITE = "Check the website address on the lead, correct it if needed, then audit again."
_ASK_ADMIN = "Retry; if it happens again, ask an administrator to look at the technical details."


@dataclass(frozen=True)
class Explanation:
    """A failure for people: what happened (one sentence) and what to do."""

    what: str
    todo: str


#: error code → (what happened, what to do). Audit codes first, then the jobs' own.
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "invalid_url": ("The lead's website is not a valid web address.", _CHECK_SITE),
    "unsupported_scheme": ("Only websites starting with http:// or https:// can be audited.",
                           _CHECK_SITE),
    "userinfo_not_allowed": ("The website address contains a user name or password.",
                             "Remove them from the lead's website address, then audit again."),
    "port_not_allowed": ("The website address uses a port that audits do not visit.",
                         "Use the site's usual address (without :port), then audit again."),
    "blocked_address": ("The website's name points to a private network, which audits never "
                        "visit.", "Check the address on the lead: the site may not be public."),
    "dns_failure": ("The website's name doesn't resolve (DNS): no address was found for it.",
                    "Check the address on the lead for typos. If the site opens in your "
                    "browser, retry later: its name server may have been slow."),
    "connection_refused": ("The website's server refused the connection.", _RETRY_LATER),
    "connection_failed": ("The website's server could not be reached.", _RETRY_LATER),
    "tls_error": ("The website's secure connection (its certificate) is broken.",
                  "Visitors see a warning too, which is worth a mention in your pitch. "
                  "Retrying will not help until the site fixes it."),
    "timeout": ("The audit took longer than its time limit.",
                "Retry later. If it keeps happening, the site is very slow."),
    "navigation_timeout": ("The page did not finish loading in time.",
                           "Retry later. If it keeps happening, the site is very slow."),
    "page_unresponsive": ("The page's scripts stopped responding.",
                          "Visitors are likely stuck too; retrying rarely helps."),
    "navigation_loop": ("The page keeps reloading or moving away.",
                        "Visitors cannot use it either; retrying will not help."),
    "redirect_loop": ("The website sends visitors round in a redirect loop.",
                      "Check the address on the lead; visitors cannot open it either."),
    "too_many_redirects": ("The website redirects too many times.",
                           "Check the address on the lead; visitors may not get through."),
    "http_error": ("The website answered with a server error.", _RETRY_LATER),
    "http_client_error": ("The page does not exist or turns visitors away (HTTP 4xx).",
                          _CHECK_SITE),
    "budget_exceeded": ("The page is too large to audit.", "Nothing to do: the page is "
                        "unusually heavy, which is worth a mention in your pitch."),
    "download": ("The address starts a file download instead of showing a page.",
                 _CHECK_SITE),
    "browser_crash": ("The audit browser crashed.", _ASK_ADMIN),
    "internal_error": ("Something went wrong on our side.", _ASK_ADMIN),
    "lease_expired": ("The worker stopped before finishing (it may have restarted).",
                      "Retry. If it keeps happening, ask an administrator to check that the "
                      "worker is running."),
    "lead_missing": ("The lead was deleted before this could run.", "Nothing to do."),
    "canceled": ("Someone canceled it.", "Retry if it is still needed."),
    "database_busy": ("The database was too busy at that moment.", _RETRY_LATER),
    "unknown_kind": ("This version of PitchFast does not know this kind of job.",
                     "Ask an administrator: the worker may be older than the web app."),
}


_CHECK_ENDPOINT = "Check the endpoint on the Webhooks page, then retry this run."
#: Webhook deliveries (kind "webhook"): the same codes mean something else there.
WEBHOOK_EXPLANATIONS: dict[str, tuple[str, str]] = {
    "blocked_address": ("The endpoint's name points to a private or local address, which "
                        "webhooks never reach.", _CHECK_ENDPOINT),
    "dns_failure": ("The endpoint's name did not resolve (DNS).", _CHECK_ENDPOINT),
    "connection_refused": ("The endpoint refused the connection.", _RETRY_LATER),
    "connection_error": ("The endpoint could not be reached.", _RETRY_LATER),
    "timeout": ("The endpoint did not answer in time.", _RETRY_LATER),
    "tls_error": ("The endpoint's secure connection (its certificate) is broken.",
                  _CHECK_ENDPOINT),
    "endpoint_disabled": ("The endpoint was disabled before this could be sent.",
                          "Re-enable the endpoint, then retry this run."),
    "delivery_missing": ("The endpoint was deleted before this could be sent.",
                         "Nothing to do."),
    "canceled": ("Someone canceled it.", "Retry if it is still needed."),
}


def _webhook(code: str) -> Explanation:
    if code in WEBHOOK_EXPLANATIONS:
        return Explanation(*WEBHOOK_EXPLANATIONS[code])
    status = code.removeprefix("http_")
    if code.startswith("http_") and status.isdigit():
        todo = _RETRY_LATER if status.startswith("5") or status in ("408", "429") \
            else _CHECK_ENDPOINT
        return Explanation(f"The endpoint answered HTTP {status}.", todo)
    return Explanation("The delivery failed.", _ASK_ADMIN)


def explain(code: str | None, status: str | None = None,
            kind: str | None = None) -> Explanation | None:
    """The plain explanation of a run's error code (None when there is no error)."""
    if not code:
        return None if status not in ("failed", "dead") else Explanation(
            "It failed without saying why.", _ASK_ADMIN)
    if kind == "webhook":
        return _webhook(code)
    what, todo = EXPLANATIONS.get(code, ("It failed.", _ASK_ADMIN))
    return Explanation(what, todo)
