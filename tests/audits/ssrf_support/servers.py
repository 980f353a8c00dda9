"""Tiny threaded HTTP(S) servers on loopback that record every request."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass
class Hit:
    method: str
    path: str
    query: dict[str, str]
    host: str
    headers: dict[str, str] = field(default_factory=dict)


Reply = tuple[int, dict[str, str], bytes]
App = Callable[[Hit], Reply]


def text(body: str, status: int = 200, ctype: str = "text/html; charset=utf-8", **hdrs: str
         ) -> Reply:
    return status, {"Content-Type": ctype, **hdrs}, body.encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _any(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        hit = Hit(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                  self.headers.get("Host", ""), {k.lower(): v for k, v in self.headers.items()})
        server: LoopbackServer = self.server.owner  # type: ignore[attr-defined]
        server.hits.append(hit)
        status, headers, body = server.app(hit)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    do_GET = do_POST = do_HEAD = _any

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (budget and size tests) are expected here


class LoopbackServer:
    """``with LoopbackServer(app) as srv``: serves on 127.0.0.1:srv.port, records srv.hits."""

    def __init__(self, app: App | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.app: App = app or (lambda hit: text("ok"))
        self.hits: list[Hit] = []
        self._httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self  # type: ignore[attr-defined]
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def make_certs(directory: Path, *names: str) -> tuple[Path, Path, Path]:
    """A throw-away CA and a leaf certificate for ``names`` (openssl CLI): (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (directory / n for n in
                                  ("ca.key", "ca.pem", "leaf.key", "leaf.csr", "leaf.pem"))
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n")
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "30", "-subj", "/O=PitchFast Test CA/CN=PitchFast Test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", f"/CN={names[0]}")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "20", "-extfile", str(ext))
    return ca, cert, key


class ConnectionCounter:
    """Accepts and counts raw TCP connections (any protocol) on loopback, v4 and v6.

    Used as a "should never be reached" target: a leak to it is counted even if
    it is TLS or garbage that an HTTP server would drop before recording.
    """

    def __init__(self) -> None:
        self.connections: list[str] = []
        self._socks = [socket.create_server(("127.0.0.1", 0))]
        self.port = self._socks[0].getsockname()[1]
        try:
            self._socks.append(socket.create_server(("::1", self.port),
                                                    family=socket.AF_INET6))
        except OSError:
            pass  # no IPv6 loopback here; the v4 listener still counts
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, args=(s,), daemon=True)
                         for s in self._socks]

    def _accept(self, sock: socket.socket) -> None:
        sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, addr = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(str(addr[0]))
            conn.close()

    def __enter__(self) -> ConnectionCounter:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(2)
        for sock in self._socks:
            sock.close()
