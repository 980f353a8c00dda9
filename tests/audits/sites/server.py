"""Loopback fixture server for audit tests and the benchmark: static sites + hostile pages.

Everything binds 127.0.0.1 on an ephemeral port; nothing here talks to another address.
"""

from __future__ import annotations

import functools
import http.server
import os
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

SITES = Path(__file__).parent

HOSTILE = {
    "/hostile/dialogs": (
        "<!doctype html><html lang=en><head><title>Dialogs everywhere on this page</title>"
        "<meta name=viewport content='width=device-width'></head><body><h1>Dialogs</h1>"
        "<script>alert('hi'); confirm('sure?'); prompt('name?');"
        "addEventListener('beforeunload', e => { e.preventDefault(); e.returnValue = 'stay'; });"
        "setTimeout(() => alert('later'), 10);</script><p>Call 555 123 4567</p></body></html>"
    ),
    "/hostile/popup": (
        "<!doctype html><html lang=en><head><title>Popups</title></head><body><h1>Popups</h1>"
        "<a id=x href='/good/' target=_blank>open</a>"
        "<script>window.open('/good/'); window.open('/hostile/popup');"
        "document.getElementById('x').click();</script></body></html>"
    ),
    "/hostile/reload": "<html><body>reloading<script>location.reload()</script></body></html>",
    "/hostile/spin": (
        "<!doctype html><html><head><title>Spin</title></head><body><h1>Spin</h1>"
        "<script>addEventListener('load', () => setTimeout(() => { while (true) {} }, 0));"
        "</script></body></html>"
    ),
    "/hostile/tall": (
        "<!doctype html><html lang=en><head><title>A page that is two hundred thousand px</title>"
        "<meta name=viewport content='width=device-width'></head><body><h1>Tall</h1>"
        "<div style='height:200000px;background:linear-gradient(#fff,#39f)'>tall</div>"
        "<p>end</p></body></html>"
    ),
}


#: Response headers of the rule pages (tests/audits/sites/rules) that need one.
RULE_HEADERS = {
    "/rules/link-header-canonical.html": (
        "Link",
        '<https://bakery.example/a>; rel="canonical", <https://bakery.example/b>; rel="canonical"',
    ),
}


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from ``SITES`` plus the hostile routes."""

    stop: threading.Event

    def __init__(self, *args, stop: threading.Event, **kwargs) -> None:
        self.stop = stop
        super().__init__(*args, directory=str(SITES), **kwargs)

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def end_headers(self) -> None:
        if self.path.endswith((".css", ".js", ".png", ".jpg", ".webp", ".svg")):
            self.send_header("Cache-Control", "public, max-age=86400")
        if self.path.split("?", 1)[0] in RULE_HEADERS:
            self.send_header(*RULE_HEADERS[self.path.split("?", 1)[0]])
        super().end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        path = self.path.split("?", 1)[0]
        if path in HOSTILE:
            return self._send(HOSTILE[path])
        route = getattr(self, "_r_" + path.removeprefix("/hostile/").replace("-", "_"), None)
        if path.startswith("/hostile/") and route:
            return route()
        if path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1] or 0)
            return self._redirect("/good/" if n <= 0 else f"/redirect/{n - 1}")
        return super().do_GET()

    def _send(self, body: str, ctype: str = "text/html; charset=utf-8", status: int = 200) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str, status: int = 302) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _r_loop(self) -> None:
        self._redirect("/hostile/loop")

    def _r_download(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Disposition", "attachment; filename=invoice.exe")
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"MZ\0\0")

    def _r_endless(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"<p>" + b"x" * 65000 + b"</p>\n"
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        try:
            while not self.stop.is_set():
                self.wfile.write(frame)
        except OSError:
            pass

    def _r_hang(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><head><title>Never finishes</title></head><body><p>wait")
        self.wfile.flush()
        self.stop.wait(120)


class SiteServer:
    """Threaded HTTP (and optionally HTTPS with a self-signed cert) server on loopback."""

    def __init__(self, tls: bool = False) -> None:
        self.stop = threading.Event()
        handler = functools.partial(Handler, stop=self.stop)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls:
            self._wrap_tls()
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _wrap_tls(self) -> None:
        tmp = tempfile.mkdtemp()
        cert, key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                key,
                "-out",
                cert,
            ],
            check=True,
            capture_output=True,
        )
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https"

    @property
    def target(self) -> str:
        """The host:port allowlist entry."""
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL for ``path``."""
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> SiteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def chromium_descendants(kind: str | None = None) -> list[int]:
    """PIDs of chromium processes descending from this process (``kind``: e.g. renderer)."""
    parents: dict[int, int] = {}
    cmds: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmds[int(entry)] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    mine, me = set(), os.getpid()
    for pid in parents:
        p, seen = pid, 0
        while p in parents and p != me and seen < 50:
            p, seen = parents[p], seen + 1
        if p == me and pid != me:
            mine.add(pid)
    found = [
        pid
        for pid in mine
        if "chrom" in cmds.get(pid, "")
        and "--type=" in cmds[pid]
        or "--remote-debugging-pipe" in cmds.get(pid, "")
    ]
    if kind == "browser":
        return sorted(pid for pid in found if "--type=" not in cmds[pid])
    return sorted(pid for pid in found if kind is None or f"--type={kind}" in cmds[pid])


def wait_no_renderers(timeout: float = 5.0) -> list[int]:
    """Poll until no renderer process of ours is left; returns the leftovers."""
    deadline = time.monotonic() + timeout
    left = chromium_descendants("renderer")
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = chromium_descendants("renderer")
    return left
