"""Fixtures for public pages: campaigns, leads and finished audits with real stored
screenshots (JPEGs written through app.storage), built the way the audit job saves them
(app.audits.results.record_result), so pages render from a real frozen snapshot."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from app.activity import SYSTEM
from app.audits import results
from app.audits.engine.document import Screenshot
from app.extensions import db
from app.models import Audit, Campaign, Lead, Run

CHECKS = [
    {"id": "tap-to-call", "category": "mobile", "outcome": "fail", "severity": "high",
     "title": "Your phone number cannot be tapped to call", "detail": "",
     "evidence": {"elements": [{"description": "the number 555 123 4567 in the footer"}]}},
    {"id": "cta-above-fold", "category": "conversion", "outcome": "fail", "severity": "high",
     "title": "No clear call to action on the first screen", "detail": "", "evidence": {}},
    {"id": "image-alt", "category": "seo", "outcome": "warn", "severity": "high",
     "title": "2 images have no description", "detail": "",
     "evidence": {"elements": [{"description": "the cake photo"}]}},
    {"id": "largest-contentful-paint", "category": "speed", "outcome": "warn",
     "severity": "high", "title": "The main content appears after 3.1 s", "detail": "",
     "evidence": {}},
    {"id": "is-on-https", "category": "security", "outcome": "pass", "severity": "high",
     "title": "The site is served securely over HTTPS", "detail": "", "evidence": {}},
    {"id": "phone-visible", "category": "conversion", "outcome": "pass", "severity": "high",
     "title": "Visitors can find a phone number", "detail": "", "evidence": {}},
    {"id": "viewport", "category": "mobile", "outcome": "pass", "severity": "critical",
     "title": "The page fits phone screens", "detail": "", "evidence": {}},
    {"id": "platform", "category": "conversion", "outcome": "info", "severity": "info",
     "title": "Built with WordPress", "detail": "", "evidence": {}},
]
SCORES = {"overall": 62, "speed": 71, "mobile": 55, "seo": 80, "accessibility": 93,
          "security": 100, "conversion": 40, "opportunity": 70}


def jpeg(width: int, height: int, colour: tuple[int, int, int] = (200, 120, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=70)
    return out.getvalue()


def shots() -> list[Screenshot]:
    return [
        Screenshot("desktop-viewport.jpg", "image/jpeg", 640, 400, jpeg(640, 400), "viewport",
                   "desktop"),
        Screenshot("mobile-viewport.jpg", "image/jpeg", 195, 422, jpeg(195, 422), "viewport",
                   "mobile"),
        Screenshot("mobile-annotated-tap-to-call.jpg", "image/jpeg", 390, 200,
                   jpeg(390, 200, (240, 60, 60)), "annotated", "mobile"),
    ]


def document(url: str, *, scores: dict[str, Any] | None = None,
             checks: list[dict[str, Any]] | None = None, status: str = "ok") -> dict[str, Any]:
    doc: dict[str, Any] = {"status": status, "url": url, "final_url": url, "http_status": 200,
                           "rubric_version": "test", "scores": scores or dict(SCORES),
                           "checks": checks if checks is not None else list(CHECKS),
                           "metrics": {}, "timings": {"total": 1000}, "contacts": {}}
    if status == "site_down":
        doc["http_status"] = 503
        doc["site_down"] = {"kind": "http_error", "title": "The site answers with an error",
                            "detail": "Every visit gets HTTP 503 Service Unavailable.",
                            "evidence": {"status": 503}}
        doc["scores"], doc["checks"] = {}, []
    return doc


@pytest.fixture
def factory(app: Any) -> Any:
    return Factory()


class Factory:
    def __init__(self) -> None:
        self.n = 0

    def campaign(self, name: str = "Dentists in Austin", niche: str = "dentists") -> Campaign:
        self.n += 1
        c = Campaign(name=name, slug=f"c-{self.n}", niche=niche)
        db.session.add(c)
        db.session.flush()
        return c

    def lead(self, campaign: Campaign | None = None, name: str = "Rosa's Dental",
             city: str | None = "Austin", **kw: Any) -> Lead:
        self.n += 1
        campaign = campaign or self.campaign()
        lead = Lead(campaign_id=campaign.id, business_name=name, city=city,
                    website_url=f"https://site{self.n}.test/", domain=f"site{self.n}.test", **kw)
        db.session.add(lead)
        db.session.flush()
        return lead

    def audit(self, lead: Lead, *, status: str = "ok", scores: dict[str, Any] | None = None,
              checks: list[dict[str, Any]] | None = None, with_shots: bool = True) -> Audit:
        run = Run(kind="audit", subject_type="lead", subject_id=lead.id, payload={},
                  status="succeeded", max_attempts=3)
        db.session.add(run)
        db.session.flush()
        audit = results.begin_audit(run.id, lead.id, lead.website_url or "")
        stored = {}
        if with_shots:
            for shot in shots():
                stored[shot.name] = results.store_screenshot(audit.id, shot)
        doc = document(lead.website_url or "", scores=scores, checks=checks, status=status)
        results.record_result(audit, lead, doc, stored, SYSTEM)
        db.session.commit()
        return audit


# ------------------------------------------------------------------ a site to audit for real
SITE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Austin Smiles</title>
<style>
body{margin:0;font-family:Georgia,serif;color:#333;background:#fff}
header{background:#245;color:#fff;padding:16px 24px}
.hero{padding:32px 24px;background:#def} main{padding:24px;max-width:860px}
.tiny{font-size:10px;color:#aaa} img{max-width:100%}
</style></head>
<body><header><strong>Austin Smiles Dental</strong></header>
<section class="hero"><h1>Gentle family dentistry in Austin</h1>
<p>Check-ups, cleaning, whitening and emergency care for the whole family.</p>
<img src="/img/team.jpg"></section>
<main><h3>About us</h3><p>Our friendly team has looked after Austin families for twenty years,
with evening appointments, a calm clinic and the latest equipment for comfortable care.</p>
<p class="tiny">Call 512 555 0147 or drop by 400 Congress Avenue, Austin TX 78701.</p></main>
<footer>&copy; 2018 Austin Smiles Dental</footer></body></html>"""


class Site:
    """A small local-business site on loopback for real audits (allowlisted per test)."""

    def __init__(self) -> None:
        import http.server
        import threading

        image = jpeg(600, 400, (90, 140, 190))

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = self.path.split("?", 1)[0]
                if path == "/img/team.jpg":
                    return self._send(image, "image/jpeg")
                if path == "/":
                    return self._send(SITE_PAGE.encode(), "text/html; charset=utf-8")
                return self._send(b"not found", "text/plain", 404)

            def _send(self, data: bytes, ctype: str, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.httpd.server_port}"

    def url(self, path: str = "/") -> str:
        return f"http://{self.target}{path}"


@pytest.fixture(scope="session")
def site() -> Any:
    s = Site()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()
