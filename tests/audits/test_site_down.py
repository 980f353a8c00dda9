"""Issue 8 §4: a site broken for every visitor is a finished audit of kind *site down*
(a home page answering 404/410/5xx after retries, a certificate the browser refuses, a name
that does not exist), with what a visitor sees and no score; "we could not audit" (bot
walls, our DNS, an unstable server) stays a failed audit with its code.

All traffic stays on loopback; names are answered by a fake resolver, never real DNS.
"""

from __future__ import annotations

import http.server
import importlib.util
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.audits.cli import run_cli_audit
from app.audits.engine import AuditEngine, EngineConfig
from app.audits.engine.netguard import NameNotFound, TargetError
from app.audits.engine.pipeline import nxdomain_card, nxdomain_down

_spec = importlib.util.spec_from_file_location(
    "audit_sites_server", Path(__file__).parent / "sites" / "server.py"
)
sites = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sites)

pytestmark = pytest.mark.browser

ERROR_PAGE = (
    "<!doctype html><html lang=en><head><title>{title}</title></head>"
    "<body style='font-family:sans-serif'><h1>{title}</h1><p>{body}</p></body></html>"
)


class FakeResolver:
    """No real DNS: ``gone-bakery.test`` does not exist (NXDOMAIN); every other name fails
    the way an unreachable resolver does (no answer)."""

    def resolve(self, host: str, port: int) -> list[str]:
        if host.endswith("gone-bakery.test"):
            raise NameNotFound(host)
        raise TargetError("dns_failure", f"Looking up {host} timed out (fake resolver).")


