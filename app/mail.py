"""Talking to the configured SMTP server (``SMTP_*`` config): one conversation per message.

Nothing is sent when ``SMTP_HOST`` is unset (:func:`is_configured`): approved outreach
then waits and the pages say that sending is off. TLS is always verified
(``ssl.create_default_context()``, plus ``SMTP_CA_FILE`` when a private CA signs the
server's certificate): ``SMTP_SECURITY`` is ``starttls`` (default, port 587), ``tls``
(implicit TLS, port 465) or ``none`` (allowed only to a loopback server). The password
lives only in instance config or the environment.

Call :func:`deliver` outside any database transaction (commit first): a server may take
seconds to answer. Every failure is a :class:`MailError` whose ``kind`` says what the
caller may do next:

* ``temporary``: the server did not take the message (refused connection, TLS or login
  problem, a 4xx, a drop or timeout *before* the end of the data): safe to try again;
* ``permanent``: a 5xx saying the recipient's mailbox does not exist (5.1.x, "user
  unknown", "mailbox unavailable"): a hard bounce (:func:`is_bounce`);
* ``rejected``: a 5xx for the sender (``MAIL FROM``), or a refusal that is not the
  recipient's fault (relaying denied, 5.7.x policy or authentication, anything unclear):
  not retried, not a bounce;
* ``unknown``: the whole message was handed over but no answer came (drop or timeout
  after the final dot): it may have been delivered, so it must never be sent again.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

log = logging.getLogger(__name__)
#: Seconds to wait for the SMTP server at each step (``SMTP_TIMEOUT_SECONDS``).
TIMEOUT = 20
Security = Literal["starttls", "tls", "none"]
FailureKind = Literal["temporary", "permanent", "rejected", "unknown"]


class MailError(RuntimeError):
    """The message was not (or not surely) taken by the SMTP server; safe to show."""

    def __init__(self, message: str, *, kind: FailureKind = "temporary",
                 code: int | None = None, stage: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind: FailureKind = kind
        self.smtp_code = code
        self.stage = stage

    @property
    def code(self) -> str:
        """The run's error code: ``smtp_<kind>``."""
        return f"smtp_{self.kind}"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security
    username: str
    password: str
    ca_file: str | None
    timeout: float


def is_configured(config: Mapping[str, Any]) -> bool:
    """True when an SMTP server is configured."""
    return bool(str(config.get("SMTP_HOST") or "").strip())


def security_of(config: Mapping[str, Any]) -> Security:
    """``SMTP_SECURITY`` when set; else implicit TLS on port 465, else STARTTLS unless
    ``SMTP_STARTTLS`` is false (then none)."""
    value = str(config.get("SMTP_SECURITY") or "").strip().lower()
    if value in ("starttls", "tls", "none"):
        return value  # type: ignore[return-value]
    if int(config.get("SMTP_PORT") or 587) == 465:
        return "tls"
    return "starttls" if config.get("SMTP_STARTTLS", True) else "none"


def settings(config: Mapping[str, Any]) -> SmtpSettings:
    """The SMTP settings from config (call only when :func:`is_configured`)."""
    return SmtpSettings(
        host=str(config["SMTP_HOST"]).strip(),
        port=int(config.get("SMTP_PORT") or 587),
        security=security_of(config),
        username=str(config.get("SMTP_USERNAME") or ""),
        password=str(config.get("SMTP_PASSWORD") or ""),
        ca_file=str(config["SMTP_CA_FILE"]) if config.get("SMTP_CA_FILE") else None,
        timeout=float(config.get("SMTP_TIMEOUT_SECONDS") or TIMEOUT),
    )


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (the only place plain SMTP is allowed)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_config(config: Mapping[str, Any]) -> str | None:
    """What is wrong with the SMTP settings, or None (used at start-up)."""
    if not is_configured(config):
        return None
    raw = str(config.get("SMTP_SECURITY") or "").strip().lower()
    if raw and raw not in ("starttls", "tls", "none"):
        return f"SMTP_SECURITY must be starttls, tls or none (got {raw!r})."
    if security_of(config) == "none" and not is_loopback(str(config["SMTP_HOST"])):
        return ("SMTP without TLS is allowed only to a server on this machine (loopback): "
                "set SMTP_SECURITY to starttls (port 587) or tls (port 465).")
    timeout = config.get("SMTP_TIMEOUT_SECONDS", TIMEOUT)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 300:
        return f"SMTP_TIMEOUT_SECONDS must be a number of seconds, 1 to 300 (got {timeout!r})."
    return None


