"""Right-to-left and zero-width tricks in names (issue 7, item 8).

A lead named ``Invoice\\u202egnp.exe`` showed as "Invoiceexe.png"; an agency name with
U+202E flipped the top bar of every page. Names lose bidirectional and zero-width controls
where they come in (forms, operations, CSV import), and user text is isolated with
``<bdi>`` where it is shown, so even a name stored before the fix cannot reorder what
follows it.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from app.activity import SYSTEM
from app.campaigns.operations import create_campaign
from app.extensions import db
from app.models import Campaign, Lead, User
from app.settings import operations as settings_ops
from app.settings import queries as settings_queries

RLO = "\u202e"
TRICKS = RLO + "\u202a\u2066\u200b\u200f\u2060\ufeff\u061c"
SPOOF = f"Invoice{RLO}gnp.exe"


def _clean(text: str) -> bool:
    return not any(ch in text for ch in TRICKS)


@pytest.fixture
def campaign(app):
    c = create_campaign("Dentists", "dentists", actor=SYSTEM)
    db.session.commit()
    return c


def test_a_lead_named_with_an_override_is_stored_without_it_and_shown_in_bdi(
        client, auth, campaign):
    auth.login("member")
    resp = client.post("/campaigns/dentists/leads/new", data={
        "business_name": SPOOF, "website_url": "invoice.example.com",
        "contact_name": "Ann\u200b\u2067Lee", "city": "Le\u200beds"})
    assert resp.status_code == 302
    lead = db.session.scalar(sa.select(Lead))
    assert lead.business_name == "Invoicegnp.exe"
    assert lead.contact_name == "AnnLee" and lead.city == "Leeds"
    show = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert '<h1 class="lead-title"><bdi>Invoicegnp.exe</bdi>' in show
    listing = client.get("/campaigns/dentists/leads").get_data(as_text=True)
    assert f'href="/leads/{lead.id}"><bdi>Invoicegnp.exe</bdi></a>' in listing
    assert _clean(show) and _clean(listing)
    # editing keeps it clean
    client.post(f"/leads/{lead.id}/edit", data={"business_name": "\u2066Smile" + RLO,
                                                 "website_url": "invoice.example.com"})
    db.session.refresh(lead)
    assert lead.business_name == "Smile"


def test_csv_cells_that_become_names_lose_the_controls(client, auth, campaign):
    auth.login("member")
    data = ("name,website,contact,city\n"
            f"{SPOOF},a.example.com,Bob\u200b{RLO}Ray,Y\u200bork\n").encode()
    resp = client.post("/campaigns/dentists/leads/import",
                       data={"file": (io.BytesIO(data), f"leads{RLO}vsc.exe")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    mapping = resp.headers["Location"]
    preview = client.get(mapping).get_data(as_text=True)
    assert f"leads{RLO}" not in preview  # the file name shown is cleaned too
    assert "<bdi>" + SPOOF + "</bdi>" in preview  # raw cells in the preview are isolated
    resp = client.post(mapping, data={"map_business_name": "0", "map_website_url": "1",
                                      "map_contact_name": "2", "map_city": "3",
                                      "commit": "yes"})
    assert resp.status_code == 302
    lead = db.session.scalar(sa.select(Lead))
    assert (lead.business_name, lead.contact_name, lead.city) == (
        "Invoicegnp.exe", "BobRay", "York")


def test_campaign_and_user_names_lose_the_controls(client, auth, campaign):
    admin = auth.login("admin")
    resp = client.post("/campaigns/new", data={"name": f"Spring{RLO}\u200b 2027",
                                               "sender_name": f"Ann{RLO}"})
    assert resp.status_code == 302
    created = db.session.scalar(sa.select(Campaign).where(Campaign.slug != "dentists"))
    assert created.name == "Spring 2027" and created.sender_name == "Ann"
    page = client.get(f"/campaigns/{created.slug}").get_data(as_text=True)
    assert "<h1><bdi>Spring 2027</bdi>" in page
    # a name made only of controls is no name at all
    resp = client.post(f"/campaigns/{created.slug}/edit", data={"name": RLO + "\u200b"})
    assert resp.status_code == 422 and "A campaign needs a name" in resp.get_data(as_text=True)

    resp = client.post(f"/users/{admin.id}", data={"name": f"Eve{RLO}lyn", "role": "admin"})
    assert resp.status_code in (200, 302, 303)
    db.session.expire_all()
    assert db.session.get(User, admin.id).name == "Evelyn"
    users = client.get("/users/").get_data(as_text=True)
    assert "<strong><bdi>Evelyn</bdi></strong>" in users


def test_agency_name_with_an_override_does_not_flip_the_top_bar(client, auth):
    auth.login("admin")
    resp = client.post("/settings/", data={"agency_name": f"Bright{RLO} Pixel",
                                           "brand_colour": "#4f46e5",
                                           "postal_address": f"1 High St{RLO}\nLeeds"})
    assert resp.status_code == 302
    assert settings_queries.get("agency_name") == "Bright Pixel"
    assert settings_queries.get("postal_address") == "1 High St\nLeeds"
    top = client.get("/").get_data(as_text=True)
    assert re.search(r'class="brand"[^>]*>.*<bdi>Bright Pixel</bdi></a>', top)
    assert _clean(top)


def test_a_name_stored_before_the_fix_stays_inside_its_bdi(client, auth, campaign):
    """Old rows may still hold the controls: each is shown inside its own <bdi>, so the
    override ends there instead of reversing the navigation after it."""
    auth.login("admin")
    settings_ops.set_value("agency_name", f"Bright{RLO}Pixel", actor=SYSTEM)
    db.session.execute(sa.update(Campaign).values(name=f"Old{RLO}name"))
    db.session.commit()
    settings_queries.clear_cache()
    top = client.get("/campaigns/").get_data(as_text=True)
    assert f"<bdi>Bright{RLO}Pixel</bdi></a>" in top
    assert f"<h2><bdi>Old{RLO}name</bdi></h2>" in top
    # every override in the page ends with the <bdi> holding it: the next tag closes it
    for match in re.finditer(RLO, top):
        assert top.startswith("</bdi>", top.find("<", match.start())), top[match.start():][:80]