class DeadSite:
    """Loopback server: error pages, a flapping server and bot-protection challenges."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            server_version, sys_version = "Apache/2.4.1 (Unix)", ""

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = self.path.split("?", 1)[0]
                site.hits[path] = site.hits.get(path, 0) + 1
                if path == "/broken":
                    return self._page(500, "Internal Server Error", "Fatal error in index.php")
                if path == "/gone":
                    return self._page(410, "Gone", "This page has been removed.")
                if path == "/flaky":  # 503 for the browser, fine when asked again
                    if site.hits[path] <= 2:
                        return self._page(503, "Service Unavailable", "Back soon.")
                    return self._page(200, "Flaky bakery", "We are open.")
                if path == "/challenge":
                    return self._page(503, "Just a moment...", "Checking your browser.")
                if path == "/cf":
                    return self._page(403, "Attention Required", "Sorry, you have been blocked",
                                      {"cf-mitigated": "challenge"})
                if path == "/cf503":
                    return self._page(503, "Bakery", "Please wait", {"cf-mitigated": "challenge"})
                if path == "/forbidden":
                    return self._page(403, "Forbidden", "No robots.")
                if path == "/slow-down":
                    return self._page(429, "Too Many Requests", "Slow down.")
                if path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", "http://www.gone-bakery.test/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._page(404, "Not Found", "The requested URL was not found.")

            def _page(self, status: int, title: str, body: str,
                      headers: dict[str, str] | None = None) -> None:
                data = ERROR_PAGE.format(title=title, body=body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def dead() -> Iterator[DeadSite]:
    site = DeadSite()
    yield site
    site.httpd.shutdown()
    site.httpd.server_close()


@pytest.fixture(scope="module")
def tls() -> Iterator[Any]:
    with sites.SiteServer(tls=True) as srv:  # a self-signed certificate
        yield srv


@pytest.fixture(scope="module")
def engine(dead: DeadSite, tls: Any) -> Iterator[AuditEngine]:
    eng = AuditEngine(EngineConfig(
        allow_targets=frozenset({dead.target, tls.target}), resolver=FakeResolver(),
        down_retry_delays=(0.2, 0.3), nxdomain_recheck=0.1, audit_timeout=40))
    yield eng
    eng.close()


def _image(shot: Any) -> Image.Image:
    im = Image.open(io.BytesIO(shot.data))
    im.load()
    return im


def _assert_site_down(result: Any, kind: str) -> dict[str, Any]:
    doc = result.document
    assert result.status == doc["status"] == "site_down", doc.get("error")
    assert result.finished and not result.ok and not result.transient
    assert doc["scores"] is None and doc["checks"] == [] and doc["error"] is None
    down = doc["site_down"]
    assert down["kind"] == kind and down["title"] and down["detail"]
    json.dumps(doc)
    names = {s.name for s in result.screenshots}
    assert {"desktop-viewport.jpg", "mobile-viewport.jpg", "desktop-thumb.webp",
            "mobile-thumb.webp"} <= names
    assert [m["name"] for m in doc["screenshots"]] == [s.name for s in result.screenshots]
    vp = next(s for s in result.screenshots if s.name == "mobile-viewport.jpg")
    # What a phone shows at its pixel ratio (390 × 844 CSS px; Chromium may round a row off).
    assert vp.width == 780 and abs(vp.height - 1688) <= 2
    desktop = _image(next(s for s in result.screenshots if s.name == "desktop-viewport.jpg"))
    assert desktop.size == (1366, 768)
    assert len(desktop.convert("L").getcolors(256) or []) > 2, "the capture is blank"
    return down


@pytest.mark.parametrize(("path", "status"), [("/broken", 500), ("/nothing-here", 404),
                                              ("/gone", 410)])
def test_home_page_answering_an_error_is_site_down(engine, dead, path, status):
    dead.hits.clear()
    result = engine.audit(dead.url(path))
    down = _assert_site_down(result, "http_status")
    ev = down["evidence"]
    assert ev["status"] == status and result.document["http_status"] == status
    # Asked again after pauses, directly: the browser's visit plus the two retries.
    assert [a.get("status") for a in ev["attempts"]] == [status] * 3
    assert ev["attempts"][0]["by"] == "browser" and ev["server"] == "Apache/2.4.1 (Unix)"
    assert f"HTTP {status}" in down["detail"] and dead.url(path) in down["detail"]


def test_a_server_that_recovers_is_not_down_but_retried(engine, dead):
    dead.hits.clear()
    result = engine.audit(dead.url("/flaky"))
    assert result.status == "http_error" and result.transient
    assert "503" in result.document["error"] and "200" in result.document["error"]
    assert result.document["scores"] is None and "site_down" not in result.document


@pytest.mark.parametrize(("path", "code"), [
    ("/challenge", "http_error"),   # a CDN challenge page answering 503
    ("/cf503", "http_error"),       # marked by the cf-mitigated header
    ("/cf", "http_client_error"),   # a bot wall answering 403
    ("/forbidden", "http_client_error"),
    ("/slow-down", "http_error"),   # 429: rate limited, retried
])
def test_bot_walls_and_refusals_stay_failed_audits(engine, dead, path, code):
    result = engine.audit(dead.url(path))
    assert result.status == code, result.document
    assert not result.finished and result.document["scores"] is None
    assert "site_down" not in result.document and result.screenshots == []


# Timing under a loaded 2-core machine (a real browser, real sockets): retried, never skipped.
@pytest.mark.flaky(reruns=2)
def test_refused_certificate_is_site_down_with_the_browser_warning(engine, tls):
    result = engine.audit(tls.url("/good/"))
    down = _assert_site_down(result, "certificate")
    ev = down["evidence"]
    assert ev["browser_error"] == "ERR_CERT_AUTHORITY_INVALID"
    assert ev["host"] == "127.0.0.1" and "self-signed" in (ev.get("verify_error") or "")
    assert "not private" in down["detail"] and "trusted authority" in down["detail"]
    # The capture is Chromium's interstitial: mostly white with the red warning sign.
    desktop = _image(next(s for s in result.screenshots if s.name == "desktop-viewport.jpg"))
    colors = desktop.convert("RGB").getcolors(1 << 24) or []
    reds = sum(n for n, (r, g, b) in colors if r > 180 and g < 90 and b < 90)
    assert reds > 500, "no certificate warning in the capture"


def test_name_that_does_not_exist_is_site_down_with_a_card(engine):
    result = engine.audit("http://gone-bakery.test/")
    down = _assert_site_down(result, "nxdomain")
    assert down["evidence"] == {"host": "gone-bakery.test", "url": "http://gone-bakery.test/",
                                "dns": "NXDOMAIN"}
    assert result.document["final_url"] is None and result.document["http_status"] is None


def test_redirect_to_a_name_that_does_not_exist_is_site_down(engine, dead):
    result = engine.audit(dead.url("/moved"))
    down = _assert_site_down(result, "nxdomain")
    assert down["evidence"]["host"] == "www.gone-bakery.test"


def test_lookup_that_gets_no_answer_is_ours_and_retried(engine):
    result = engine.audit("http://bakery.example/")
    assert result.status == "dns_failure" and result.transient
    assert result.document["scores"] is None and result.screenshots == []


def test_the_card_escapes_what_it_shows():
    down = nxdomain_down("x.test", "http://x.test/<script>alert(1)</script>")
    card = nxdomain_card(down)
    assert "<script>alert" not in card and "&lt;script&gt;" in card


def test_cli_exits_0_for_a_site_that_is_down(engine, dead, tmp_path, capsys):
    code = run_cli_audit(dead.url("/broken"), [dead.target], str(tmp_path), True, engine=engine)
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "site_down" and doc["scores"] is None
    assert doc["site_down"]["kind"] == "http_status"
    assert (tmp_path / "desktop-viewport.jpg").exists()
    assert (tmp_path / "mobile-viewport.jpg").exists()
    code = run_cli_audit(dead.url("/broken"), [dead.target], None, False, engine=engine)
    out = capsys.readouterr().out
    assert code == 0 and "SITE DOWN (http_status)" in out and "HTTP 500" in out
