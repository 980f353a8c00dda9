"""The staff audit page puts problems first and speaks plainly (issue 8, §3): element
findings lead with what a business owner calls the element and the annotated crop, CSS
selectors sit behind "Technical details", and passing or not-applicable rows are folded."""

from __future__ import annotations

import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app.activity import SYSTEM
from app.audits import results
from app.audits.engine import AuditEngine, EngineConfig
from app.extensions import db
from app.models import Campaign, Lead, Run

SITES = Path(__file__).parent / "sites"
_spec = importlib.util.spec_from_file_location("audit_sites_server", SITES / "server.py")
sites = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sites)


@pytest.fixture(scope="module")
def sample():
    """A real audit of a page with an image without alt text, tiny icons and a vague link."""
    with sites.SiteServer() as srv:
        engine = AuditEngine(EngineConfig(allow_targets=frozenset({srv.target})))
        try:
            yield engine.audit(srv.url("/rules/report-sample.html"))
        finally:
            engine.close()


def _save(result) -> int:
    campaign = Campaign(name="Bakeries", slug="bakeries")
    db.session.add(campaign)
    db.session.flush()
    lead = Lead(campaign_id=campaign.id, business_name="Rosa's Bakery",
                website_url=result.document["url"], domain="rosas.test")
    db.session.add(lead)
    db.session.flush()
    run = Run(kind="audit", subject_type="lead", subject_id=lead.id,
              payload={"url": result.document["url"]})
    db.session.add(run)
    db.session.flush()
    audit = results.begin_audit(run.id, lead.id, result.document["url"])
    shots = {s.name: results.store_screenshot(audit.id, s) for s in result.screenshots}
    results.record_result(audit, lead, result.document, shots, SYSTEM)
    db.session.commit()
    return audit.id


class Findings(HTMLParser):
    """Each finding <li>: its check id, whether it sits in a folded <details>, its text
    outside "Technical details", and whether it holds a crop."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict]] = []
        self.found: dict[str, dict] = {}
        self.current: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append((tag, a))
        if tag == "li" and "data-check" in a:
            folded = any(t == "details" and "passed" in (x.get("class") or "")
                         for t, x in self.stack[:-1])
            self.current = {"folded": folded, "plain": "", "technical": "", "crop": False,
                            "depth": len(self.stack)}
            self.found[a["data-check"]] = self.current
        if self.current and tag == "img" and "annotated" in (a.get("src") or ""):
            self.current["crop"] = True

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if self.current and len(self.stack) < self.current["depth"]:
                self.current = None
            if t == tag:
                break

    def handle_data(self, data):
        if not self.current:
            return
        technical = any(t == "details" and "technical" in (x.get("class") or "")
                        for t, x in self.stack)
        self.current["technical" if technical else "plain"] += data


@pytest.mark.browser
def test_problems_first_in_plain_words_with_selectors_folded(client, auth, sample):
    assert sample.ok, sample.document.get("error")
    audit_id = _save(sample)
    auth.login(role="member")
    html = client.get(f"/audits/{audit_id}").get_data(as_text=True)
    parser = Findings()
    parser.feed(html)
    f = parser.found

    alt = f["image-alt"]
    assert not alt["folded"] and 'image "logo.png"' in alt["plain"]
    assert "img" not in re.sub(r'image "logo.png"', "", alt["plain"])  # no selector up front
    assert "img" in alt["technical"]  # the selector is behind "Technical details"
    tap = f["target-size"]
    assert 'link "Facebook"' in tap["plain"] and tap["crop"], tap
    assert "24 × 24 px" in tap["plain"]
    assert 'link "Read more"' in f["link-text"]["plain"]

    outcomes = {c["id"]: c["outcome"] for c in sample.document["checks"]}
    for check_id, entry in f.items():
        if outcomes[check_id] in ("pass", "not_checked"):
            assert entry["folded"], check_id
        elif outcomes[check_id] in ("fail", "warn"):
            assert not entry["folded"], check_id
    not_applicable = [c["id"] for c in sample.document["checks"]
                      if c["evidence"].get("not_applicable")]
    assert not_applicable and all(f[i]["folded"] for i in not_applicable)
    # In each category the problems come before the folded rows.
    seo = html[html.index('id="cat-seo"'):]
    seo = seo[: seo.index('class="card category"')] if 'class="card category"' in seo else seo
    assert seo.index('id="check-image-alt"') < seo.index('data-list="passed"')
