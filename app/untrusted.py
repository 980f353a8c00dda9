"""Text and URLs that came from outside: audited sites, uploads, forms, the API.

Three functions, used everywhere such a value is kept, shown or printed:

* :func:`safe_url` keeps only plain ``http(s)`` URLs (a ``javascript:`` link planted by an
  audited site becomes ``None``, never a clickable link);
* :func:`clean_text` removes bidirectional and zero-width controls (``…\\u202egnp.exe``
  showing as "exe.png") and other control characters from names;
* :func:`mask_url` hides credentials in a URL that is printed or logged; a URL that does
  not parse cleanly is shown as its scheme alone (:func:`mask_urls` does it to every URL
  in a message).

Also available in templates as the ``safe_url`` filter (see :func:`register`).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask

#: Bidirectional embeddings, overrides and isolates, marks, and zero-width characters.
_INVISIBLE = re.compile(
    "[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
#: C0/C1 controls except tab and newline (NUL included).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MAX_URL = 2048


def clean_text(value: object, *, keep_newlines: bool = False) -> str:
    """``value`` without bidirectional or zero-width controls and other control characters.

    Newlines and tabs become spaces unless ``keep_newlines`` (free-text notes keep them).
    """
    text = _CONTROL.sub("", _INVISIBLE.sub("", str(value or "")))
    if not keep_newlines:
        text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return text


def safe_url(value: object) -> str | None:
    """The URL if it is a plain absolute ``http``/``https`` URL with a host, else ``None``.

    Refuses every other scheme (``javascript:``, ``data:``, ``vbscript:``, ``file:`` …),
    scheme-relative and relative URLs, URLs with credentials, whitespace or control
    characters anywhere (browsers strip some of them and would run what follows), and URLs
    longer than :data:`MAX_URL`.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return None
    if _CONTROL.search(value) or _INVISIBLE.search(value) or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None or "\\" in value:
        return None
    del port
    return value


#: Query parameters that carry credentials (libpq and redis-py read ``?password=…``).
_SECRET_PARAM = re.compile(
    r"(?i)([?&;][^=&;#]*(?:pass|pwd|secret|token|key|auth|credential|signature)[^=&;#]*=)"
    r"[^&;#]*"
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def mask_url(url: object) -> str:
    """``url`` fit to print or log: user name and password become ``***``, and so do the
    values of query parameters such as ``password=`` or ``token=``.

    A value that does not parse cleanly is reduced to its scheme (``redis://…``), or to
    ``"(unparsable URL)"`` without one: a half-parsed URL can hide a password anywhere, as in
    ``redis://:pa/ss@host`` (a ``/`` in the password ends the host part early).
    """
    text = str(url or "")
    if not text:
        return "(empty)"
    scheme, sep, rest = text.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        head = _SCHEME.match(text)
        return f"{head.group(0)}:…" if head and text[head.end():head.end() + 1] == ":" else (
            "(unparsable URL)")
    whole = f"{scheme}://…"
    if (any(c.isspace() for c in text) or _CONTROL.search(text) or _INVISIBLE.search(text)
            or "\\" in text):
        return whole
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return whole
    if not rest.startswith(parts.netloc):
        return whole
    _userinfo, at, tail = parts.netloc.rpartition("@")
    # Anything odd left in the host part (a ':' that is not a port, brackets, spaces) means
    # the URL is not what it seems.
    expected = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    after = rest[len(parts.netloc):]  # path, query and fragment as written
    # A '@' further on, after no host or after a ':', is most likely the end of a password
    # holding '/', '?' or '#' (``redis://:12/pw@host``): where it ends is a guess.
    if tail.lower() != expected.lower() or ("@" in after and (not host or ":" in parts.netloc)):
        return whole
    return f"{scheme}://{'***@' if at else ''}{tail}" + _SECRET_PARAM.sub(r"\1***", after)


#: A whole URL in free text: everything up to the next whitespace.
_URL_IN_TEXT = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*", re.I)
#: Punctuation that ends a sentence or a quotation rather than the URL before it.
_TRAILING = ".,;:!?)]}>'\""


def mask_urls(text: str) -> str:
    """``text`` with every URL holding a ``@`` passed through :func:`mask_url`; URLs without
    one stay as written, so messages keep the address they are about."""
    if "://" not in text or "@" not in text:
        return text
    return _URL_IN_TEXT.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    token = match.group(0)
    url = token.rstrip(_TRAILING)
    return mask_url(url) + token[len(url):] if "@" in url else token


def register(app: Flask) -> None:
    """Install the ``safe_url`` template filter: the one way templates show outside URLs."""
    app.jinja_env.filters["safe_url"] = safe_url
