"""Fixtures for the audit flow: a small local-business site on loopback, allowlisted,
and factories for campaigns and leads. Nothing here talks to any non-loopback address."""

from __future__ import annotations

import http.server
import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from app.extensions import db
from app.models import Campaign, Lead

PAGE_V1 = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rosa's Bakery</title>
<style>
body{{margin:0;font-family:Georgia,serif;color:#3b2f2f;background:#fffaf3}}
header{{background:#7b3f00;color:#fff;padding:18px 28px;display:flex;justify-content:space-between}}
header a{{color:#ffe7c2;margin-left:16px;font-size:11px}}
.hero{{padding:40px 28px;background:#f3d9b1}} .hero h1{{font-size:40px;margin:0 0 10px}}
main{{padding:24px 28px;max-width:900px}} img{{max-width:100%}}
.tiny{{font-size:10px;color:#c9b8a6}} footer{{padding:20px 28px;background:#eee;font-size:12px}}
</style></head>
<body>
<header><strong>Rosa's Bakery</strong><nav><a href="/menu">Menu</a><a href="/about">About</a>
<a href="javascript:void(0)">Order</a></nav></header>
<section class="hero"><h1>Fresh bread every morning since 1987</h1>
<p>Sourdough, croissants and celebration cakes baked on Main Street.</p>
<img src="/img/cake.jpg"></section>
<main><h3>Our story</h3>
<p>Rosa opened the bakery with one oven and a family recipe for rye. Today the team bakes
more than forty kinds of bread, pastries and cakes every day, using flour from a local mill
and butter from farms in the valley. Come early for the cinnamon buns.</p>
<p class="tiny">Call us: 555 123 4567 or write to hello@rosas-bakery.test.
<a href="/about">click here</a> for opening hours.</p>
<img src="/img/cake.jpg"></main>
<footer>&copy; 2019 Rosa's Bakery &middot; 12 Main Street, Springfield</footer>
{script}
</body></html>"""

PAGE_V2 = """<!doctype html>
<html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rosa's Bakery · Fresh bread and cakes in Springfield</title>
<meta name="description" content="Family bakery on Main Street, Springfield: sourdough,
 croissants and celebration cakes baked fresh every morning since 1987.">
<style>
body{margin:0;font-family:Georgia,serif;color:#3b2f2f;background:#fffaf3;font-size:17px}
header{background:#7b3f00;color:#fff;padding:18px 28px}
.hero{padding:40px 28px;background:#f3d9b1} .hero h1{font-size:40px;margin:0 0 10px}
.cta{display:inline-block;background:#7b3f00;color:#fff;padding:14px 22px;border-radius:8px}
main{padding:24px 28px;max-width:900px} img{max-width:100%}
</style></head>
<body>
<header><strong>Rosa's Bakery</strong></header>
<section class="hero"><h1>Fresh bread every morning since 1987</h1>
<p>Sourdough, croissants and celebration cakes baked on Main Street.</p>
<a class="cta" href="tel:+15551234567">Call to order: 555 123 4567</a>
<img src="/img/cake.jpg" alt="A three-tier celebration cake" width="600" height="400"></section>
<main><h2>Our story</h2>
<p>Rosa opened the bakery with one oven and a family recipe for rye. Today the team bakes
more than forty kinds of bread, pastries and cakes every day, using flour from a local mill
and butter from farms in the valley. Come early for the cinnamon buns.</p>
<p>Write to <a href="mailto:hello@rosas-bakery.test">hello@rosas-bakery.test</a>.</p></main>
</body></html>"""


def _jpeg(width: int = 600, height: int = 400) -> bytes:
    im = Image.new("RGB", (width, height), (214, 160, 110))
    for y in range(0, height, 40):
        for x in range(0, width, 40):
            if (x + y) // 40 % 2:
                im.paste((240, 214, 180), (x, y, x + 40, y + 40))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80)
    return out.getvalue()


class Site:
    """The fixture site: ``version`` switches the home page; ``/hold`` waits for ``release``."""

    def __init__(self) -> None:
        self.version = 1
        self.down = False  # the home page answers 500 (a site that is down)
        self.hit = threading.Event()
        self.release = threading.Event()
        self.image = _jpeg()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = self.path.split("?", 1)[0]
                if path == "/img/cake.jpg":
                    return self._send(site.image, "image/jpeg")
                if path == "/to-blocked":
                    self.send_response(302)
                    # Loopback on the default port, not allowlisted: refused by the proxy.
                    self.send_header("Location", "http://127.0.0.2/private")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if path == "/hold":
                    site.hit.set()
                    site.release.wait(30)
                    return self._send(PAGE_V2.encode(), "text/html; charset=utf-8")
                if path in ("/", "/index.html") and site.down:
                    return self._send(b"<h1>Internal Server Error</h1>", "text/html", 500)
                if path in ("/", "/index.html"):
                    page = PAGE_V1.format(script="") if site.version == 1 else PAGE_V2
                    return self._send(page.encode(), "text/html; charset=utf-8")
                return self._send(b"not found", "text/plain", 404)

            def _send(self, data: bytes, ctype: str, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        # An allowlisted loopback port with nothing listening: "connection refused" (transient).
        self.refused_port = _closed_port()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def allow_targets(self) -> list[str]:
        return [f"127.0.0.1:{self.port}", f"127.0.0.1:{self.refused_port}"]


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    """One fixture site per session (so one engine config and one Chromium)."""
    s = Site()
    s.thread.start()
    yield s
    s.release.set()
    s.httpd.shutdown()
    s.httpd.server_close()
    from app.audits.engine import config_from_mapping, get_engine

    get_engine(config_from_mapping({"AUDIT_ALLOW_TARGETS": s.allow_targets,
                                    "AUDIT_TIMEOUT_SECONDS": 40})).close()


@pytest.fixture
def fresh_site(site: Site) -> Iterator[Site]:
    site.version, site.down = 1, False
    site.hit.clear()
    site.release.clear()
    yield site
    site.release.set()
    site.version, site.down = 1, False


@pytest.fixture
def app_config(app_config: dict[str, Any], site: Site) -> dict[str, Any]:
    return {**app_config, "AUDIT_ALLOW_TARGETS": site.allow_targets, "AUDIT_TIMEOUT_SECONDS": 40}


@pytest.fixture
def make_lead(app: Any) -> Any:
    """Factory: a lead (in a fresh campaign) with the given fields, committed."""
    counter = {"n": 0}

    def make(website_url: str | None = "http://example.com/", **fields: Any) -> Lead:
        counter["n"] += 1
        campaign = Campaign(name=f"Bakeries {counter['n']}", slug=f"bakeries-{counter['n']}")
        db.session.add(campaign)
        db.session.flush()
        lead = Lead(campaign_id=campaign.id, business_name=fields.pop("business_name",
                    "Rosa's Bakery"), website_url=website_url,
                    domain=fields.pop("domain", f"rosas-{counter['n']}.test"), **fields)
        db.session.add(lead)
        db.session.commit()
        return lead

    return make
