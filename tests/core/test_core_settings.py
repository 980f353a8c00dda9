"""Settings hold agency metadata only: secret-looking keys and values are refused."""

import base64
import hashlib
import io
import secrets

import pytest
from PIL import Image

from app.activity import SYSTEM
from app.extensions import db
from app.models import Activity, Setting, StoredFile
from app.settings import operations, queries
from app.settings.validation import SettingsError

GOOD = {"agency_name": "Bright Pixel", "postal_address": "1 High St\nLeeds LS1 1AA",
        "sender_name": "Ann at Bright Pixel", "sender_address": "ann@brightpixel.example",
        "brand_colour": "#12AB9f"}


def test_get_and_set_value_roundtrip(app):
    assert queries.get("agency_name", "fallback") == "fallback"
    operations.set_value("agency_name", "Acme", actor=SYSTEM)
    operations.set_value("campaign.defaults", {"niche": "dentists", "limits": [1, 2]}, actor=SYSTEM)
    db.session.commit()
    db.session.expire_all()
    assert queries.get("agency_name") == "Acme"
    assert queries.get("campaign.defaults") == {"niche": "dentists", "limits": [1, 2]}


@pytest.mark.parametrize("key", [
    "password", "smtp_password", "smtp_pass", "secret", "client_secret", "api_key", "apikey",
    "stripe.token", "key", "signing_key", "credentials", "dkim", "dkim_selector_key",
    "private_key", "aws_access_key", "auth_token", "Agency Name", "", "x" * 81,
])
def test_secret_looking_or_malformed_keys_are_refused(app, key):
    with pytest.raises(SettingsError) as err:
        operations.set_value(key, "harmless", actor=SYSTEM)
    assert "secret" in str(err.value) or "Setting names" in str(err.value)
    assert db.session.scalar(db.select(db.func.count()).select_from(Setting)) == 0


SECRET_VALUES = [
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----",
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "sk_test_51Hxyzabcdefghijkl",
    "AKIA" + "IOSFODNN7EXAMPLE",
    "xoxb-" + "123456789012-1234567890123-abcdefghijklmnop",
    "ghp_" + "a" * 20 + "1234567890AB",
    "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    hashlib.sha256(b"a random-looking key").hexdigest(),
    base64.urlsafe_b64encode(hashlib.sha256(b"another").digest()).decode().rstrip("="),
    "my smtp password: Tr0ub4dor&3",
    {"nested": ["ok", "sk_live_" + "abcdefgh12345678"]},
]


@pytest.mark.parametrize("value", SECRET_VALUES)
def test_secret_looking_values_are_refused_without_echo(app, value):
    with pytest.raises(SettingsError) as err:
        operations.set_value("agency_note", value, actor=SYSTEM)
    assert "looks like a secret" in str(err.value)
    flat = str(value)
    assert flat[8:30] not in str(err.value)
    assert db.session.get(Setting, "agency_note") is None


def test_configured_secret_values_are_refused(app):
    with pytest.raises(SettingsError):
        operations.set_value("agency_name", f"Acme {app.config['SECRET_KEY']}", actor=SYSTEM)


@pytest.mark.parametrize("value", [
    "Bright Pixel Ltd", "12 Market Street, Leeds LS1 6DT, United Kingdom", "#4f46e5",
    "https://www.bright-pixel-agency.example/contact-us", "hello@brightpixel.example",
    "brand-colour-2024-edition-final", "settings/logo-0123456789ab.png", 42, None, True,
    ["dentists", "plumbers"], "Supercalifragilisticexpialidocious",
])
def test_ordinary_values_are_accepted(app, value):
    operations.set_value("agency_note", value, actor=SYSTEM)
    assert queries.get("agency_note") == value


