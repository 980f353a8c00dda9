"""The PDF: a run per published version, printed by the worker's shared Chromium from the
page itself (no network), stored through app.storage, served only through the token."""

from __future__ import annotations

import pytest
from publichelpers import PHONE_UA, agency
from sqlalchemy import select

from app.activity import SYSTEM
from app.extensions import db
from app.models import PublicLink, Run, RunStatus, StoredFile
from app.public import operations, queries

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _close_engine():
    yield
    from app.audits.engine import config_from_mapping, get_engine

    get_engine(config_from_mapping({})).close()


def test_pdf_is_made_once_per_version_and_dies_with_the_link(app, client, factory, drain):
    agency()
    link = operations.publish(factory.audit(factory.lead()), actor=SYSTEM)
    db.session.commit()
    token = queries.token_for(link)
    pending = client.get(f"/r/{token}/pdf", headers={"User-Agent": PHONE_UA})
    assert pending.status_code == 503 and b"being prepared" in pending.data
    assert drain() >= 1
    db.session.expire_all()
    runs = db.session.scalars(select(Run).where(Run.kind == "public_pdf")).all()
    assert len(runs) == 1 and runs[0].status == RunStatus.SUCCEEDED, runs[0].error
    resp = client.get(f"/r/{token}/pdf", headers={"User-Agent": PHONE_UA})
    assert resp.status_code == 200 and resp.content_type == "application/pdf"
    assert resp.data.startswith(b"%PDF") and len(resp.data) > 5000
    # Printed with its stylesheet: the page's CSS was among the files, and the brand colour
    # (#0f766e, only ever painted through that stylesheet) is drawn in the PDF.
    assert runs[0].result["files"] >= 5
    assert _brand_fill(resp.data, (0x0F, 0x76, 0x6E))
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.headers["X-Robots-Tag"].startswith("noindex")
    # Printing is not a view.
    assert db.session.get(PublicLink, link.id).view_count == 0
    # Publishing the same version again makes no second PDF.
    operations.publish(_audit(link), actor=SYSTEM)
    db.session.commit()
    assert drain() == 0
    # A new version (rotate) gets its own PDF; the old file goes once the new one is stored.
    link = db.session.get(PublicLink, link.id)
    old_key = link.pdf_key
    operations.rotate(link, actor=SYSTEM)
    db.session.commit()
    assert drain() >= 1
    db.session.expire_all()
    link = db.session.get(PublicLink, link.id)
    assert link.pdf_version == link.version == 2 and link.pdf_key != old_key
    assert db.session.scalar(select(StoredFile).where(StoredFile.key == old_key)) is None
    operations.revoke(link, actor=SYSTEM)
    db.session.commit()
    assert client.get(f"/r/{queries.token_for(link)}/pdf").status_code == 404


def _audit(link):
    from app.models import Audit

    return db.session.get(Audit, link.audit_id)


def _brand_fill(pdf: bytes, rgb: tuple[int, int, int]) -> bool:
    """Whether the PDF's content streams set ``rgb`` as a colour (Chromium writes colours
    as ``r g b rg`` / ``RG`` with 0-1 components, in Flate-compressed streams)."""
    import re
    import zlib

    text = b""
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            text += zlib.decompress(match.group(1)) + b"\n"
        except zlib.error:
            continue
    for r, g, b, _ in re.findall(rb"([\d.]+) ([\d.]+) ([\d.]+) (rg|RG)\b", text):
        found = (float(r), float(g), float(b))
        if all(abs(f - c / 255) < 0.01 for f, c in zip(found, rgb, strict=True)):
            return True
    return False