def tls_context(s: SmtpSettings) -> ssl.SSLContext:
    """A verifying context: the system's CAs, plus ``SMTP_CA_FILE`` when set."""
    return _context(s.ca_file)


@functools.lru_cache(maxsize=8)
def _context(ca_file: str | None) -> ssl.SSLContext:
    # Loading the system's CA store costs ~35 ms: once per process and CA file, not per
    # message (an SSLContext is safe to share between threads).
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def sender(config: Mapping[str, Any], *, name: str = "", address: str = "") -> str:
    """A From header: the given sender, else the SMTP user name when it is an address,
    else ``pitchfast@`` the SMTP host."""
    address = address or ""
    if "@" not in address:
        user = str(config.get("SMTP_USERNAME") or "")
        address = user if "@" in user else f"pitchfast@{config.get('SMTP_HOST')}"
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=name or "PitchFast", username=local, domain=domain))


class _SMTP(smtplib.SMTP):
    """smtplib.SMTP that notes when the final dot of the data has been handed over."""

    dot_sent = False

    def send(self, s: Any) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.dot_sent = True


class _SMTP_SSL(smtplib.SMTP_SSL):  # noqa: N801 (mirrors smtplib's name)
    dot_sent = False

    def send(self, s: Any) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.dot_sent = True


def _reply_text(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return " ".join(text.split())[:300]


def _open(s: SmtpSettings) -> _SMTP | _SMTP_SSL:
    try:
        if s.security == "tls":
            smtp: _SMTP | _SMTP_SSL = _SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                               context=tls_context(s))
        else:
            smtp = _SMTP(s.host, s.port, timeout=s.timeout)
    except ssl.SSLError as exc:
        raise MailError(f"TLS with {s.host}:{s.port} failed ({exc.reason or exc}); check "
                        "the server's certificate (or SMTP_CA_FILE).", stage="tls") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"Could not connect to the SMTP server {s.host}:{s.port} "
                        f"({_describe(exc)}).", stage="connect") from None
    try:
        if s.security == "starttls":
            smtp.starttls(context=tls_context(s))
        if s.username:
            smtp.login(s.username, s.password)
        smtp.ehlo_or_helo_if_needed()
    except smtplib.SMTPAuthenticationError as exc:
        smtp.close()
        raise MailError(f"The SMTP server refused the login for {s.username} "
                        f"({exc.smtp_code} {_reply_text(exc.smtp_error)}); check SMTP_USERNAME "
                        "and SMTP_PASSWORD.", code=exc.smtp_code, stage="auth") from None
    except ssl.SSLError as exc:
        smtp.close()
        raise MailError(f"TLS with {s.host}:{s.port} failed ({exc.reason or exc}); check "
                        "the server's certificate (or SMTP_CA_FILE).", stage="tls") from None
    except smtplib.SMTPNotSupportedError:
        smtp.close()
        raise MailError(f"The SMTP server {s.host}:{s.port} does not offer "
                        f"{'STARTTLS' if s.security == 'starttls' else 'AUTH'}; check "
                        "SMTP_SECURITY and SMTP_PORT.", kind="temporary", stage="tls") from None
    except (OSError, smtplib.SMTPException) as exc:
        smtp.close()
        raise MailError(f"The SMTP server {s.host}:{s.port} dropped the connection before "
                        f"the message ({_describe(exc)}).", stage="connect") from None
    return smtp


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout) or "timed out" in str(exc):
        return "no answer in time"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "connection closed"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


