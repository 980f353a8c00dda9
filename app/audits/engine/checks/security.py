"""Reachability and security checks."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from app.audits.engine.checks.base import AuditData, NotChecked, check, fail, info, ok, page, warn

CAT = "security"


def _final(data: AuditData) -> str:
    return str(data.get("final_url") or data.get("url") or "")


def _headers(data: AuditData) -> dict[str, str]:
    nav = data.get("nav") or {}
    if "headers" not in nav:
        raise NotChecked("no response headers")
    headers: dict[str, str] = nav["headers"]
    return headers


@check("http-status-code", CAT, "critical")
def http_status(data: AuditData) -> Any:
    """Final status must be 2xx."""
    status = (data.get("nav") or {}).get("status")
    if status is None:
        raise NotChecked("no final response")
    if 200 <= status < 300:
        return ok("The page loads normally", f"HTTP {status}", status=status, url=_final(data))
    return fail(
        "The page answers with an error",
        f"Final HTTP status {status}.",
        status=status,
        url=_final(data),
    )


def _insecure_urls(data: AuditData) -> list[str]:
    pg = data.get("desktop") or {}
    urls = [i.get("src") or "" for i in pg.get("images", [])]
    urls += pg.get("scripts", []) + pg.get("stylesheets", []) + pg.get("iframes", [])
    urls += [r["url"] for r in (data.get("network") or {}).get("desktop", [])]
    return sorted({u for u in urls if u.startswith("http://")})


@check("is-on-https", CAT, "high")
def is_on_https(data: AuditData) -> Any:
    """HTTPS, and no mixed content on an HTTPS page."""
    final = _final(data)
    if not final:
        raise NotChecked("no final URL")
    if final.startswith("http://"):
        return fail(
            "The site is not secure (no HTTPS)",
            "The page is served over plain HTTP; browsers mark it 'Not secure'.",
            url=final,
        )
    mixed = _insecure_urls(data)
    if mixed:
        return fail(
            "Some content on the page is not secure",
            f"{len(mixed)} resource(s) loaded over HTTP on an HTTPS page (mixed content).",
            url=final,
            examples=mixed[:5],
        )
    return ok("The site uses a secure connection", url=final)


@check("redirects-http", CAT, "medium")
def redirects_http(data: AuditData) -> Any:
    """http:// must redirect to https://."""
    final = _final(data)
    if final.startswith("http://"):
        return fail(
            "Visitors are not moved to the secure version of the site",
            "The audited page itself is served over HTTP.",
            url=final,
        )
    probe = (data.get("server") or {}).get("http")
    if not probe or probe.get("error"):
        raise NotChecked("http:// version could not be fetched")
    dest = str(probe.get("final_url") or "")
    if dest.startswith("https://"):
        return ok("Insecure links are sent to the secure site", url=probe["url"], location=dest)
    return fail(
        "Visitors are not moved to the secure version of the site",
        f"http:// answered {probe.get('status')} without redirecting to https://.",
        url=probe["url"],
        status=probe.get("status"),
    )


@check("redirect-chain", CAT, "medium")
def redirect_chain(data: AuditData) -> Any:
    """At most 2 redirect hops."""
    hops = (data.get("nav") or {}).get("redirects")
    if hops is None:
        raise NotChecked("no navigation data")
    chain = [*hops, _final(data)]
    if len(hops) > 2:
        return fail(
            "The address redirects too many times before the page loads",
            f"{len(hops)} redirects: " + " → ".join(chain),
            chain=chain,
        )
    return ok("The page is reached directly", f"{len(hops)} redirect(s)", chain=chain)


def _not_after(tls: Any) -> dt.datetime | None:
    if not isinstance(tls, dict):
        return None
    raw = tls.get("not_after") or tls.get("notAfter") or tls.get("expires")
    if isinstance(raw, dt.datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=dt.UTC)
    if isinstance(raw, int | float):
        return dt.datetime.fromtimestamp(raw, dt.UTC)
    if isinstance(raw, str):
        for fmt in ("%b %d %H:%M:%S %Y %Z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"):
            try:
                parsed = dt.datetime.strptime(raw.replace("  ", " "), fmt)
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


@check("tls-certificate", CAT, "high")
def tls_certificate(data: AuditData) -> Any:
    """Valid certificate, not expiring within 30 days."""
    if not _final(data).startswith("https://"):
        raise NotChecked("the page is not served over HTTPS")
    probe = (data.get("server") or {}).get("https") or {}
    expires = _not_after(probe.get("tls"))
    if expires is None:
        return ok(
            "The security certificate is valid",
            "The browser accepted the certificate; expiry date unavailable.",
        )
    days = (expires - dt.datetime.now(dt.UTC)).days
    ev: dict[str, Any] = {"not_after": expires.isoformat(), "days_left": days}
    if days < 0:
        return fail("The security certificate has expired", **ev)
    if days < 30:
        return warn("The security certificate expires soon", f"Expires in {days} days.", **ev)
    return ok("The security certificate is valid", f"Expires in {days} days.", **ev)


