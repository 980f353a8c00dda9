"""Building the email of one outreach message (``email.message.EmailMessage``).

Everything that becomes a header is checked first: CR, LF, NUL, every other control
character, the Unicode line and paragraph separators (U+0085, U+2028, U+2029) and
encoded newlines (``%0D``, ``&#10;``, RFC 2047 encoded words) are refused with a clear
message, never cleaned into something else. Addresses go through ``email-validator``
(no DNS) and ``email.headerregistry.Address``, so a name can never add a header.

Every message carries the RFC 8058 one-click unsubscribe headers, a visible unsubscribe
link and the agency's postal address, in plain text (and, when asked, a simple HTML part
made from the same text).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from email_validator import EmailNotValidError, validate_email

#: Control characters (CR, LF, NUL, tab …), DEL, NEL and the Unicode line/paragraph
#: separators: none may reach a header.
_HEADER_BREAKERS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
#: Newlines in disguise: percent- and HTML-encoded CR/LF, quoted-printable soft codes and
#: RFC 2047 encoded words (a mail client would decode them into a header).
_ENCODED_BREAKS = re.compile(
    r"%0[ad]|&#0*1[03];|&#x0*[ad];|=0[ad]|=\?[^?\s]*\?[bq]\?", re.IGNORECASE
)
_MESSAGE_ID = re.compile(r"<[!#-;=?-\[\]-~]+@[A-Za-z0-9.\-\[\]:]+>")
#: Body text keeps newlines and tabs; other control characters go.
_BODY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: CRLF line ends; headers unfolded up to RFC 5322's hard limit, so the long one-click
#: unsubscribe header stays on its line (some clients mis-read a folded URL).
WIRE = SMTP_POLICY.clone(max_line_length=998)


class MessageError(ValueError):
    """The message cannot be built as it is; the text says which field and why."""


@dataclass(frozen=True)
class Parts:
    """What one email is made of (all strings as approved; checked by :func:`build`)."""

    sender_name: str
    sender_email: str
    recipient: str
    subject: str
    body: str
    message_id: str
    postal_address: str
    agency_name: str
    unsubscribe_url: str
    unsubscribe_mailto: str | None = None
    html_part: bool = False


def header_text(field: str, value: str, *, limit: int = 300) -> str:
    """``value`` if it is safe in a header; :class:`MessageError` naming ``field`` otherwise."""
    if _HEADER_BREAKERS.search(value):
        raise MessageError(f"The {field} contains a line break or control character; "
                           "remove it (nothing was sent).")
    if _ENCODED_BREAKS.search(value):
        raise MessageError(f"The {field} contains an encoded line break or encoded word "
                           "(such as %0A, &#10; or =?utf-8?q?…?=); remove it (nothing was sent).")
    if len(value) > limit:
        raise MessageError(f"The {field} is too long ({len(value)} characters, at most {limit}).")
    return value.strip()


def address(field: str, value: str, name: str = "") -> Address:
    """A checked ``Address``: the address validated without DNS (ASCII local part only),
    the display name checked like any header text."""
    header_text(field, value, limit=254)
    header_text(f"{field} name", name, limit=120)
    try:
        valid = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise MessageError(f"The {field} {value!r} is not a valid email address: {exc}") from None
    local, _, domain = (valid.ascii_email or valid.normalized).rpartition("@")
    return Address(display_name=name.strip(), username=local, domain=domain)


def body_text(text: str) -> str:
    """The body with normalised line ends and without stray control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROLS.sub("", text).rstrip() + "\n"


def footer(p: Parts) -> str:
    """The visible unsubscribe link and the postal address (CAN-SPAM), in every message."""
    who = p.agency_name.strip() or p.sender_name.strip() or p.sender_email
    postal = " ".join(body_text(p.postal_address).split("\n")).strip()
    return (f"\n--\nDon't want emails from {who}? Unsubscribe with one click: "
            f"{p.unsubscribe_url}\n{who}, {postal}\n")


def _html(text: str, p: Parts) -> str:
    paras = [html.escape(block).replace("\n", "<br>") for block in text.strip().split("\n\n")]
    who = html.escape(p.agency_name.strip() or p.sender_name.strip() or p.sender_email)
    postal = html.escape(" ".join(body_text(p.postal_address).split("\n")).strip())
    link = html.escape(p.unsubscribe_url, quote=True)
    body = "".join(f"<p>{para}</p>" for para in paras if para)
    return (f'<!doctype html><html><body style="font-family:sans-serif">{body}'
            f'<hr><p style="color:#555;font-size:13px">Don\'t want emails from {who}? '
            f'<a href="{link}">Unsubscribe</a> with one click.<br>{who}, {postal}</p>'
            f"</body></html>\n")


def build(p: Parts, *, date: datetime) -> EmailMessage:
    """The message, or :class:`MessageError` for anything unsafe or missing."""
    if not p.message_id or not _MESSAGE_ID.fullmatch(p.message_id):
        raise MessageError("The message has no valid Message-ID (it is fixed when the "
                           "message is approved); approve it again.")
    if not p.postal_address.strip():
        raise MessageError("The agency's postal address is missing (Settings): every "
                           "message must carry it.")
    if not p.unsubscribe_url.startswith(("https://", "http://")):
        raise MessageError("The unsubscribe link is not a web address (PUBLIC_BASE_URL).")
    header_text("unsubscribe link", p.unsubscribe_url, limit=500)
    sender = address("sender address", p.sender_email, p.sender_name)
    to = address("recipient address", p.recipient)
    subject = header_text("subject", p.subject)
    if not subject:
        raise MessageError("The subject is empty.")
    msg = EmailMessage(policy=WIRE)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date.replace(tzinfo=UTC))
    msg["Message-ID"] = p.message_id
    targets = [f"<{p.unsubscribe_url}>"]
    if p.unsubscribe_mailto:
        targets.append(f"<{header_text('unsubscribe address', p.unsubscribe_mailto)}>")
    msg["List-Unsubscribe"] = ", ".join(targets)
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = body_text(p.body) + footer(p)
    plain = text.isascii() and max(len(line) for line in text.split("\n")) <= 900
    msg.set_content(text, cte="7bit" if plain else None)  # readable as stored when it can be
    if p.html_part:
        msg.add_alternative(_html(body_text(p.body), p), subtype="html")
    return msg


def to_bytes(msg: EmailMessage) -> bytes:
    """The exact bytes handed to the SMTP server (CRLF line ends)."""
    return msg.as_bytes(policy=WIRE)