#: Each worker thread keeps its last authenticated connection this long for the next
#: message (``SMTP_REUSE_SECONDS``; 0: a new connection per message).
REUSE_SECONDS = 30
_pool = threading.local()


def _take(s: SmtpSettings, reuse: float) -> tuple[_SMTP | _SMTP_SSL, bool]:
    """This thread's open connection to the same server when fresh enough, else a new one."""
    kept = getattr(_pool, "conn", None)
    _pool.conn = None
    if kept is not None:
        settings_, smtp, at = kept
        if settings_ == s and time.monotonic() - at < reuse:
            return smtp, True
        smtp.close()
    return _open(s), False


def _keep(s: SmtpSettings, smtp: _SMTP | _SMTP_SSL, reuse: float) -> None:
    if reuse > 0:
        _pool.conn = (s, smtp, time.monotonic())
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _mail_from(s: SmtpSettings, reuse: float,
               envelope_from: str) -> tuple[_SMTP | _SMTP_SSL, int, bytes]:
    """MAIL FROM on a kept connection, or on a new one when the kept one turns out closed
    (nothing of this message has been sent yet, so trying again is safe)."""
    smtp, reused = _take(s, reuse)
    smtp.dot_sent = False
    if reused:
        try:
            code, resp = smtp.mail(envelope_from)
        except (OSError, smtplib.SMTPException):
            smtp.close()
        else:
            if code != 421:  # 421: the server is closing the idle connection
                return smtp, code, resp
            smtp.close()
        smtp = _open(s)
    code, resp = smtp.mail(envelope_from)
    return smtp, code, resp


def deliver(config: Mapping[str, Any], raw: bytes, *, envelope_from: str, to: str) -> str:
    """Hand the message ``raw`` (bytes with CRLF line ends, exactly as stored) to the SMTP
    server for ``to``. Returns the server's answer to the data; raises :class:`MailError`."""
    s = settings(config)
    reuse = float(config.get("SMTP_REUSE_SECONDS", REUSE_SECONDS) or 0)
    envelope_from, to = _wire_address("sender", envelope_from), _wire_address("recipient", to)
    smtp: _SMTP | _SMTP_SSL | None = None
    try:
        smtp, code, resp = _mail_from(s, reuse, envelope_from)
        if code != 250:
            raise _refused("sender", code, resp, permanent_kind="rejected")
        code, resp = smtp.rcpt(to)
        if code not in (250, 251):
            raise _refused("recipient", code, resp, permanent_kind="permanent")
        code, resp = smtp.data(raw)
        if code != 250:
            raise _refused("message", code, resp, permanent_kind="permanent")
        answer = f"{code} {_reply_text(resp)}"
    except MailError:
        if smtp is not None:
            _quietly_close(smtp)
        raise
    except smtplib.SMTPResponseException as exc:  # DATA refused before any data went
        if smtp is not None:
            _quietly_close(smtp)
        raise _refused("message", exc.smtp_code, exc.smtp_error,
                       permanent_kind="permanent") from None
    except ValueError as exc:  # UnicodeError included: an address smtplib cannot encode
        if smtp is not None:
            if smtp.dot_sent:
                smtp.close()
                raise MailError("The whole message reached the SMTP server but the answer "
                                f"could not be read ({exc}): it may have been delivered, so "
                                "it is not sent again.", kind="unknown",
                                stage="after_data") from None
            _quietly_close(smtp)
        raise MailError(f"The message could not be handed to the SMTP server ({exc}); "
                        "nothing was sent.", kind="rejected", stage="encode") from None
    except (OSError, smtplib.SMTPException) as exc:
        if smtp is not None:
            smtp.close()
        if smtp is not None and smtp.dot_sent:
            raise MailError(
                f"The whole message reached the SMTP server but it gave no answer "
                f"({_describe(exc)}): it may have been delivered, so it is not sent again.",
                kind="unknown", stage="after_data") from None
        raise MailError(f"The SMTP server dropped the conversation before taking the "
                        f"message ({_describe(exc)}).", stage="data") from None
    _keep(s, smtp, reuse)
    return answer


