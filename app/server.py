"""Serving PitchFast: waitress sized for hostile clients, and ``pitchfast run``'s children.

* :func:`serve_web` runs waitress with ``WEB_CONNECTION_LIMIT`` and ``WEB_CHANNEL_TIMEOUT``
  on its ``poll()`` loop (``select()`` cannot watch descriptors past 1024), after raising
  the process' soft open-files limit to fit. A half-sent request holds a connection but no
  thread, so hundreds of them leave room for everyone else.
* :func:`port_owner` says what holds a busy port (another PitchFast or another program),
  so a second start fails with that, before anything else has started.
* :func:`exit_with_parent` (run in the child between fork and exec) and
  :func:`watch_parent` (a thread in the child) end ``run``'s web and worker when ``run``
  ends, even by SIGKILL, which no signal handler of ``run`` can see.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import logging
import os
import re
import resource
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable

from flask import Flask
from waitress.server import create_server

log = logging.getLogger(__name__)

#: Descriptors besides client connections: database and queue files, logs, request bodies
#: spilled to temporary files, the trigger pipe.
FD_MARGIN = 128
#: Linux ``prctl`` option: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1
#: Seconds a child waits, after asking itself to stop, before it exits regardless.
STOP_GRACE_SECONDS = 10.0


def raise_open_files(wanted: int) -> int:
    """Raise the soft ``RLIMIT_NOFILE`` towards ``wanted`` (never past the hard limit) and
    return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def server_options(app: Flask, threads: int) -> dict[str, object]:
    """waitress' options from the config, the connection limit fitted to the descriptors
    this process may open."""
    limit = int(app.config["WEB_CONNECTION_LIMIT"])
    timeout = int(app.config["WEB_CHANNEL_TIMEOUT"])
    files = raise_open_files(limit + threads + FD_MARGIN)
    if files < limit + threads + FD_MARGIN:
        fitted = max(10, files - threads - FD_MARGIN)
        log.warning("WEB_CONNECTION_LIMIT %s lowered to %s: this process may open only %s "
                    "files (raise `ulimit -Hn`)", limit, fitted, files)
        limit = fitted
    return {
        "threads": threads,
        "connection_limit": limit,
        "channel_timeout": timeout,
        # How often idle connections are looked for: often enough that the timeout holds.
        "cleanup_interval": max(1, min(30, timeout // 2)),
        "asyncore_use_poll": True,
        "ident": "PitchFast",  # the Server header, which port_owner recognises
    }


def serve_web(app: Flask, host: str, port: int, threads: int,
              announce: Callable[[str], None]) -> None:
    """Serve ``app`` with waitress until stopped; a busy port raises :class:`PortBusy`."""
    try:
        server = create_server(app, host=host, port=port, **server_options(app, threads))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortBusy(host, port, port_owner(host, port) or "another program") from None
        raise
    announce(f"PitchFast is running at http://{_display(host)}:{port}/")
    server.run()


class PortBusy(Exception):
    """``host:port`` is taken; the message says by what and what to do."""

    def __init__(self, host: str, port: int, owner: str) -> None:
        advice = ("Stop it first, or start this one on another port with --port."
                  if owner == "another PitchFast" else
                  "Stop that program, or start PitchFast on another port with --port.")
        super().__init__(f"Port {port} on {host} is already in use by {owner}. {advice}")


def port_owner(host: str, port: int) -> str | None:
    """``None`` if PitchFast could listen on ``host:port``; else what holds it, in words:
    ``"another PitchFast"`` (it answers with ``Server: PitchFast``) or another program."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return None  # a bad host name: waitress reports it
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            # As waitress does, so a connection in TIME_WAIT is not taken for an owner.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return _describe_listener(family, address)
    return None


def _describe_listener(family: int, address: tuple[object, ...]) -> str:
    host = str(address[0])
    if ipaddress.ip_address(host).is_unspecified:  # listening everywhere: ask on loopback
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    try:
        with socket.create_connection((host, int(str(address[1]))), timeout=3) as conn:
            conn.sendall(b"HEAD /login HTTP/1.0\r\nHost: localhost\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 8192:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                head += chunk
    except OSError:
        return "another program (it does not answer HTTP)"
    if not head.startswith(b"HTTP/"):
        return "another program (it does not answer HTTP)"
    match = re.search(rb"^server:[ \t]*([^\r\n]*)", head, re.I | re.M)
    server = match.group(1).decode("latin-1").strip() if match else ""
    if server == "PitchFast":
        return "another PitchFast"
    # The other program's words, shown in a terminal: printable ASCII, short.
    shown = re.sub(r"[^\x20-\x7e]", "", server)[:60]
    return f"another web server (Server: {shown})" if shown else "another web server"


def _display(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def exit_with_parent(parent: int) -> Callable[[], None]:
    """A ``preexec_fn`` making the child get SIGTERM when ``parent`` dies (Linux), and
    exit at once if ``parent`` is already gone by then (it died between fork and here)."""
    prctl: Callable[..., int] | None = None
    if sys.platform.startswith("linux"):
        # Looked up now, in the parent: loading a library in a forked child is unsafe.
        prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def watch_parent(parent: int, interval: float = 1.0) -> threading.Thread:
    """Start a daemon thread ending this process once ``parent`` is gone: SIGTERM to
    itself (waitress stops, Huey stops its consumer), then a hard exit after
    :data:`STOP_GRACE_SECONDS`. The fallback where ``PR_SET_PDEATHSIG`` is missing or
    did not fire."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        log.warning("pitchfast run (pid %s) is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(STOP_GRACE_SECONDS)
        os._exit(1)

    thread = threading.Thread(target=watch, name="pitchfast-parent-watch", daemon=True)
    thread.start()
    return thread
