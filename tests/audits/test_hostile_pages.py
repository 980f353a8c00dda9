"""RELIABILITY §6: hostile pages end within the limit with their code, leave no browser
process behind, and the next audit on the same engine succeeds. All traffic is loopback."""

from __future__ import annotations

import importlib.util
import socket
import time
from pathlib import Path

import pytest

from app.audits.engine import AuditEngine, EngineConfig
from app.audits.engine.document import is_transient
from app.audits.engine.netguard import TargetError

_spec = importlib.util.spec_from_file_location(
    "audit_sites_server", Path(__file__).parent / "sites" / "server.py"
)
sites = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sites)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LIMIT = 20.0


class FakeResolver:
    """No real DNS in tests: every name is unknown."""

    def resolve(self, host: str, port: int) -> list[str]:
        raise TargetError("dns_failure", f"{host} could not be found (fake resolver).")


@pytest.fixture(scope="module")
def servers():
    with sites.SiteServer() as http_srv, sites.SiteServer(tls=True) as tls_srv:
        yield http_srv, tls_srv


@pytest.fixture(scope="module")
def dead_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here any more: connection refused
    return port


@pytest.fixture(scope="module")
def engine(servers, dead_port):
    http_srv, tls_srv = servers
    eng = AuditEngine(
        EngineConfig(
            allow_targets=frozenset({http_srv.target, tls_srv.target, f"127.0.0.1:{dead_port}"}),
            audit_timeout=LIMIT,
            navigation_timeout=5,
            step_timeout=4,
            load_grace=2,
            max_bytes=8_000_000,
            resolver=FakeResolver(),
        )
    )
    yield eng
    eng.close()
    assert sites.chromium_descendants() == [], "engine.close() left chromium processes"


def _assert_recovers(engine, servers) -> None:
    assert sites.wait_no_renderers() == [], "a renderer process outlived its audit"
    nxt = engine.audit(servers[0].url("/good/"))
    assert nxt.status == "ok", nxt.document["error"]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/hostile/dialogs", "ok"),
        ("/hostile/popup", "ok"),
        ("/hostile/download", "download"),
        ("/hostile/reload", "navigation_loop"),
        ("/hostile/endless", "budget_exceeded"),
        ("/hostile/spin", "page_unresponsive"),
        ("/hostile/tall", "ok"),
        ("/hostile/loop", "redirect_loop"),
        ("/hostile/hang", "navigation_timeout"),
    ],
)
def test_hostile_page(engine, servers, path, code):
    start = time.monotonic()
    result = engine.audit(servers[0].url(path), timeout=LIMIT)
    elapsed = time.monotonic() - start
    assert result.status == code, result.document["error"]
    assert elapsed < LIMIT + 2
    if code != "ok":
        assert result.document["scores"] is None  # never "0/100"
        assert result.document["error"]
    _assert_recovers(engine, servers)


def test_tall_page_capture_is_capped(engine, servers):
    result = engine.audit(servers[0].url("/hostile/tall"))
    full = {s.form_factor: s for s in result.screenshots if s.kind == "full"}
    assert full["desktop"].height == engine.config.max_full_page_height
    assert result.document["screenshot_truncated"] == {"desktop": True, "mobile": True}


def test_tls_error(engine, servers):
    # A certificate the browser refuses is a site down for every visitor (issue 8 §4).
    result = engine.audit(servers[1].url("/good/"))
    assert result.status == "site_down"
    assert result.document["site_down"]["kind"] == "certificate"
    assert not is_transient("tls_error")
    _assert_recovers(engine, servers)


def test_connection_refused(engine, servers, dead_port):
    result = engine.audit(f"http://127.0.0.1:{dead_port}/")
    assert result.status == "connection_refused"
    assert result.transient
    _assert_recovers(engine, servers)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://10.0.0.1/", "blocked_address"),
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
        ("file:///etc/passwd", "unsupported_scheme"),
        ("javascript:alert(1)", "unsupported_scheme"),
        ("http://", "invalid_url"),
        ("http://nowhere.example/", "dns_failure"),
    ],
)
def test_rejected_before_browser(engine, url, code):
    start = time.monotonic()
    result = engine.audit(url)
    assert result.status == code
    assert time.monotonic() - start < 2
    assert result.document["scores"] is None
    # A lookup that gets no answer may be our network: retried (NXDOMAIN is a site down).
    assert is_transient(code) == (code == "dns_failure")


def test_browser_killed_between_audits_is_relaunched(engine, servers):
    import os
    import signal

    engine.audit(servers[0].url("/good/"))
    (pid,) = sites.chromium_descendants("browser")
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    result = engine.audit(servers[0].url("/good/"))
    assert result.status == "ok", result.document["error"]
    assert sites.chromium_descendants("browser") not in ([], [pid])
