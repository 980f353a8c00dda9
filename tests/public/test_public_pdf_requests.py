"""The PDF download without a browser: which files the printer gets, the download's name
for any business name, and when a prospect's download may (not) queue a print run."""

from __future__ import annotations

import re

import pytest
from publichelpers import PHONE_UA, agency
from sqlalchemy import func, select

from app import storage
from app.activity import SYSTEM
from app.blueprints.public import routes
from app.extensions import db
from app.models import PublicLink, Run, RunStatus
from app.public import jobs, operations, queries


def pdf_runs() -> list[Run]:
    db.session.expire_all()
    found = list(db.session.scalars(select(Run).where(Run.kind == operations.PDF_KIND)
                                    .order_by(Run.id)))
    db.session.rollback()
    return found


def get_pdf(client, token):
    return client.get(f"/r/{token}/pdf", headers={"User-Agent": PHONE_UA}, buffered=True)


def test_the_printer_gets_the_page_stylesheet(app, factory):
    agency()
    link = operations.publish(factory.audit(factory.lead()), actor=SYSTEM)
    db.session.commit()
    path, resources = jobs.page_resources(queries.token_for(link))
    css = [k for k in resources if re.fullmatch(r"/p/[0-9a-f]{12}\.css", k)]
    assert len(css) == 1, sorted(resources)
    body, ctype = resources[css[0]]
    assert ctype.startswith("text/css") and b".pp-wrap" in body
    assert f'href="{css[0]}"' in resources[path][0].decode()


def _printed(link: PublicLink) -> None:
    """A PDF stored for the link's current version, as the run would leave it."""
    key = operations.pdf_key(link)
    storage.save(key, b"%PDF-1.4\n% a stand-in\n", "application/pdf",
                 owner=("public_link", link.id))
    link.pdf_key, link.pdf_version = key, link.version
    db.session.commit()


@pytest.mark.parametrize(("name", "ascii_name", "encoded"), [
    ("Łódź Dental", "odz Dental - website audit.pdf",
     "%C5%81%C3%B3d%C5%BA%20Dental%20-%20website%20audit.pdf"),
    ("東京デンタル", "audit - website audit.pdf",
     "%E6%9D%B1%E4%BA%AC%E3%83%87%E3%83%B3%E3%82%BF%E3%83%AB%20-%20website%20audit.pdf"),
])
def test_pdf_download_names_any_business(client, factory, name, ascii_name, encoded):
    link = operations.publish(factory.audit(factory.lead(name=name)), actor=SYSTEM)
    db.session.commit()
    _printed(link)
    resp = get_pdf(client, queries.token_for(link))
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    disposition = resp.headers["Content-Disposition"]
    disposition.encode("latin-1")  # a header a WSGI server can send
    assert disposition.startswith("attachment; ")
    assert f'filename="{ascii_name}"' in disposition
    assert f"filename*=UTF-8''{encoded}" in disposition


def test_an_ascii_business_name_needs_no_encoded_form(client, factory):
    link = operations.publish(factory.audit(factory.lead(name="Rosa's Dental")), actor=SYSTEM)
    db.session.commit()
    _printed(link)
    disposition = get_pdf(client, queries.token_for(link)).headers["Content-Disposition"]
    assert disposition == 'attachment; filename="Rosas Dental - website audit.pdf"'


def test_a_failed_print_is_not_retried_from_the_public_link(client, factory):
    link = operations.publish(factory.audit(factory.lead()), actor=SYSTEM)
    db.session.commit()
    (run,) = pdf_runs()
    db.session.get(Run, run.id).status = RunStatus.FAILED
    db.session.commit()
    token = queries.token_for(link)
    for _ in range(3):
        resp = get_pdf(client, token)
        assert resp.status_code == 503 and b"unavailable right now" in resp.data
        assert "Retry-After" not in resp.headers and b'http-equiv="refresh"' not in resp.data
        assert f'href="/r/{token}"'.encode() in resp.data
    assert len(pdf_runs()) == 1
    # Staff re-publishing is deliberate and may try again; so does a new version.
    operations.rotate(db.session.get(PublicLink, link.id), actor=SYSTEM)
    db.session.commit()
    assert len(pdf_runs()) == 2


def test_reloading_while_a_print_is_pending_takes_no_write_lock(client, factory, monkeypatch):
    link = operations.publish(factory.audit(factory.lead()), actor=SYSTEM)
    db.session.commit()
    writes = []
    real = routes.writing
    monkeypatch.setattr(routes, "writing", lambda: (writes.append(1), real())[1])
    for _ in range(3):
        resp = get_pdf(client, queries.token_for(link))
        assert resp.status_code == 503 and b"being prepared" in resp.data
        assert resp.headers["Retry-After"] == "10"
    assert writes == [] and len(pdf_runs()) == 1


def test_bulk_publishing_leaves_the_pdf_to_the_first_download(client, factory, monkeypatch):
    campaign = factory.campaign()
    leads = [factory.lead(campaign, name=f"Lead {i}") for i in range(3)]
    for lead in leads:
        factory.audit(lead)
    assert operations.publish_finished(campaign, actor=SYSTEM) == 3
    db.session.commit()
    assert pdf_runs() == []  # no browser print queued per lead ahead of audits
    link = queries.link_for_lead(leads[0].id)
    token = queries.token_for(link)
    writes = []
    real = routes.writing
    monkeypatch.setattr(routes, "writing", lambda: (writes.append(1), real())[1])
    for _ in range(3):
        assert b"being prepared" in get_pdf(client, token).data
    runs = pdf_runs()
    assert len(runs) == 1 and len(writes) == 1  # made once, on the first download
    assert runs[0].subject_id == link.id and runs[0].payload["version"] == link.version
    assert runs[0].status == RunStatus.PENDING


def test_single_publish_queues_the_pdf_at_once(app, factory):
    link = operations.publish(factory.audit(factory.lead()), actor=SYSTEM)
    db.session.commit()
    runs = pdf_runs()
    assert len(runs) == 1 and runs[0].subject_id == link.id
    assert db.session.scalar(select(func.count()).select_from(Run)
                             .where(Run.kind == operations.PDF_KIND)) == 1
