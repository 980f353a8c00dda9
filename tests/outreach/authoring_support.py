"""Factories for the outreach authoring tests: a campaign with templates, leads with a
finished audit and findings (rows written as the audit job writes them), a published
public page, the agency's sender and postal address."""

from __future__ import annotations

from typing import Any

from app.activity import SYSTEM
from app.extensions import db
from app.models import (
    Audit,
    AuditStatus,
    Campaign,
    Finding,
    Lead,
    LeadStatus,
    TemplateVariant,
)
from app.models.base import utcnow
from app.outreach import operations as ops
from app.public import operations as public_ops
from app.settings.operations import save_agency

SUBJECT = "{{ business_name }}: your website scored {{ grade }}"
BODY = """Hi {% if first_name %}{{ first_name }}{% else %}there{% endif %},

We audited {{ website }} and found {{ finding_count }} things worth fixing:
{{ top_findings }}

The full report: {{ audit_link }}

{{ sender_name }}, {{ agency_name }}
"""
DOWN_SUBJECT = "{{ business_name }}: your website is down"
DOWN_BODY = "Hello,\n\n{{ site_down_problem }}\n\nDetails: {{ audit_link }}\n"


def agency(sender: str = "sam@brightweb.example", postal: str = "1 Main St, Porto") -> None:
    save_agency({"agency_name": "Bright Web", "postal_address": postal,
                 "sender_name": "Sam Lee", "sender_address": sender,
                 "brand_colour": "#4f46e5"}, actor=SYSTEM)
    db.session.flush()


def campaign(slug: str = "dentists", *, templates: bool = True) -> Campaign:
    c = Campaign(name=slug.title(), slug=slug)
    db.session.add(c)
    db.session.flush()
    if templates:
        ops.save_template(c, step=1, variant=TemplateVariant.STANDARD, subject=SUBJECT,
                          body=BODY, actor=SYSTEM)
        ops.save_template(c, step=1, variant=TemplateVariant.SITE_DOWN, subject=DOWN_SUBJECT,
                          body=DOWN_BODY, actor=SYSTEM)
    return c


def lead(c: Campaign, name: str = "Smile Dental", *, email: str | None = "ana@smile.example",
         contact: str | None = "Ana Ruiz", audited: bool = True, site_down: bool = False,
         score: int = 54, publish: bool = True, **extra: Any) -> Lead:
    domain = extra.pop("domain", None) or f"{name.lower().replace(' ', '')}.example"
    row = Lead(campaign_id=c.id, business_name=name, email=email, contact_name=contact,
               website_url=f"https://{domain}/", domain=domain, city="Porto",
               status=LeadStatus.NEW, **extra)
    db.session.add(row)
    db.session.flush()
    if audited:
        audit_for(row, site_down=site_down, score=score)
        if publish:
            publish_page(row)
    return row


def audit_for(row: Lead, *, site_down: bool = False, score: int = 54) -> Audit:
    audit = Audit(lead_id=row.id, url=row.website_url or "", final_url=row.website_url,
                  status=AuditStatus.SITE_DOWN if site_down else AuditStatus.SUCCEEDED,
                  score=None if site_down else score, finished_at=utcnow(),
                  snapshot={"site_down": {"title": "Connection refused",
                                          "detail": "Nothing answered on port 443."}}
                  if site_down else {})
    db.session.add(audit)
    db.session.flush()
    if not site_down:
        for i, (outcome, severity, title) in enumerate([
            ("fail", "high", "The page takes 6.1 s to show its main content"),
            ("warn", "medium", "Images have no text alternative"),
            ("fail", "critical", "The site has no HTTPS"),
            ("fail", "low", "No meta description"),
            ("pass", "low", "Title present"),
        ]):
            db.session.add(Finding(audit_id=audit.id, check_id=f"c{i}", category="seo",
                                   outcome=outcome, severity=severity, title=title))
    row.latest_audit_id = audit.id
    row.site_down = site_down
    row.score = None if site_down else score
    if row.status in (LeadStatus.NEW, LeadStatus.QUEUED):
        row.status = LeadStatus.AUDITED
    db.session.flush()
    return audit


def publish_page(row: Lead) -> None:
    audit = db.session.get_one(Audit, row.latest_audit_id)
    public_ops.publish(audit, actor=SYSTEM, peers=[])
    db.session.flush()
