"""Helpers shared by the public-page tests."""

from __future__ import annotations

from app.activity import SYSTEM
from app.extensions import db
from app.settings import operations as settings_ops

PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36")


def agency(**kw):
    values = {"agency_name": "Bright Pixel Studio", "postal_address": "1 Congress Ave\nAustin TX",
              "sender_name": "", "sender_address": "", "brand_colour": "#0f766e",
              "default_region": "", "agency_phone": "+1 512 555 0100",
              "agency_email": "hello@brightpixel.example.com", "website": "https://brightpixel.example.com",
              "booking_url": "https://brightpixel.example.com/book"}
    values.update(kw)
    settings_ops.save_agency(values, actor=SYSTEM)
    db.session.commit()