def test_admin_saves_settings_form(client, auth):
    admin = auth.login("admin")
    resp = client.post("/settings/", data=GOOD)
    assert resp.status_code == 302
    db.session.expire_all()
    values = queries.agency()
    assert Activity.query.filter_by(verb="settings.update", user_id=admin.id).count() == 1
    assert values["agency_name"] == "Bright Pixel"
    assert values["brand_colour"] == "#12ab9f"
    assert values["sender_address"] == "ann@brightpixel.example"
    assert db.session.get(Setting, "agency_name").updated_by_id == admin.id
    page = client.get("/settings/")
    assert b"Bright Pixel" in page.data and b"#12ab9f" in page.data
    css = client.get("/settings/brand.css")
    assert css.status_code == 200 and css.mimetype == "text/css" and b"#12ab9f" in css.data
    again = client.get("/settings/brand.css", headers={"If-None-Match": css.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("field, bad, message", [
    ("sender_address", "not an email", b"not a valid email address"),
    ("sender_address", "ann@", b"not a valid email address"),
    ("brand_colour", "blue", b"not a colour"),
    ("brand_colour", "#12345", b"not a colour"),
    ("brand_colour", "#gggggg", b"not a colour"),
    ("agency_name", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", b"looks like a secret"),
    ("postal_address", "-----BEGIN OPENSSH PRIVATE KEY-----", b"looks like a secret"),
])
def test_bad_settings_input_is_explained_and_nothing_is_saved(client, auth, field, bad, message):
    auth.login("admin")
    client.post("/settings/", data=GOOD)
    resp = client.post("/settings/", data={**GOOD, "agency_name": "Changed", field: bad})
    assert resp.status_code == 422 and message in resp.data
    db.session.expire_all()
    assert queries.get("agency_name") == "Bright Pixel"  # nothing half-written
    assert queries.get(field) == (GOOD[field] if field != "brand_colour" else "#12ab9f")


def test_secret_panel_shows_status_never_values(client, auth, app):
    app.config["SMTP_PASSWORD"] = "smtp-" + secrets.token_hex(12)
    auth.login("admin")
    page = client.get("/settings/").data.decode()
    assert "SMTP_PASSWORD" in page and "SECRET_KEY" in page and "DKIM_PRIVATE_KEY" in page
    assert "configured" in page and "not set" in page
    assert app.config["SMTP_PASSWORD"] not in page and app.config["SECRET_KEY"] not in page
    status = dict(queries.secret_status(app.config))
    assert status["SMTP_PASSWORD"] and status["SECRET_KEY"] and not status["DKIM_PRIVATE_KEY"]


def test_logo_upload_verified_and_served(client, auth, image_bytes):
    auth.login("admin")
    png = image_bytes("PNG")
    resp = client.post("/settings/logo", data={"logo": (io.BytesIO(png), "logo.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    key = queries.get("logo_file")
    row = StoredFile.query.filter_by(key=key).one()
    assert (row.owner_type, row.owner_id) == ("setting", 0)
    assert row.content_type == "image/png"
    served = client.get(f"/files/{key}")  # re-encoded by Pillow: the same picture
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert row.size == len(served.data) and served.data.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(served.data)).size == (40, 20)
    assert b"brand-logo" in client.get("/").data
    # a new logo replaces the old file
    jpeg = image_bytes("JPEG")
    client.post("/settings/logo", data={"logo": (io.BytesIO(jpeg), "logo.jpg")},
                content_type="multipart/form-data")
    db.session.expire_all()
    new_key = queries.get("logo_file")
    assert new_key != key and new_key.endswith(".webp")
    assert StoredFile.query.filter_by(key=key).count() == 0
    assert client.get(f"/files/{key}").status_code == 404
    client.post("/settings/logo/remove")
    db.session.expire_all()
    assert queries.get("logo_file") is None and StoredFile.query.count() == 0
    verbs = [a.verb for a in Activity.query.order_by(Activity.id)
             if a.verb.startswith("settings.")]
    assert verbs == ["settings.logo", "settings.logo", "settings.logo_removed"]


@pytest.mark.parametrize("payload, name, message", [
    (b"GIF89a" + b"\0" * 40, "logo.gif", b"PNG, JPEG or WebP"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "logo.svg", b"PNG, JPEG or WebP"),
    (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "logo.png", b"complete and undamaged"),
    (b"", "empty.png", b"empty"),
    (b"\x89PNG" + b"0" * (1024 * 1024 + 10), "huge.png", b"too large"),
])
def test_bad_logos_are_refused_with_a_message(client, auth, payload, name, message):
    auth.login("admin")
    resp = client.post("/settings/logo", data={"logo": (io.BytesIO(payload), name)},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and message in resp.data
    assert queries.get("logo_file") is None and StoredFile.query.count() == 0


def test_logo_gif_is_refused_even_if_pillow_reads_it(client, auth, image_bytes):
    auth.login("admin")
    gif = image_bytes("GIF")
    resp = client.post("/settings/logo", data={"logo": (io.BytesIO(gif), "logo.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and b"got GIF" in resp.data


def test_members_cannot_open_or_change_settings(client, auth):
    auth.login("member")
    assert client.get("/settings/").status_code == 403
    assert client.post("/settings/", data=GOOD).status_code == 403
    assert client.post("/settings/logo").status_code == 403
    assert client.post("/settings/logo/remove").status_code == 403
    assert queries.get("agency_name") is None
