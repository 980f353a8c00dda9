"""What becomes an email header is checked before it is stored: one line, no encoded
line breaks, and addresses that email-validator accepts (syntax only, no DNS)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

#: Line breaks and their spellings: raw CR/LF/NUL/VT/FF/NEL and the Unicode line and
#: paragraph separators; percent-, quoted-printable-, HTML- and backslash-escaped CR/LF;
#: and RFC 2047 encoded words, which can carry any of them past a naive check.
_RAW = re.compile("[\r\n\x00\x0b\x0c\x85\u2028\u2029]")
_ENCODED = re.compile(
    r"%0[ad]|=0[ad]|&#0*1[03];|&#x0*[ad];|\\[rn]|\\x0[ad]|\\u000[ad]|=\?[^?]*\?[bq]\?",
    re.IGNORECASE,
)


class HeaderProblem(ValueError):
    """A value refused for a header, with a message saying which and why."""


def header_problem(label: str, value: str) -> str | None:
    """Why ``value`` cannot be the ``label`` header (a sentence), or None when it can."""
    if _RAW.search(value):
        return (f"The {label} contains a line break (CR, LF or a Unicode line separator): "
                "it must be one line. Refused as a possible header injection.")
    if _ENCODED.search(value):
        return (f"The {label} contains an encoded line break or encoded word "
                "(such as %0A, =0D, &#10; or =?utf-8?q?…?=). Refused as a possible header "
                "injection.")
    return None


def check_header(label: str, value: str) -> str:
    """``value`` when fit for a header, else HeaderProblem."""
    problem = header_problem(label, value)
    if problem:
        raise HeaderProblem(problem)
    return value


def normalize_address(label: str, raw: str) -> str:
    """A lower-cased address email-validator accepts (no DNS, no SMTPUTF8: an
    internationalized domain is fine, a non-ASCII local part is not), else HeaderProblem."""
    check_header(label, raw)
    text = raw.strip()
    if not text:
        raise HeaderProblem(f"The {label} is empty.")
    local = text.rpartition("@")[0]
    if local and not local.isascii():
        raise HeaderProblem(f"The {label} {text!r} has non-ASCII characters before the @: "
                            "PitchFast sends only to addresses whose part before the @ is "
                            "plain ASCII (SMTPUTF8 is not used).")
    try:
        return validate_email(text, check_deliverability=False,
                              allow_smtputf8=False).normalized.lower()
    except EmailNotValidError as exc:
        raise HeaderProblem(f"The {label} {text!r} is not a valid address: {exc}") from None


def ascii_address(address: str) -> str:
    """``address`` as it goes on the wire: an internationalized domain in its ASCII
    (IDNA, ``xn--``) form. HeaderProblem when it has no ASCII form."""
    if address.isascii():
        return address
    try:
        valid = validate_email(address.strip(), check_deliverability=False,
                               allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise HeaderProblem(f"The address {address!r} has no ASCII form: {exc}") from None
    if not valid.ascii_email:
        raise HeaderProblem(f"The address {address!r} has no ASCII form.")
    return valid.ascii_email
