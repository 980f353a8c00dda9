"""Issue 8 §2: ``server-response-time`` as Lighthouse measures it (the root document, request
sent to response headers received, failing at 600 ms), from direct requests outside the
browser through the network guard: the median of repeated requests, the spread as evidence.
"What changed" calls a metric new or fixed only beyond max(10 %, the measured spread).

All traffic is loopback.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app.audits.engine import AuditEngine, EngineConfig, diff
from app.audits.engine.checks.base import REGISTRY, run_check
from app.audits.engine.fetch import measure_response_time
from app.audits.engine.netguard import TargetPolicy

PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Slow Bakery</title>"
    "<meta name=viewport content='width=device-width, initial-scale=1'></head>"
    "<body><h1>Slow Bakery</h1><p>Bread since 1987. Call 555 123 4567.</p></body></html>"
)


class SlowSite:
    """The home page answers after ``delay`` seconds (headers included), or after the next
    delay of ``plan`` while it lasts; nothing else waits."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.plan: list[float] = []
        self.home_hits = 0
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = self.path.split("?", 1)[0]
                if path == "/":
                    site.home_hits += 1
                    time.sleep(site.plan.pop(0) if site.plan else site.delay)
                    data, ctype, status = PAGE.encode(), "text/html; charset=utf-8", 200
                else:
                    data, ctype, status = b"not found", "text/plain", 404
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def slow() -> Iterator[SlowSite]:
    site = SlowSite()
    yield site
    site.httpd.shutdown()
    site.httpd.server_close()


def test_median_of_direct_requests_with_the_spread(slow):
    slow.delay, slow.home_hits = 0.25, 0
    measured = measure_response_time(slow.url(), TargetPolicy(frozenset({slow.target})),
                                     samples=3)
    assert slow.home_hits == 3 and len(measured["samples_ms"]) == 3 and not measured["errors"]
    # The server's 250 ms wait, plus what a (busy) test machine adds.
    assert all(v >= 250 for v in measured["samples_ms"]) and measured["median_ms"] < 900, measured
    assert measured["median_ms"] == sorted(measured["samples_ms"])[1]
    assert measured["spread_ms"] == max(measured["samples_ms"]) - min(measured["samples_ms"])
    assert measured["statuses"] == [200, 200, 200]


def test_the_measurement_goes_through_the_network_guard(slow):
    dialled: list[tuple[str, int]] = []

    def tripwire(ip: str, port: int, timeout: float) -> socket.socket:
        dialled.append((ip, port))
        raise AssertionError("must not connect")

    # Not allowlisted: a loopback address on a non-web port is refused before any dial.
    measured = measure_response_time(slow.url(), TargetPolicy(), samples=2, connect=tripwire)
    assert dialled == [] and measured["samples_ms"] == [] and measured["median_ms"] is None
    assert measured["errors"] and measured["errors"][0].startswith("port_not_allowed")


