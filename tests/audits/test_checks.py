"""Checks, contacts, scoring and annotation as pure functions: no browser needed."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.audits.checks import CATALOGUE_IDS, run_checks
from app.audits.checks.accessibility import axe_findings
from app.audits.checks.base import REGISTRY, run_check
from app.audits.contacts import extract_contacts, normalize_phone, social_network
from app.audits.document import Finding, error_document, is_transient
from app.audits.scoring import RUBRIC_VERSION, score
from app.audits.screenshots import annotate, build_screenshots, thumbnail


def page(**kw):
    base = {
        "title": "Rossi Plumbing — Plumbers in Springfield",
        "title_count": 1,
        "lang": "en",
        "meta_description": ["x" * 120],
        "viewport": ["width=device-width, initial-scale=1"],
        "robots": [],
        "canonical": [],
        "hreflang": [],
        "og": {},
        "headings": [{"level": 1, "text": "Hi", "selector": "h1"}],
        "images": [],
        "links": [],
        "targets": [],
        "ctas": [],
        "forms": [],
        "iframes": [],
        "jsonld": [],
        "blocking": [],
        "scripts": [],
        "stylesheets": [],
        "text": "word " * 300,
        "word_count": 300,
        "font": {"small_chars": 0, "total_chars": 100, "samples": []},
        "address_tags": [],
        "footer_text": "",
        "dom_size": 100,
        "doc_width": 390,
        "doc_height": 900,
        "viewport_width": 390,
        "viewport_height": 844,
        "visual_scale": 1,
        "perf": {},
        "libs": {},
        "globals": [],
        "generator": [],
    }
    base.update(kw)
    return base


def data(desktop=None, mobile=None, **kw):
    d = {
        "url": "https://shop.test/",
        "final_url": "https://shop.test/",
        "nav": {"status": 200, "headers": {}, "redirects": []},
        "desktop": desktop or page(),
        "mobile": mobile or page(),
        "contacts": {"phones": []},
        "metrics": {"desktop": {}, "mobile": {}},
        "network": {},
        "console": {"count": 0},
    }
    d.update(kw)
    return d


def one(check_id, d):
    return run_check(REGISTRY[check_id], d)


def test_catalogue_complete_without_data():
    findings = run_checks({})
    assert {f.id for f in findings} == set(CATALOGUE_IDS)
    assert all(f.outcome == "not_checked" for f in findings)
    assert score(findings)["overall"] is None  # nothing scored: no fake 0


@pytest.mark.parametrize(
    ("title", "outcome"),
    [("", "fail"), ("Home", "warn"), ("A" * 70, "warn"), ("Rossi Plumbing in Springfield", "pass")],
)
def test_document_title(title, outcome):
    assert one("document-title", data(desktop=page(title=title))).outcome == outcome


def test_heading_order():
    assert one("heading-order", data(desktop=page(headings=[]))).outcome == "fail"
    skip = [{"level": 1, "text": "a"}, {"level": 3, "text": "b", "selector": "h3"}]
    assert one("heading-order", data(desktop=page(headings=skip))).outcome == "warn"


def test_viewport_zoom_disabled():
    mob = page(viewport=["width=device-width, user-scalable=no"])
    assert one("viewport", data(mobile=mob)).outcome == "fail"
    assert one("viewport", data(mobile=page(viewport=[]))).outcome == "fail"
    assert one("viewport", data()).outcome == "pass"


def test_target_size_crowded():
    tiny = [
        {
            "selector": f"a{i}",
            "box": {"x": i * 15, "y": 0, "width": 14, "height": 14},
            "w": 14,
            "h": 14,
            "inline": False,
            "text": "x",
        }
        for i in range(4)
    ]
    f = one("target-size", data(mobile=page(targets=tiny)))
    assert f.outcome == "fail" and f.evidence["elements"][0]["box"]["width"] == 14
    spaced = [{**t, "box": {**t["box"], "x": i * 60}} for i, t in enumerate(tiny)]
    assert one("target-size", data(mobile=page(targets=spaced))).outcome == "pass"


def test_tap_to_call_needs_phone():
    assert one("tap-to-call", data()).outcome == "info"
    d = data(contacts={"phones": [{"value": "+15551234567"}]})
    assert one("tap-to-call", d).outcome == "fail"


def test_speed_thresholds():
    d = data(metrics={"desktop": {"lcp": 1200}, "mobile": {"lcp": 3000}})
    f = one("largest-contentful-paint", d)
    assert f.outcome == "warn" and f.evidence["worst"] == "mobile"
    d["metrics"]["mobile"]["lcp"] = 4500
    assert one("largest-contentful-paint", d).outcome == "fail"
    assert one("cumulative-layout-shift", data()).outcome == "not_checked"


def test_text_compression_and_cache():
    recs = [
        {
            "url": "https://shop.test/app.js",
            "type": "Script",
            "mime": "text/javascript",
            "status": 200,
            "bytes": 50_000,
            "headers": {},
        }
    ]
    d = data(network={"mobile": recs})
    assert one("uses-text-compression", d).outcome == "fail"
    assert one("cache-headers", d).outcome == "fail"
    recs[0]["headers"] = {"content-encoding": "br", "cache-control": "max-age=600"}
    assert one("uses-text-compression", d).outcome == "pass"
    assert one("cache-headers", d).outcome == "pass"


def test_https_and_mixed_content():
    assert one("is-on-https", data(final_url="http://shop.test/")).outcome == "fail"
    mixed = page(images=[{"src": "http://cdn.test/a.jpg"}])
    assert one("is-on-https", data(desktop=mixed)).outcome == "fail"
    assert one("is-on-https", data()).outcome == "pass"


def test_tls_expiry_warn():
    d = data(server={"https": {"tls": {"not_after": "2000-01-01T00:00:00+00:00"}}})
    assert one("tls-certificate", d).outcome == "fail"


def test_structured_data():
    ld = [
        {
            "@context": "https://schema.org",
            "@graph": [
                {
                    "@type": "Dentist",
                    "name": "D",
                    "telephone": "1",
                    "address": {"streetAddress": "x"},
                }
            ],
        }
    ]
    assert one("structured-data", data(desktop=page(jsonld=ld))).outcome == "pass"
    assert one("structured-data", data()).outcome == "warn"


def test_noindex_header():
    d = data(nav={"status": 200, "headers": {"x-robots-tag": "noindex"}, "redirects": []})
    assert one("is-crawlable", d).outcome == "fail"


def test_contacts_extraction():
    pg = page(
        text="Write to info [at] bakery [dot] co [dot] uk or sales@bakery.test. "
        "Call (020) 7946 0018. Since 2024. Order 12345678.",
        links=[
            {"raw_href": "mailto:Owner@Bakery.test?subject=hi", "selector": "a.m"},
            {"raw_href": "tel:+44 20 7946 0018", "selector": "a.t"},
            {"href": "https://www.instagram.com/bakery/", "raw_href": "x"},
            {"href": "https://www.facebook.com/sharer/sharer.php?u=x", "raw_href": "y"},
            {"href": "https://bakery.test/contact-us", "text": "Get in touch"},
        ],
        jsonld=[{"@type": "Bakery", "email": "ld@bakery.test", "telephone": "+44 20 1"}],
    )
    c = extract_contacts({"desktop": pg}, "https://bakery.test/")
    emails = {e["value"]: e["source"] for e in c["emails"]}
    assert emails == {
        "owner@bakery.test": "mailto",
        "ld@bakery.test": "json-ld",
        "info@bakery.co.uk": "obfuscated",
        "sales@bakery.test": "text",
    }
    phones = {p["value"] for p in c["phones"]}
    assert "+442079460018" in phones and "02079460018" in phones and "12345678" not in phones
    assert [s["network"] for s in c["social"]] == ["instagram"]
    assert c["contact_page"]["url"] == "https://bakery.test/contact-us"


def test_phone_and_social_helpers():
    assert normalize_phone("2024") is None
    assert normalize_phone("+1 (555) 010-2030") == "+15550102030"
    assert social_network("https://x.com/intent/tweet?text=a") is None
    assert social_network("https://x.com/rossi") == "x"


def test_axe_findings_group_and_not_run():
    axe = {
        "version": "4.12.1",
        "passes": ["label"],
        "violations": [
            {
                "id": "color-contrast",
                "impact": "serious",
                "help": "contrast",
                "count": 2,
                "nodes": [{"target": ".faint", "box": {"x": 1, "y": 2, "width": 3, "height": 4}}],
            }
        ],
    }
    found = {f.id: f for f in axe_findings(axe)}
    assert found["color-contrast"].outcome == "fail" and found["color-contrast"].severity == "high"
    assert found["label"].outcome == "pass" and found["frame-title"].outcome == "info"
    assert {f.outcome for f in axe_findings(None)} == {"not_checked"}


def test_scoring_and_errors():
    fs = [
        Finding("a", "seo", "pass", "high", "t"),
        Finding("b", "seo", "fail", "high", "t"),
        Finding("c", "seo", "not_checked", "high", "t"),
        Finding("d", "seo", "info", "info", "t"),
    ]
    s = score(fs)
    assert s["seo"] == 50 and s["mobile"] is None and s["overall"] == 50 and s["opportunity"] > 0
    doc = error_document("http://x.test/", "dns_failure", None, rubric_version=RUBRIC_VERSION)
    assert doc["scores"] is None and doc["status"] == "dns_failure" and doc["error"]
    assert is_transient("timeout") and is_transient("browser_crash")
    assert not is_transient("blocked_address") and not is_transient("ok")


def _jpeg(w, h):
    out = io.BytesIO()
    Image.new("RGB", (w, h), "white").save(out, "JPEG")
    return out.getvalue()


def test_annotation_draws_boxes():
    raw = {
        "viewport": _jpeg(1366, 768),
        "full": _jpeg(1366, 3000),
        "scale": 1.0,
        "full_scale": 1.0,
        "height_css": 3000,
        "truncated": False,
    }
    f = Finding(
        "image-alt",
        "seo",
        "fail",
        "high",
        "No alt",
        evidence={
            "elements": [
                {"selector": "img", "box": {"x": 100, "y": 1000, "width": 200, "height": 100}}
            ]
        },
    )
    shot = annotate(raw, f, "desktop", 80)
    with Image.open(io.BytesIO(shot.data)) as im:
        px = im.getpixel((98, 60 + 50))
        assert px[0] > 180 > px[1]  # red frame just outside the box
        assert im.getpixel((200, 60 + 50)) > (240, 240, 240)  # inside untouched
    shots = build_screenshots({"desktop": raw}, [f], thumb_width=300, top=4, quality=70)
    assert [s.kind for s in shots] == ["viewport", "full", "thumbnail", "annotated"]
    data_, w, h = thumbnail(raw["viewport"], 300)
    assert (w, h) == (300, 169)


def test_console_errors_ignore_the_browsers_own_favicon_request():
    """Chromium fetches /favicon.ico by itself; its 404 is not an error on the page."""
    from app.audits.browser import PageRecorder

    rec = PageRecorder()
    failed = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    rec.note_console("error", failed, {"url": "https://shop.example/favicon.ico"})
    rec.note_console("warning", "deprecated API", {"url": "https://shop.example/"})
    assert rec.error_count == 0 and rec.console_errors == []
    rec.note_console("error", failed, {"url": "https://shop.example/app.js"})
    rec.note_console("error", "TypeError: x is undefined", None)
    assert rec.error_count == 2 and rec.console_errors[1] == "TypeError: x is undefined"
