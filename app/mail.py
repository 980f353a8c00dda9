"""Sending one plain-text email through the configured SMTP server (``SMTP_*`` config).

Nothing is sent when ``SMTP_HOST`` is unset (:func:`is_configured`): callers then show
what they would have sent. Call :func:`send` outside any database transaction (commit
first): an SMTP server may take seconds to answer.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

log = logging.getLogger(__name__)
#: Seconds to wait for the SMTP server at each step.
TIMEOUT = 20


class MailError(RuntimeError):
    """The email could not be handed to the SMTP server; the message is safe to show."""


def is_configured(config: Mapping[str, Any]) -> bool:
    """True when an SMTP server is configured."""
    return bool(str(config.get("SMTP_HOST") or "").strip())


def sender(config: Mapping[str, Any], *, name: str = "", address: str = "") -> str:
    """The From header: the agency's sender (settings), else the SMTP user name when it is
    an address, else ``pitchfast@`` the SMTP host."""
    address = address or ""
    if "@" not in address:
        user = str(config.get("SMTP_USERNAME") or "")
        address = user if "@" in user else f"pitchfast@{config.get('SMTP_HOST')}"
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=name or "PitchFast", username=local, domain=domain))


def send(config: Mapping[str, Any], *, to: str, subject: str, body: str, from_: str) -> None:
    """Send one email; raises :class:`MailError` saying what went wrong (never the password)."""
    msg = EmailMessage()
    msg["From"] = from_
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=from_.rpartition("@")[2].rstrip(">") or None)
    msg.set_content(body)
    host = str(config["SMTP_HOST"])
    port = int(config["SMTP_PORT"])
    try:
        if port == 465:  # implicit TLS (SMTPS)
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
        with smtp:
            if port != 465 and config.get("SMTP_STARTTLS", True):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USERNAME"):
                smtp.login(str(config["SMTP_USERNAME"]), str(config.get("SMTP_PASSWORD") or ""))
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("email to %s via %s:%s failed: %s", to, host, port, exc)
        raise MailError(f"The email could not be sent ({type(exc).__name__}: "
                        f"{str(exc)[:200]}).") from None
    log.info("email %r sent to %s via %s:%s", subject, to, host, port)
