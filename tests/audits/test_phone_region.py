"""The agency's country reads the phone numbers audited sites write without +country
(issue 8, §3): it is an optional agency setting, validated, and handed to every audit."""

from __future__ import annotations

from app.extensions import db
from app.settings import queries

AGENCY = {"agency_name": "Bright Pixel", "postal_address": "1 High St\nLeeds LS1 1AA",
          "sender_name": "Ann", "sender_address": "ann@brightpixel.example",
          "brand_colour": "#12ab9f"}


def test_default_region_is_an_optional_country_code(client, auth):
    auth.login("admin")
    assert client.post("/settings/", data=AGENCY).status_code == 302
    db.session.expire_all()
    assert queries.agency()["default_region"] == ""  # optional
    assert client.post("/settings/", data={**AGENCY, "default_region": "gb"}).status_code == 302
    db.session.expire_all()
    assert queries.agency()["default_region"] == "GB"
    page = client.get("/settings/").get_data(as_text=True)
    assert "Country for phone numbers" in page and 'value="GB"' in page
    bad = client.post("/settings/", data={**AGENCY, "default_region": "XX"})
    assert bad.status_code == 422 and "is not a country code" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert queries.agency()["default_region"] == "GB"


def test_audit_jobs_hand_the_region_to_the_engine(app, auth, client):
    """The job's lead details carry the region; the engine reads phones with it."""
    from app.audits import jobs
    from app.models import Campaign, Lead, Run

    auth.login("admin")
    client.post("/settings/", data={**AGENCY, "default_region": "DE"})
    campaign = Campaign(name="Bakeries", slug="bakeries")
    db.session.add(campaign)
    db.session.flush()
    lead = Lead(campaign_id=campaign.id, business_name="Bäckerei", domain="b.test",
                website_url="https://b.test/")
    db.session.add(lead)
    db.session.flush()
    run = Run(kind="audit", subject_type="lead", subject_id=lead.id,
              payload={"url": "https://b.test/"})
    db.session.add(run)
    db.session.commit()

    class Ctx:
        run_id, subject_type, subject_id = run.id, "lead", lead.id

        def fenced(self):
            import contextlib

            return contextlib.nullcontext()

    _, _, details = jobs._begin(Ctx(), "https://b.test/")
    assert details["region"] == "DE"
