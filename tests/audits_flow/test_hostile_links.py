"""Links planted by an audited site never become clickable non-http(s) links in our pages.

Replays the attack from the hardening review: a site links to
``javascript://facebook.com/x%0Aalert(1)``; it used to be kept as the business's
"Facebook" profile (checked by host only) and shown as a link on the audit page.
"""

from __future__ import annotations

from app.activity import SYSTEM
from app.audits import results
from app.audits.engine.contacts import extract_contacts
from app.audits.engine.document import error_document
from app.extensions import db
from app.models import Audit, AuditStatus
from app.untrusted import safe_url

HOSTILE = [
    "javascript://facebook.com/x%0Aalert(1)",
    "JavaScript://www.instagram.com/acme%0Aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript://linkedin.com/company/x",
    "https://facebook.com/acme\nalert(1)",
    "https://user:pass@facebook.com/acme",
    "//facebook.com/acme",
    " javascript:alert(1)",
]


def _page(links):
    return {"desktop": {"links": links, "text": "", "jsonld": []}, "mobile": {}}


def test_extraction_keeps_only_http_links():
    links = [{"href": h, "raw_href": h, "text": "Contact us", "selector": "a"} for h in HOSTILE]
    found = extract_contacts(_page(links), "https://acme.example/")
    assert found["social"] == [] and found["contact_page"] is None
    good = [{"href": "https://facebook.com/acme", "raw_href": "https://facebook.com/acme",
             "text": "Facebook", "selector": "a.fb"},
            {"href": "https://acme.example/contact", "raw_href": "/contact", "text": "Contact us",
             "selector": "a.c"}]
    found = extract_contacts(_page(links + good), "https://acme.example/")
    assert [s["url"] for s in found["social"]] == ["https://facebook.com/acme"]
    assert found["contact_page"]["url"] == "https://acme.example/contact"


def test_safe_url_is_the_one_check():
    for bad in [*HOSTILE, "", None, "ftp://x.example/", "https://", "http://a.example:99999/"]:
        assert safe_url(bad) is None, bad
    for good in ("https://facebook.com/acme", "http://127.0.0.1:8080/a?b=c#d"):
        assert safe_url(good) == good


def test_audit_page_never_links_a_hostile_url(client, auth, make_lead):
    """Even an audit stored before the fix (contacts holding hostile URLs) renders them
    as text: every outside URL goes through the same ``safe_url`` check."""
    auth.login(role="member")
    lead = make_lead("https://acme.example/")
    audit = Audit(lead_id=lead.id, status=AuditStatus.RUNNING, url="https://acme.example/")
    db.session.add(audit)
    db.session.flush()
    doc = error_document("https://acme.example/", "tls_error", None, rubric_version="t")
    results.record_result(audit, lead, doc, {}, SYSTEM)
    audit.final_url = HOSTILE[0]
    audit.contacts = {
        "emails": [], "phones": [],
        "contact_page": {"url": HOSTILE[1], "text": "Contact", "where": "a"},
        "social": [{"network": "facebook", "url": u, "where": "a"} for u in HOSTILE[:4]],
    }
    db.session.commit()
    html = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert "facebook.com/x%0Aalert(1)" in html  # shown, as text
    lowered = html.lower()
    for scheme in ("javascript:", "data:", "vbscript:"):
        assert f'href="{scheme}' not in lowered and f"href='{scheme}" not in lowered