def _wire_address(what: str, address: str) -> str:
    """``address`` in ASCII (an internationalized domain as ``xn--``), else MailError."""
    if address.isascii():
        return address
    try:
        valid = validate_email(address.strip(), check_deliverability=False,
                               allow_smtputf8=False)
    except EmailNotValidError as exc:
        valid_ascii = None
        reason = str(exc)
    else:
        valid_ascii, reason = valid.ascii_email, "no ASCII form"
    if not valid_ascii:
        raise MailError(f"The {what} address {address!r} cannot be sent to without SMTPUTF8 "
                        f"({reason}); nothing was sent.", kind="rejected", stage="encode")
    return valid_ascii


#: An enhanced status code (RFC 3463) in a reply: class.subject.detail.
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
#: Refusals that are the sending side's problem (relaying, policy, authentication,
#: reputation), never the recipient's: not bounces.
_NOT_THE_RECIPIENT = re.compile(
    r"relay|policy|auth|spam|block|blacklist|denied|reputation|spf|dkim|dmarc|rate limit"
    r"|sender|not permitted|access", re.IGNORECASE)
#: What servers say when the mailbox itself does not exist.
_NO_SUCH_MAILBOX = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient|address)|mailbox "
    r"(unavailable|not found|does not exist|disabled)|does not exist|recipient (unknown|not "
    r"found|invalid)|invalid (recipient|mailbox|address)|not a valid (mailbox|recipient)"
    r"|undeliverable", re.IGNORECASE)


def is_bounce(code: int, reply: str) -> bool:
    """True when a 5xx says the recipient's mailbox does not exist (a hard bounce: 5.1.x
    other than the sender's 5.1.7/5.1.8, or a plain 550/551/553 "user unknown" /
    "mailbox unavailable"). Relaying, policy (5.7.x), authentication and anything
    unclear are not: a misconfigured server must not fill the do-not-contact list."""
    if not 500 <= code < 600:
        return False
    enhanced = _ENHANCED.search(reply)
    if enhanced:
        return enhanced.group(2) == "1" and enhanced.group(3) not in ("7", "8")
    if _NOT_THE_RECIPIENT.search(reply):
        return False
    return code in (550, 551, 553) and bool(_NO_SUCH_MAILBOX.search(reply))


def _refused(what: str, code: int, resp: bytes | str, *, permanent_kind: FailureKind) -> MailError:
    reply = _reply_text(resp)
    if 400 <= code < 500:
        return MailError(f"The SMTP server deferred the {what} ({code} {reply}); it will be "
                         "tried again.", kind="temporary", code=code, stage=what)
    kind = permanent_kind
    if kind == "permanent" and not is_bounce(code, reply):
        kind = "rejected"
    text = f"The SMTP server refused the {what} ({code} {reply})."
    if kind == "rejected" and what != "sender":
        text += (" This looks like the server's policy or set-up (relaying, authentication, "
                 "spam filter), not an unknown mailbox: the address is not added to "
                 "do-not-contact; check the SMTP settings.")
    return MailError(text, kind=kind, code=code, stage=what)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.rset()
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def send(config: Mapping[str, Any], *, to: str, subject: str, body: str, from_: str) -> None:
    """Send one plain email (account links, the test email); raises :class:`MailError`."""
    to = _wire_address("recipient", to)
    raw = plain_message(from_=from_, to=to, subject=subject, body=body)
    envelope = from_.rpartition("<")[2].rstrip(">") if "<" in from_ else from_
    try:
        deliver(config, raw, envelope_from=envelope, to=to)
    except MailError as exc:
        raise MailError(f"The email could not be sent: {exc.message}", kind=exc.kind,
                        code=exc.smtp_code, stage=exc.stage) from None
    log.info("email %r sent to %s", subject, to)


def plain_message(*, from_: str, to: str, subject: str, body: str) -> bytes:
    """A plain message with a fresh Message-ID, as bytes with CRLF line ends."""
    msg = EmailMessage()
    msg["From"] = from_
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=from_.rpartition("@")[2].rstrip(">") or None)
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP_POLICY)
