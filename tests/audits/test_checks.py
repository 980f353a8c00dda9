"""Checks, contacts, scoring and annotation as pure functions: no browser needed."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.audits.engine.browser import PageRecorder
from app.audits.engine.checks import CATALOGUE_IDS, run_checks
from app.audits.engine.checks.accessibility import axe_findings
from app.audits.engine.checks.base import REGISTRY, run_check
from app.audits.engine.contacts import extract_contacts, normalize_phone, social_network
from app.audits.engine.document import Finding, error_document, is_transient
from app.audits.engine.scoring import RUBRIC_VERSION, score
from app.audits.engine.screenshots import annotate, build_screenshots, thumbnail


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
    ("title", "outcome", "length"),
    [
        ("", "fail", "info"),
        ("Home", "pass", "warn"),  # Lighthouse passes any non-empty title; length is ours
        ("A" * 70, "pass", "warn"),
        ("Rossi Plumbing in Springfield", "pass", "pass"),
    ],
)
def test_document_title_is_presence_and_length_is_ours(title, outcome, length):
    d = data(desktop=page(title=title), mobile=page(title=title))
    assert one("document-title", d).outcome == outcome
    assert one("title-length", d).outcome == length


def test_document_title_follows_axe_when_it_ran():
    axe = {"violations": [{"id": "document-title", "nodes": []}], "passes": []}
    assert one("document-title", data(axe=axe)).outcome == "fail"
    assert one("document-title", data(axe={"passes": ["document-title"]})).outcome == "pass"


@pytest.mark.parametrize(
    ("values", "outcome", "length"),
    [
        ([], "fail", "info"),
        (["   "], "fail", "info"),
        (["Short."], "pass", "warn"),
        (["x" * 120], "pass", "pass"),
        (["x" * 120, "y" * 120], "pass", "warn"),
    ],
)
def test_meta_description_is_presence_and_length_is_ours(values, outcome, length):
    d = data(desktop=page(meta_description=values))
    assert one("meta-description", d).outcome == outcome
    assert one("meta-description-length", d).outcome == length


def _h(level, text="x", tag=None):
    return {"level": level, "text": text, "tag": tag or f"h{level}", "selector": f"h{level}",
            "sr_visible": True}


def test_heading_order_is_axes_rule_and_h1_count_is_ours():
    # Without axe the collector's headings are judged by axe's rule.
    skip = [_h(1), _h(3)]
    assert one("heading-order", data(mobile=page(headings=skip))).outcome == "fail"
    starts_at_h2 = [_h(2), _h(3), _h(2)]  # the first heading may be any level
    d = data(desktop=page(headings=starts_at_h2), mobile=page(headings=starts_at_h2))
    assert one("heading-order", d).outcome == "pass"
    assert one("single-h1", d).outcome == "warn"  # no <h1>: our advice, not heading-order
    two = [_h(1), _h(2), _h(1)]
    d = data(desktop=page(headings=two), mobile=page(headings=two))
    assert one("heading-order", d).outcome == "pass"
    assert one("single-h1", d).outcome == "warn"
    assert one("heading-order", data(mobile=page(headings=[]))).outcome == "info"
    axe = {"violations": [{"id": "heading-order", "count": 1, "nodes": [
        {"target": "h4", "box": {"x": 0, "y": 9, "width": 9, "height": 9},
         "description": {"kind": "heading", "text": "Prices"}}]}]}
    f = one("heading-order", data(axe=axe))
    assert f.outcome == "fail" and f.evidence["elements"][0]["description"] == 'heading "Prices"'


def test_viewport_is_lighthouses_rule():
    for content, outcome in [
        ("width=device-width, user-scalable=no", "pass"),  # zoom: axe's meta-viewport
        ("width=1024", "pass"),
        ("initial-scale=1", "pass"),
        ("initial-scale=0.5, width=device-width", "fail"),
        ("user-scalable=yes", "fail"),
        ("width=abc", "fail"),
    ]:
        assert one("viewport", data(mobile=page(viewport=[content]))).outcome == outcome, content
    assert one("viewport", data(mobile=page(viewport=[]))).outcome == "fail"


def test_target_size_is_axes_verdict_with_descriptions():
    axe = {"violations": [{"id": "target-size", "count": 3, "nodes": [
        {"target": "#x", "box": {"x": 1, "y": 2, "width": 14, "height": 14},
         "summary": "Target has insufficient size (14px by 14px)",
         "description": {"kind": "link", "text": "Facebook"}}]}]}
    f = one("target-size", data(axe=axe))
    assert f.outcome == "fail" and f.evidence["form_factor"] == "mobile"
    el = f.evidence["elements"][0]
    assert list(el)[0] == "description" and el["description"] == 'link "Facebook"'
    assert el["box"]["width"] == 14
    assert one("target-size", data(axe={"passes": ["target-size"]})).outcome == "pass"
    assert one("target-size", data(axe={"inapplicable": ["target-size"]})).outcome == "info"
    assert one("target-size", data()).outcome == "not_checked"
    # Lighthouse counts "incomplete" (needs review) as a pass.
    assert one("target-size", data(axe={"incomplete": [{"id": "target-size"}]})).outcome == "pass"


def _links(*items, **kw):
    return [{"href": h, "raw_href": h, "lh_text": t, "text": t, "rel": "", **kw}
            for h, t in items]


def test_link_text_exclusions_like_lighthouse():
    here = "https://shop.test/"
    skipped = _links((here + "#more", "more"), ("javascript:void(0)", "click here"),
                     ("mailto:a@shop.test", "here"))
    skipped += _links(("https://shop.test/blog", "read more"), rel="nofollow")
    d = data(desktop=page(url=here, links=skipped))
    assert one("link-text", d).outcome == "pass"
    vague = _links(("https://shop.test/blog", "Read more "), ("https://x.test/", "Our menu"))
    f = one("link-text", data(desktop=page(url=here, links=vague)))
    assert f.outcome == "fail" and f.evidence["count"] == 1
    # Words that are not on Lighthouse's list pass; the list follows the link's language.
    assert one("link-text", data(desktop=page(url=here, links=_links(
        ("https://shop.test/a", "continue"))))).outcome == "pass"
    german = _links(("https://shop.test/a", "mehr"), text_lang="de")
    assert one("link-text", data(desktop=page(url=here, links=german))).outcome == "fail"
    english = _links(("https://shop.test/a", "mehr"), text_lang="en")
    assert one("link-text", data(desktop=page(url=here, links=english))).outcome == "pass"


def _link_el(rel, href, source="head", hreflang=""):
    return {"rel": rel, "href": href, "href_raw": href, "hreflang": hreflang, "source": source}


def test_canonical_like_lighthouse():
    def run(links, final="https://shop.test/menu", headers=None):
        nav = {"status": 200, "headers": headers or {}, "redirects": []}
        return one("canonical", data(final_url=final, nav=nav, desktop=page(link_elements=links)))

    same = "https://shop.test/menu"
    assert run([]).outcome == "pass"
    assert run([_link_el("canonical", same), _link_el("canonical", same)]).outcome == "pass"
    assert run([_link_el("canonical", same), _link_el("canonical", same + "2")]).outcome == "fail"
    # In <body> it is ignored, as search engines and Lighthouse ignore it.
    assert run([_link_el("canonical", same), _link_el("canonical", "https://x.test/",
                                                      "body")]).outcome == "pass"
    rel = {**_link_el("canonical", "https://shop.test/menu"), "href_raw": "/menu"}
    assert run([rel]).outcome == "fail"
    assert run([_link_el("canonical", "https://shop.test/")]).outcome == "fail"  # to the root
    assert run([_link_el("canonical", "https://shop.test/")], final="https://shop.test/"
               ).outcome == "pass"
    assert run([_link_el("canonical", "https://other.test/menu")]).outcome == "pass"
    # Link headers count like <head> links.
    hdr = {"link": '<https://shop.test/a>; rel="canonical", <https://shop.test/b>; rel=canonical'}
    assert run([], headers=hdr).outcome == "fail"


def test_hreflang_like_lighthouse():
    def run(links, headers=None):
        nav = {"status": 200, "headers": headers or {}, "redirects": []}
        return one("hreflang", data(nav=nav, desktop=page(link_elements=links)))

    assert run([]).outcome == "pass"
    good = [_link_el("alternate", "https://shop.test/de", hreflang="de-AT"),
            _link_el("alternate", "https://shop.test/", hreflang="x-default")]
    assert run(good).outcome == "pass"
    assert run([_link_el("alternate", "https://shop.test/x", hreflang="english")]
               ).outcome == "fail"
    relative = {**_link_el("alternate", "https://shop.test/fr", hreflang="fr"), "href_raw": "/fr"}
    assert run([relative]).outcome == "fail"
    assert run([{**relative, "source": "body"}]).outcome == "pass"  # ignored in <body>
    assert run([], headers={"link": "</fr>; rel=alternate; hreflang=fr"}).outcome == "fail"


def test_crawlable_anchors_like_lighthouse():
    def run(**link):
        base = {"href": "https://shop.test/x", "raw_href": "/x", "has_href": True, "role": "",
                "name": "", "id": "", "href_assoc": False, "listener": False}
        return one("crawlable-anchors", data(desktop=page(links=[{**base, **link}]))).outcome

    assert run() == "pass"
    assert run(raw_href="javascript:void(0)", href="javascript:void(0)") == "fail"
    assert run(raw_href="javascript:openMenu()", href="javascript:openMenu()") == "pass"
    assert run(raw_href="file:///c/menu.pdf") == "fail"
    assert run(raw_href="javascript:void(0)", role="button") == "pass"
    assert run(raw_href=None, has_href=False, href=None) == "pass"
    assert run(raw_href=None, has_href=False, href=None, listener=True) == "fail"
    assert run(raw_href="mailto:a@b.test", href="mailto:a@b.test") == "pass"


def test_html_lang_valid_uses_the_language_registry():
    assert one("html-lang-valid", data(desktop=page(lang="en-GB"))).outcome == "pass"
    assert one("html-lang-valid", data(desktop=page(lang="english"))).outcome == "fail"
    assert one("html-lang-valid", data(desktop=page(lang="xx"))).outcome == "fail"
    assert one("html-lang-valid", data(desktop=page(lang=""))).outcome == "not_checked"


def test_image_alt_is_axes_verdict():
    axe = {"violations": [{"id": "image-alt", "count": 2, "nodes": [
        {"target": "img", "box": {"x": 0, "y": 0, "width": 50, "height": 50},
         "html": "<img src=/team.jpg>", "description": {"kind": "image", "text": "team.jpg"}}]}]}
    f = one("image-alt", data(axe=axe))
    assert f.outcome == "fail" and f.evidence["elements"][0]["description"] == 'image "team.jpg"'
    assert one("image-alt", data(axe={"inapplicable": ["image-alt"]})).outcome == "info"
    assert one("image-alt", data()).outcome == "not_checked"
    owned = axe_findings({"violations": axe["violations"], "passes": ["image-alt"]})
    assert "image-alt" not in {f.id for f in owned}  # written once, by the check


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


def test_console_errors_count_a_missing_favicon_like_lighthouse():
    """Browsers ask for /favicon.ico by themselves; Lighthouse counts its 404 as a console
    error, so errors-in-console does too, and says plainly what it is."""
    rec = PageRecorder()
    failed = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    rec.note_console("error", failed, {"url": "https://shop.example/favicon.ico"})
    rec.note_console("warning", "deprecated API", {"url": "https://shop.example/"})
    assert rec.error_count == 1
    console = {"count": rec.error_count, "exceptions": 0, "errors": rec.console_errors,
               "details": rec.error_details}
    f = one("errors-in-console", data(console=console))
    assert f.outcome == "warn" and f.passed is False
    assert f.evidence["errors"][0]["description"].startswith("the site icon favicon.ico")


def test_phones_normalised_in_the_agencys_country_and_listed_once():
    """One number written four ways (text, tel: link, JSON-LD, international) is one phone;
    national numbers are read in the agency's country (settings), leads carry none."""
    pg = page(
        text="Call 020 7946 0958 or +44 20 7946 0958. Opening since 1987, cakes from 12.50.",
        links=[{"raw_href": "tel:02079460958", "selector": "a.call"}],
        jsonld=[{"@type": "Bakery", "telephone": "(020) 7946-0958"}],
    )
    c = extract_contacts({"desktop": pg, "mobile": pg}, "https://bakery.test/", region="GB")
    assert [p["value"] for p in c["phones"]] == ["+442079460958"]
    assert c["phones"][0]["display"] == "020 7946 0958"  # as people in the UK write it
    abroad = extract_contacts({"desktop": page(text="Call +44 20 7946 0958.")},
                              "https://bakery.test/", region="US")
    assert [p["display"] for p in abroad["phones"]] == ["+44 20 7946 0958"]
    # Without a country the same national number is still found once, as digits.
    c = extract_contacts({"desktop": page(text="Call 020 7946 0958.", links=[
        {"raw_href": "tel:020-7946-0958"}])}, "https://bakery.test/")
    assert [p["value"] for p in c["phones"]] == ["02079460958"]
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"
    assert normalize_phone("12", "GB") is None


