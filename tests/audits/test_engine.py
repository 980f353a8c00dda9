"""End to end: the engine audits fixture sites served on loopback through the audit proxy."""

from __future__ import annotations

import importlib.util
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from app.audits.cli import run_cli_audit
from app.audits.engine import AuditEngine, EngineConfig, config_from_mapping, get_engine
from app.audits.engine.checks import CATALOGUE_IDS
from app.audits.engine.scoring import RUBRIC_VERSION

_spec = importlib.util.spec_from_file_location(
    "audit_sites_server", Path(__file__).parent / "sites" / "server.py"
)
sites = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sites)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    with sites.SiteServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def engine(server):
    eng = AuditEngine(EngineConfig(allow_targets=frozenset({server.target})))
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def good(engine, server):
    return engine.audit(server.url("/good/"))


@pytest.fixture(scope="module")
def bad(engine, server):
    return engine.audit(server.url("/bad/"))


def _checks(result):
    return {c["id"]: c for c in result.document["checks"]}


def test_document_shape(good):
    doc = good.document
    assert doc["status"] == "ok" and doc["error"] is None
    assert doc["rubric_version"] == RUBRIC_VERSION
    for key in (
        "url",
        "final_url",
        "fetched_at",
        "scores",
        "metrics",
        "checks",
        "contacts",
        "screenshots",
        "timings",
        "platform",
        "js_libraries",
    ):
        assert key in doc
    json.dumps(doc)  # serialisable
    assert set(doc["metrics"]) == {"desktop", "mobile"}
    for ff in ("desktop", "mobile"):
        assert doc["metrics"][ff]["requests"] >= 3
        assert doc["metrics"][ff]["fcp"] is not None
    for phase in ("navigate", "desktop", "mobile", "checks", "screenshots", "total"):
        assert phase in doc["timings"]
    for c in doc["checks"]:
        assert c["outcome"] in ("pass", "fail", "warn", "info", "not_checked")
        assert c["passed"] is {"pass": True, "fail": False, "warn": False}.get(c["outcome"])


def test_every_catalogue_id_present(good, bad):
    for result in (good, bad):
        ids = set(_checks(result))
        assert set(CATALOGUE_IDS) <= ids
        assert len(ids) == len(result.document["checks"]), "duplicate check ids"


def test_good_site_scores_high(good):
    scores = good.document["scores"]
    assert scores["overall"] >= 80
    checks = _checks(good)
    for cid in (
        "viewport",
        "tap-to-call",
        "cta-above-fold",
        "phone-visible",
        "image-alt",
        "document-title",
        "structured-data",
        "heading-order",
        "color-contrast",
    ):
        assert checks[cid]["outcome"] == "pass", checks[cid]
    assert checks["is-on-https"]["outcome"] == "fail"  # loopback fixture is plain http


def test_bad_site_findings(bad, good):
    checks = _checks(bad)
    expected_fail = (
        "viewport",
        "image-alt",
        "is-crawlable",
        "heading-order",
        "html-has-lang",
        "tap-to-call",
        "cta-above-fold",
        "link-text",
        "crawlable-anchors",
        "color-contrast",
        "button-name",
        "errors-in-console",
        "target-size",
        "font-size",
        "meta-description",
    )
    for cid in expected_fail:
        assert checks[cid]["outcome"] == "fail", checks[cid]
    assert checks["image-alt"]["evidence"]["elements"][0]["box"]["width"] > 0
    assert checks["stale-copyright"]["evidence"]["year"] == 2019
    assert bad.document["scores"]["overall"] < good.document["scores"]["overall"] - 30
    assert bad.document["scores"]["opportunity"] > good.document["scores"]["opportunity"]


def test_contacts(good):
    contacts = good.document["contacts"]
    emails = {e["value"]: e["source"] for e in contacts["emails"]}
    assert emails["office@rossi-plumbing.test"] in ("json-ld", "obfuscated")
    assert any(p["value"] == "+15550102030" for p in contacts["phones"])
    assert contacts["social"][0]["network"] == "facebook"
    assert contacts["contact_page"]["url"].endswith("/contact")


