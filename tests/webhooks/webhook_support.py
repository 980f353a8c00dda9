"""Helpers for the webhook tests: a real HTTP receiver on loopback, a fake name resolver
(a DNS-rebinding one too) and a connect tripwire. Only 127.0.0.1 is ever dialled."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from app.audits.engine.netguard import NameNotFound, TargetError
from app.extensions import db
from app.jobs import runs
from app.models import Run, WebhookDelivery


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A webhook receiver: records every POST, answers with the next queued status (200
    once the queue is empty)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        self.delay = 0.0  # seconds before answering
        self.body_size = 0  # > 0: answer with a body this large
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                reply = b'{"ok": true}' if status < 300 else b"<h1>Server \xe2\x80\xae error</h1>"
                if receiver.body_size:
                    reply = b"x" * receiver.body_size
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                if 300 <= status < 400:
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                self.wfile.write(reply)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.statuses.clear()
            self.delay, self.body_size = 0.0, 0


class FakeResolver:
    """Resolver protocol over a dict the test fills; each entry is a list of answer lists,
    used in turn (the last one repeats): a DNS-rebinding name server."""

    def __init__(self) -> None:
        self.table: dict[str, list[list[str]]] = {}
        self.missing: set[str] = set()  #: names DNS says do not exist (NXDOMAIN)
        self.lookups: list[str] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host in self.missing:
            raise NameNotFound(host)
        rounds = self.table.get(host)
        if not rounds:
            raise TargetError("dns_failure", f"{host} is not in the fake resolver.")
        return list(rounds.pop(0) if len(rounds) > 1 else rounds[0])


class Tripwire:
    """Replaces connect(): records every (ip, port) dialled; only routed pairs connect, and
    only to loopback. Anything else is refused without a packet."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, int], tuple[str, int]] = {}
        self.attempts: list[tuple[str, int]] = []

    def __call__(self, ip: str, port: int, timeout: float) -> socket.socket:
        self.attempts.append((ip, port))
        if ip == "127.0.0.1":
            return socket.create_connection((ip, port), timeout=timeout)
        target = self.routes.get((ip, port))
        if target is None:
            raise ConnectionRefusedError(f"tripwire: no route to {ip}:{port}")
        return socket.create_connection(target, timeout=timeout)


def run_of(delivery_id: int) -> Run:
    db.session.expire_all()
    delivery = db.session.get(WebhookDelivery, delivery_id)
    assert delivery is not None and delivery.run_id is not None
    run = db.session.get(Run, delivery.run_id)
    assert run is not None
    return run


def execute(run_id: int, *, now: bool = True) -> str:
    """Run one delivery as the worker would; ``now`` skips a retry's backoff wait."""
    if now:
        db.session.execute(update(Run).where(Run.id == run_id).values(not_before=None))
    db.session.commit()
    return runs.execute(run_id)
