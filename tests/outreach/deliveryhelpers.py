"""A real SMTP server for the delivery tests: aiosmtpd on 127.0.0.1 with STARTTLS required
(a self-signed certificate made with ``openssl`` here, trusted through ``SMTP_CA_FILE``) and
AUTH required. It records every connection and every message as received (the raw bytes),
and can misbehave on purpose: refuse (5xx), defer (4xx), wait past the client's timeout,
or drop the connection after the data before answering.

Also the factories that bring a message to ``approved`` through the authoring operations.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import authoring_support as f
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from app.activity import SYSTEM
from app.extensions import db
from app.models import Outreach
from app.outreach import operations as ops

USER, PASSWORD = "pitchfast", "smtp-secret-" + "x" * 8


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (it is its own CA)."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        """Parsed as a modern mail client would (folded headers unfolded)."""
        parsed = message_from_bytes(self.raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Behaviour:
    """What the server does; tests change it between sends."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)  # address → reply
    mail_reply: str | None = None  # e.g. "451 try later"
    data_reply: str | None = None  # e.g. "554 rejected"
    data_delay: float = 0.0  # seconds before answering the data
    rcpt_delay: float = 0.0
    drop_after_data: bool = False  # close the connection instead of answering
    random_data_delay: float = 0.0  # up to this many seconds (the crash test)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        b = self.server.behaviour
        if b.mail_reply:
            return b.mail_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        b = self.server.behaviour
        if b.rcpt_delay:
            await asyncio.sleep(b.rcpt_delay)
        reply = b.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        b = self.server.behaviour
        delay = b.data_delay
        if b.random_data_delay:
            import random

            delay += random.uniform(0, b.random_data_delay)  # noqa: S311
        if delay:
            await asyncio.sleep(delay)
        if b.drop_after_data:
            server.transport.close()
            return "250 never seen"
        if b.data_reply:
            return b.data_reply
        with self.server.lock:
            self.server.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos),
                         bytes(envelope.original_content)))
        return "250 2.0.0 Message accepted"


class _CountingSMTP(SMTP):
    counter: SmtpServer

    def connection_made(self, transport: Any) -> None:
        # Only the first call (the plain connection), not the one after STARTTLS.
        if not getattr(self, "_counted", False):
            self._counted = True
            with self.counter.lock:
                self.counter.connections += 1
        super().connection_made(transport)


class _Controller(Controller):
    def __init__(self, server: SmtpServer, **kw: Any) -> None:
        self.pf_server = server
        super().__init__(_Handler(server), **kw)

    def factory(self) -> SMTP:
        proto = _CountingSMTP(self.handler, **self.SMTP_kwargs)
        proto.counter = self.pf_server
        return proto


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """aiosmtpd on loopback: STARTTLS and AUTH required; records what it receives."""

    def __init__(self, cert: Path, key: Path) -> None:
        import ssl

        self.cert = cert
        self.port = free_port()
        self.behaviour = Behaviour()
        self.received: list[Received] = []
        self.connections = 0
        self.lock = threading.Lock()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        self.controller = _Controller(
            self, hostname="127.0.0.1", port=self.port, tls_context=context,
            require_starttls=True, auth_required=True, auth_require_tls=True,
            authenticator=_authenticate, ready_timeout=10,
        )

    def start(self) -> SmtpServer:
        self.controller.start()
        with self.lock:
            self.connections = 0  # the controller's own readiness probe
        return self

    def stop(self) -> None:
        self.controller.stop()

    def config(self, **extra: Any) -> dict[str, Any]:
        """The ``SMTP_*`` config that points PitchFast here."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_SECURITY": "starttls",
                "SMTP_USERNAME": USER, "SMTP_PASSWORD": PASSWORD,
                "SMTP_CA_FILE": str(self.cert), "SMTP_TIMEOUT_SECONDS": 2, **extra}

    def wait_for(self, n: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= n:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {n} messages, got {len(self.received)}")


# --- bringing a message to approved -------------------------------------------------------


def approved_message(slug: str = "dentists", name: str = "Smile Dental",
                     email: str = "ana@smile.example", *, camp: Any = None) -> Outreach:
    """Agency, campaign, audited lead with a published page, draft, approval (committed)."""
    if camp is None:
        f.agency()
        camp = f.campaign(slug)
    lead = f.lead(camp, name, email=email)
    message = ops.draft_for_lead(lead, actor=SYSTEM)
    ops.approve(message, actor=SYSTEM)
    db.session.commit()
    return message