def test_screenshots(good, bad):
    names = {s.name for s in good.screenshots}
    for ff in ("desktop", "mobile"):
        assert {f"{ff}-viewport.jpg", f"{ff}-full.jpg", f"{ff}-thumb.webp"} <= names
    for shot in good.screenshots + bad.screenshots:
        with Image.open(io.BytesIO(shot.data)) as im:
            assert im.size == (shot.width, shot.height)
    vp = next(s for s in good.screenshots if s.name == "mobile-viewport.jpg")
    assert (vp.width, vp.height) == (780, 1688)  # 390×844 at device scale factor 2
    annotated = [s for s in bad.screenshots if s.kind == "annotated"]
    assert annotated and len(annotated) <= 4
    assert [m["name"] for m in bad.document["screenshots"]] == [s.name for s in bad.screenshots]


def test_traffic_goes_through_proxy(good):
    assert good.document["proxy"]["requests"] >= 6  # loopback is not bypassed


def test_redirects_recorded(engine, server):
    result = engine.audit(server.url("/redirect/3"))
    assert result.ok
    assert result.document["final_url"].endswith("/good/")
    assert _checks(result)["redirect-chain"]["outcome"] == "fail"  # 4 hops


def test_missing_home_page_is_site_down_and_not_scored(engine, server):
    # Every visitor gets the 404 page: a finished audit of a site that is down (issue 8 §4;
    # tests/audits/test_site_down.py has the other kinds), never a score.
    result = engine.audit(server.url("/missing-page"))
    assert result.status == "site_down" and result.finished and not result.ok
    assert result.document["site_down"]["evidence"]["status"] == 404
    assert result.document["scores"] is None and result.document["checks"] == []
    assert not result.transient
    assert {s.name for s in result.screenshots} >= {"desktop-viewport.jpg", "mobile-viewport.jpg"}


def test_concurrent_audits_from_threads(engine, server):
    results = []

    def run():
        results.append(engine.audit(server.url("/good/")))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [r.status for r in results] == ["ok"] * 3


def test_waiting_for_a_place_does_not_count_against_the_time_limit(server):
    # Issue 8 §2: a busy worker (more threads than the engine's places) must not time
    # audits out while they wait: the limit starts when an audit gets its place.
    eng = AuditEngine(EngineConfig(allow_targets=frozenset({server.target}), concurrency=1,
                                   audit_timeout=12))
    try:
        with ThreadPoolExecutor(5) as pool:
            results = list(pool.map(eng.audit, [server.url("/good/")] * 5))
    finally:
        eng.close()
    assert [r.status for r in results] == ["ok"] * 5
    assert all(r.document["timings"]["total"] < 12_000 for r in results)


def test_cli_json_and_out(engine, server, tmp_path, capsys):
    code = run_cli_audit(server.url("/good/"), [server.target], str(tmp_path), True, engine=engine)
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "ok"
    assert (tmp_path / "desktop-full.jpg").exists()


def test_cli_error_exit(engine, capsys):
    assert run_cli_audit("ftp://example.com/", [], None, False, engine=engine) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("audit failed: unsupported_scheme") and "\n" not in err


def test_config_and_singleton():
    cfg = config_from_mapping(
        {"AUDIT_ALLOW_TARGETS": "127.0.0.1:1, 127.0.0.1:2", "AUDIT_TIMEOUT_SECONDS": 30}
    )
    assert cfg.allow_targets == {"127.0.0.1:1", "127.0.0.1:2"} and cfg.audit_timeout == 30
    eng = get_engine(cfg)
    try:
        assert get_engine(cfg) is eng
    finally:
        eng.close()
    assert get_engine(cfg) is not eng
    get_engine(cfg).close()