@check("has-hsts", CAT, "info")
def has_hsts(data: AuditData) -> Any:
    """Strict-Transport-Security on HTTPS."""
    if not _final(data).startswith("https://"):
        raise NotChecked("HSTS applies to HTTPS pages only")
    value = _headers(data).get("strict-transport-security")
    if value:
        return ok(
            "Browsers are told to always use the secure site",
            header="Strict-Transport-Security",
            value=value,
        )
    return info(
        "Browsers are not told to always use the secure site",
        "No Strict-Transport-Security header.",
        header="Strict-Transport-Security",
    )


@check("clickjacking-mitigation", CAT, "info")
def clickjacking(data: AuditData) -> Any:
    """X-Frame-Options or CSP frame-ancestors."""
    h = _headers(data)
    xfo = h.get("x-frame-options")
    csp = h.get("content-security-policy", "")
    if xfo or "frame-ancestors" in csp:
        return ok(
            "The site cannot be embedded by other sites",
            x_frame_options=xfo,
            csp_frame_ancestors="frame-ancestors" in csp,
        )
    return info(
        "Other sites could embed this page in a frame",
        "Neither X-Frame-Options nor CSP frame-ancestors is set.",
    )


def _error_entry(d: dict[str, Any]) -> dict[str, Any]:
    """One console error as staff read it: what failed, and where (resource, script line)."""
    url, line = d.get("url"), d.get("line")
    path = urlsplit(url).path if isinstance(url, str) and url else ""
    name = path.rsplit("/", 1)[-1]
    where: str | None
    if d.get("kind") == "resource" and path == "/favicon.ico":
        where = "the site icon favicon.ico is missing (every browser asks for it)"
    elif d.get("kind") == "resource":
        where = f"the file {name or url} failed to load" if url else None
    elif url:
        name = name or "the page's own HTML"
        where = f"{name}, line {line}" if line else name
    else:
        where = None
    out = {"description": where, "message": d.get("message"), "url": url, "line": line,
           "column": d.get("column"), "kind": d.get("kind")}
    return {k: v for k, v in out.items() if v is not None}


def _with_missing_favicon(data: AuditData, con: dict[str, Any]) -> dict[str, Any]:
    """Add the browser's own /favicon.ico 404 when it came after we stopped listening.

    Without a ``<link rel=icon>`` every browser asks for ``/favicon.ico`` by itself, and a
    404 there is a console error (Lighthouse, which listens longer, always sees it). The
    server-side fetch of the same URL tells us what the browser would have logged."""
    icon = (data.get("server") or {}).get("favicon") or {}
    status = icon.get("status")
    declared = (data.get("desktop") or {}).get("icons")
    seen = any(
        urlsplit(str(d.get("url") or "")).path == "/favicon.ico" for d in con.get("details") or []
    )
    if declared or seen or not isinstance(status, int) or status < 400:
        return con
    entry = {
        "message": f"Failed to load resource: the server responded with a status of {status}",
        "kind": "resource",
        "url": icon.get("url"),
    }
    return {
        **con,
        "count": int(con.get("count") or 0) + 1,
        "errors": [*(con.get("errors") or []), entry["message"]],
        "details": [*(con.get("details") or []), entry],
    }


@check("errors-in-console", CAT, "medium")
def console_errors(data: AuditData) -> Any:
    """JavaScript errors during load (Lighthouse fails on any; we fail on uncaught
    exceptions and warn on console errors: neither passes). Evidence names the failing
    resource or the script and line."""
    con = data.get("console")
    if con is None:
        raise NotChecked("console not recorded")
    con = _with_missing_favicon(data, con)
    if not con.get("count"):
        return ok("No script errors while loading", count=0)
    details = [d for d in con.get("details") or [] if isinstance(d, dict)]
    errors = (
        [_error_entry(d) for d in details[:5]]
        if details
        else [{"message": m} for m in con.get("errors", [])[:5]]
    )
    ev = {"count": con["count"], "exceptions": con.get("exceptions", 0), "errors": errors}
    first = next((e["description"] for e in errors if e.get("description")), None)
    where = f" First: {first}." if first else ""
    if con.get("exceptions"):
        return fail(
            "The page has script errors",
            f"{con['count']} error(s) logged, {con['exceptions']} uncaught.{where}",
            **ev,
        )
    return warn(
        "The browser logged errors while loading the page",
        f"{con['count']} console error(s).{where}",
        **ev,
    )


@check("js-libraries", CAT, "info")
def js_libraries(data: AuditData) -> Any:
    """Detected libraries and versions (no vulnerability claims)."""
    libs = data.get("js_libraries")
    if libs is None:
        page(data)
        libs = []
    names = ", ".join(f"{x['name']} {x.get('version') or ''}".strip() for x in libs) or "none"
    return info("Scripts detected on the site", f"Detected: {names}.", libraries=libs)
