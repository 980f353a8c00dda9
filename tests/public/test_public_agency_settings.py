"""The agency's public details (Settings): phone, email, website and booking link are
validated with a clear message, and nothing is stored when one is refused."""

from __future__ import annotations

import pytest

from app.activity import SYSTEM
from app.settings import operations, queries
from app.settings.validation import SettingsError

BASE = {"agency_name": "Bright Pixel", "postal_address": "", "sender_name": "",
        "sender_address": "", "brand_colour": "#0f766e", "default_region": ""}


@pytest.mark.parametrize("field,value", [
    ("agency_phone", "call me maybe"), ("agency_phone", "12"), ("agency_phone", "9" * 30),
    ("agency_email", "not an email"), ("website", "javascript:alert(1)"),
    ("booking_url", "https://user:pw@cal.example.com/"), ("booking_url", "ftp://x.example.com"),
    ("website", "https://exa mple.com"),
])
def test_bad_public_details_are_refused_and_nothing_is_stored(app, field, value):
    with pytest.raises(SettingsError):
        operations.save_agency({**BASE, field: value}, actor=SYSTEM)
    assert queries.get(field) is None


def test_good_public_details_are_normalised(app, client, auth):
    auth.login("admin")
    resp = client.post("/settings/", data={**BASE, "agency_phone": " +1 (512) 555-0100 ",
                                           "agency_email": "Hello@Example.com",
                                           "website": "brightpixel.example.com",
                                           "booking_url": "https://cal.example.com/bp"})
    assert resp.status_code == 302, resp.data[:2000]
    assert queries.get("agency_phone") == "+1 (512) 555-0100"
    assert queries.get("website") == "https://brightpixel.example.com"
    assert queries.get("booking_url") == "https://cal.example.com/bp"
    page = client.get("/settings/").get_data(as_text=True)
    assert "Booking link" in page and "Phone for prospects" in page
