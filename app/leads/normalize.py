"""Normalisation of websites, domains, emails and free text coming from people or files."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

from email_validator import EmailNotValidError, validate_email

from app import untrusted

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_MAYBE_IP = re.compile(r"^[\d.]+$|:")
#: Plain ASCII addresses email-validator would accept unchanged (apart from case): checked
#: with a regex so a 50,000-row import does not spend seconds in the full validator.
_PLAIN_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
_SPECIAL_TLDS = {"arpa", "invalid", "local", "localhost", "onion", "test", "internal", "alt"}
_SPACES = re.compile(r"\s+")
#: Leading characters that make a spreadsheet evaluate a cell (CSV/formula injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class InvalidValue(ValueError):
    """A value that cannot be normalised; the message says why, for a person."""


def clean_text(value: object, max_length: int | None = None, field: str = "value") -> str | None:
    """Strip, drop control, bidirectional and zero-width characters (so a name ending in
    ``\u202egnp.exe`` cannot show as "exe.png") and collapse whitespace; None when empty.

    Raises :class:`InvalidValue` when the cleaned text is longer than ``max_length``.
    """
    if value is None:
        return None
    text = _SPACES.sub(" ", untrusted.clean_text(value)).strip()
    if not text:
        return None
    if max_length is not None and len(text) > max_length:
        raise InvalidValue(f"{field} is longer than {max_length} characters")
    return text


def _idna(host: str) -> str:
    if host.isascii():
        return host  # the codec is slow and would not change an ASCII name
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidValue(f"website host {host!r} is not a valid domain name") from None


def normalize_domain(host: str) -> str:
    """Lower-case, IDNA-encode and check a host name; strip one leading ``www.``."""
    host = host.strip().rstrip(".").lower()
    if not host:
        raise InvalidValue("website has no host name")
    if _MAYBE_IP.match(host):
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            raise InvalidValue(f"website {host!r} is an IP address, not a domain name")
    host = _idna(host)
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidValue(f"website host {host!r} is not a valid domain name")
    if not _TLD.match(labels[-1]):
        raise InvalidValue(f"website host {host!r} has no valid top-level domain")
    if labels[0] == "www" and len(labels) > 2:
        labels = labels[1:]
    domain = ".".join(labels)
    if len(domain) > 253:
        raise InvalidValue("website host name is too long")
    return domain


def normalize_website(
    raw: object, allow_targets: frozenset[str] = frozenset()
) -> tuple[str | None, str | None]:
    """``(url, domain)`` for a website given as a URL or a bare domain; ``(None, None)`` if empty.

    Only http and https are accepted; credentials in the URL are refused; the
    fragment is dropped. Raises :class:`InvalidValue` with a reason otherwise. A host
    that is not a public domain name (an IP address, ``localhost``) is accepted only when
    its exact ``host:port`` is in ``allow_targets`` (``AUDIT_ALLOW_TARGETS``, for sites
    served locally); its "domain" is then that ``host:port``.
    """
    text = clean_text(raw)
    if text is None:
        return None, None
    if len(text) > 2048:
        raise InvalidValue("website is longer than 2048 characters")
    if " " in text:
        raise InvalidValue(f"website {text!r} contains spaces")
    if "://" not in text:
        if re.match(r"^[a-z][a-z0-9+.-]*:", text, re.I) and not re.match(r"^[^:/]+:\d", text):
            raise InvalidValue(f"website {text!r} uses an unsupported scheme (only http/https)")
        text = "http://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidValue(f"website {text!r} is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidValue(f"website {text!r} uses an unsupported scheme (only http/https)")
    if parts.username or parts.password or "@" in parts.netloc:
        raise InvalidValue(f"website {text!r} contains credentials")
    host = _idna((parts.hostname or "").rstrip(".").lower())
    target_port = port or (443 if parts.scheme.lower() == "https" else 80)
    target = f"{host}:{target_port}"
    if {target, f"[{host}]:{target_port}"} & allow_targets:  # IPv6 is listed bracketed
        domain = target
    else:
        domain = normalize_domain(parts.hostname or "")
    netloc = host if port is None else f"{host}:{port}"
    url = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    if len(url) > 2048:  # the scheme, IDNA and "/" may have made it longer than the column
        raise InvalidValue("website is longer than 2048 characters once normalised")
    return url, domain


def normalize_email(raw: object) -> str | None:
    """A syntax-checked, lower-cased address (no DNS lookups); None when empty."""
    text = clean_text(raw)
    if text is None:
        return None
    if text.lower().startswith("mailto:"):
        text = text[7:].strip()
    lowered = text.lower()
    if (
        _PLAIN_EMAIL.match(lowered)
        and len(lowered) <= 254
        and len(lowered.split("@")[0]) <= 64
        and lowered.rsplit(".", 1)[1] not in _SPECIAL_TLDS
        and "xn--" not in lowered
    ):
        return lowered
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidValue(f"email {text!r} is not valid: {exc}") from None


def email_domain(email: str | None) -> str | None:
    """The domain part of a normalised address."""
    return email.rsplit("@", 1)[1] if email and "@" in email else None


def neutralize_cell(value: object) -> object:
    """Prefix a text cell with ``'`` when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def looks_like_formula(value: object) -> bool:
    """True for text a spreadsheet would evaluate."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a header, for column auto-detection."""
    decomposed = unicodedata.normalize("NFKD", text)
    return re.sub(
        r"[^a-z0-9]+", " ", "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    ).strip()