def _verdict(samples: list[int]) -> Any:
    data = {"server": {"response_time": {
        "url": "https://bakery.test/", "samples_ms": samples, "errors": [],
        "median_ms": sorted(samples)[len(samples) // 2] if samples else None,
        "spread_ms": (max(samples) - min(samples)) if samples else None}}}
    return run_check(REGISTRY["server-response-time"], data)


def test_verdict_is_lighthouses_600_ms():
    assert _verdict([590, 599, 610]).outcome == "pass"
    slow = _verdict([600, 620, 640])
    assert slow.outcome == "fail" and slow.title == "The server is slow to answer"
    assert slow.evidence["metric"] == {"value": 620, "unit": "ms", "threshold": 600,
                                       "spread": 40}
    assert slow.evidence["samples_ms"] == [600, 620, 640] and "620 ms" in slow.detail
    assert _verdict([]).outcome == "not_checked"


def _finding(value: float, outcome: str, spread: float = 0, threshold: float = 600,
             cid: str = "server-response-time", title: str = "") -> dict[str, Any]:
    return {"id": cid, "category": "speed", "outcome": outcome, "severity": "medium",
            "title": title, "evidence": {"metric": {"value": value, "threshold": threshold,
                                                    "unit": "ms", "spread": spread}}}


def test_metric_changes_count_only_beyond_the_noise_margin():
    # 550 -> 640 ms crosses 600 ms, but by less than 10 % of it (60 ms): not new.
    ch = diff.compare([_finding(550, "pass")], [_finding(640, "fail", title="Slow")], 1)
    assert ch.new == [] and [c.title for c in ch.within_noise] == ["Slow"]
    # ... by more than 60 ms: new.
    ch = diff.compare([_finding(550, "pass")], [_finding(700, "fail", title="Slow")], 1)
    assert [c.title for c in ch.new] == ["Slow"] and ch.within_noise == []
    # A measured spread wider than 10 % widens the margin (the new measurement's spread).
    ch = diff.compare([_finding(300, "pass")], [_finding(700, "fail", spread=150)], 1)
    assert ch.new == [] and len(ch.within_noise) == 1
    ch = diff.compare([_finding(300, "pass", spread=150)], [_finding(700, "fail", spread=20)], 1)
    assert len(ch.new) == 1
    # Fixed only when clearly back under the threshold.
    before = [_finding(800, "fail", title="The server is slow to answer")]
    ch = diff.compare(before, [_finding(560, "pass", title="Quick")], 1)
    assert ch.fixed == [] and len(ch.within_noise) == 1
    ch = diff.compare(before, [_finding(400, "pass", title="Quick")], 1)
    assert [c.title for c in ch.fixed] == ["The server is slow to answer"]
    # CLS-like thresholds: 10 % of 0.1.
    ch = diff.compare([_finding(0.05, "pass", threshold=0.1, cid="cls")],
                      [_finding(0.105, "warn", threshold=0.1, cid="cls")], 1)
    assert ch.new == []
    # Findings without a measured value keep the plain rule.
    ch = diff.compare([{"id": "viewport", "outcome": "pass", "title": "ok"}],
                      [{"id": "viewport", "outcome": "fail", "title": "No viewport"}], 1)
    assert [c.title for c in ch.new] == ["No viewport"]


def test_what_changed_speaks_in_titles_never_raw_ids():
    ch = diff.compare([{"id": "server-response-time", "outcome": "pass", "title": ""}],
                      [{"id": "server-response-time", "outcome": "fail", "title": ""}], 1)
    assert [c.title for c in ch.new] == ["Server response time"]


@pytest.mark.browser
# Timing under a loaded 2-core machine (a real browser, real sockets): retried, never skipped.
@pytest.mark.flaky(reruns=2)
def test_a_page_served_either_side_of_the_threshold(slow):
    """The same page audited while served either side of 600 ms (A, B, D, near it; C and E
    far enough that a loaded test machine's noise cannot hide the move). Each audit's home page is
    loaded twice by the browser (desktop, mobile), then measured three times directly; the
    plan sets those three delays. The verdict follows each measurement (stateless); "what
    changed" follows only the moves beyond max(10 %, the measured spread)."""
    plans = {
        "A": (0.45, [0.45, 0.45, 0.45]),  # pass
        "B": (0.64, [0.62, 0.64, 0.80]),  # fail, but spread ~180 ms: within noise of A
        "C": (1.20, [1.20, 1.20, 1.20]),  # fail, steady: clearly past 600 + 60 ms
        "D": (0.46, [0.40, 0.46, 0.58]),  # pass, spread ~180 ms: within noise of C
        "E": (0.10, [0.10, 0.10, 0.10]),  # pass, clearly under 600 - 60 ms
    }
    engine = AuditEngine(EngineConfig(allow_targets=frozenset({slow.target})))
    docs = {}
    try:
        for name, (browser, samples) in plans.items():
            slow.delay, slow.plan = browser, [browser, browser, *samples]
            result = engine.audit(slow.url())
            assert result.ok, result.document["error"]
            assert slow.plan == [], "the measurement did not come after the page loads"
            docs[name] = result.document
    finally:
        engine.close()

    def srt(doc: dict[str, Any]) -> dict[str, Any]:
        return next(c for c in doc["checks"] if c["id"] == "server-response-time")

    outcomes = {name: srt(doc)["outcome"] for name, doc in docs.items()}
    assert outcomes == {"A": "pass", "B": "fail", "C": "fail", "D": "pass", "E": "pass"}
    for name, doc in docs.items():
        ev = srt(doc)["evidence"]
        assert len(ev["samples_ms"]) == 3 and ev["median_ms"] >= sorted(plans[name][1])[1] * 1000
        assert doc["server_response_time"]["median_ms"] == ev["median_ms"]
    assert srt(docs["B"])["evidence"]["spread_ms"] >= 150

    measured = {n: srt(doc)["evidence"]["samples_ms"] for n, doc in docs.items()}

    def changes(a: str, b: str) -> diff.Changes:
        return diff.compare(docs[a]["checks"], docs[b]["checks"], previous_id=1)

    def ids(items: list[diff.Change]) -> list[str]:
        return [c.check_id for c in items if c.check_id == "server-response-time"]

    assert ids(changes("A", "B").new) == [] and ids(changes("A", "B").within_noise), measured
    assert ids(changes("A", "C").new) == ["server-response-time"], measured
    assert changes("A", "C").new[0].title == "The server is slow to answer"
    assert ids(changes("C", "D").fixed) == [] and ids(changes("C", "D").within_noise), measured
    assert ids(changes("C", "E").fixed) == ["server-response-time"], measured