def test_phone_finding_shows_numbers_as_people_write_them():
    phones = [{"value": "+442079460958", "display": "020 7946 0958", "source": "tel"}]
    f = one("phone-visible", data(contacts={"phones": phones}))
    assert f.outcome == "pass" and "020 7946 0958" in f.detail
    f = one("tap-to-call", data(contacts={"phones": phones}))
    assert f.evidence["phone"] == "020 7946 0958"


def test_console_errors_name_the_failing_resource_and_script_line():
    rec = PageRecorder()
    failed = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    rec.note_console("error", failed, {"url": "https://shop.example/js/widget.js",
                                       "lineNumber": 0, "columnNumber": 0})
    rec.note_error("TypeError: menu is null", exception=True,
                   stack="TypeError: menu is null\n    at https://shop.example/js/menu.js:3:6")
    rec.note_console("error", "Oops", {"url": "https://shop.example/app.js", "lineNumber": 41,
                                       "columnNumber": 2})
    console = {"count": rec.error_count, "exceptions": rec.exception_count,
               "errors": rec.console_errors, "details": rec.error_details}
    f = one("errors-in-console", data(console=console))
    assert f.outcome == "fail"
    described = [e["description"] for e in f.evidence["errors"]]
    assert described == ["the file widget.js failed to load", "menu.js, line 3", "app.js, line 42"]
    assert f.evidence["errors"][1]["url"] == "https://shop.example/js/menu.js"
    assert "widget.js failed to load" in f.detail


def test_missing_favicon_counts_even_when_the_browser_asked_late():
    """The browser's own /favicon.ico request often comes after we stop listening; the
    server-side fetch of it says what the browser logs (Lighthouse always sees it)."""
    missing = {"favicon": {"url": "https://shop.test/favicon.ico", "status": 404}}
    f = one("errors-in-console", data(server=missing))
    assert f.outcome == "warn" and f.evidence["count"] == 1
    assert f.evidence["errors"][0]["description"].startswith("the site icon favicon.ico")
    declared = data(server=missing, desktop=page(icons=["https://shop.test/icon.png"]))
    assert one("errors-in-console", declared).outcome == "pass"  # the browser asks for that
    found = {"favicon": {"url": "https://shop.test/favicon.ico", "status": 200}}
    assert one("errors-in-console", data(server=found)).outcome == "pass"
