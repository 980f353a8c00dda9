"""Hostile logo uploads (issue 7, item 10): a logo is decoded to its last byte, both
sides are bounded, and what is stored is Pillow's own re-encoding, never the upload."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from app.models import StoredFile
from app.settings import queries
from app.settings.validation import LOGO_MAX_SIDE, SettingsError, clean_logo

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def _post(client, data: bytes, name: str = "logo.png"):
    return client.post("/settings/logo", data={"logo": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _png(size=(64, 32), mode="RGBA") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 255) if mode == "RGBA" else 7).save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def polyglot() -> bytes:
    """A valid PNG that is also an HTML page: HTML in a text chunk and after IEND."""
    png = _png()
    iend = png.rindex(b"IEND") - 4
    text = _chunk(b"tEXt", b"Comment\x00" + HTML)
    return png[:iend] + text + png[iend:] + HTML


def test_a_truncated_png_is_refused_and_nothing_is_stored(client, auth):
    auth.login("admin")
    png = _png((300, 200))
    truncated = png[: len(png) * 2 // 3]
    assert Image.open(io.BytesIO(truncated)).size == (300, 200)  # the header still reads
    resp = _post(client, truncated)
    assert resp.status_code == 422
    assert b"complete and undamaged" in resp.data
    assert queries.get("logo_file") is None and StoredFile.query.count() == 0
    assert b"brand-logo" not in client.get("/").data  # the top bar shows no broken logo


@pytest.mark.parametrize("size", [(5000, 3000), (3000, 5000), (LOGO_MAX_SIDE + 1, 1)])
def test_each_side_is_bounded_not_just_the_area(client, auth, size):
    auth.login("admin")
    resp = _post(client, _png(size, mode="L"))
    assert resp.status_code == 422
    assert f"{size[0]} × {size[1]} pixels".encode() in resp.data
    assert f"at most {LOGO_MAX_SIDE} pixels".encode() in resp.data
    assert StoredFile.query.count() == 0


def test_the_largest_side_allowed_is_accepted():
    data, ext, _type = clean_logo(_png((LOGO_MAX_SIDE, 8), mode="L"))
    assert ext == "png" and Image.open(io.BytesIO(data)).size == (LOGO_MAX_SIDE, 8)


def test_a_png_html_polyglot_persists_no_html(client, auth):
    auth.login("admin")
    upload = polyglot()
    assert HTML in upload and Image.open(io.BytesIO(upload)).size == (64, 32)
    resp = _post(client, upload)
    assert resp.status_code == 302
    key = queries.get("logo_file")
    served = client.get(f"/files/{key}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    stored = served.data
    assert b"<html" not in stored.lower() and b"<script" not in stored.lower()
    assert b"tEXt" not in stored and stored.endswith(_chunk(b"IEND", b""))
    assert Image.open(io.BytesIO(stored)).size == (64, 32)
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_a_jpeg_with_html_after_it_is_stored_as_webp_without_it():
    buf = io.BytesIO()
    Image.new("RGB", (50, 40), (200, 10, 10)).save(buf, "JPEG")
    data, ext, content_type = clean_logo(buf.getvalue() + HTML)
    assert (ext, content_type) == ("webp", "image/webp")
    assert HTML not in data and data[8:12] == b"WEBP"
    assert Image.open(io.BytesIO(data)).size == (50, 40)


def test_transparency_survives_the_re_encoding():
    img = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    img.putpixel((5, 5), (255, 0, 0, 255))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    data, _ext, _type = clean_logo(buf.getvalue())
    back = Image.open(io.BytesIO(data)).convert("RGBA")
    assert back.getpixel((0, 0))[3] == 0 and back.getpixel((5, 5)) == (255, 0, 0, 255)


def test_a_decompression_bomb_header_is_refused_before_decoding():
    # IHDR claims 100,000 × 100,000: refused from the header, nothing is decoded
    png = _png((1, 1), mode="L")
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    bomb = png[:8] + _chunk(b"IHDR", ihdr) + png[8 + 25:]
    with pytest.raises(SettingsError, match="100000 × 100000 pixels|could not be read"):
        clean_logo(bomb)
