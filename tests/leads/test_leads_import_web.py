"""CSV import in the dashboard: upload -> mapping + preview -> commit -> report."""

import gzip
import io
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Lead, StoredFile


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MAX_CONTENT_LENGTH": 64 * 1024}


def _upload(client, data, name="leads.csv"):
    return client.post(
        "/campaigns/dentists/leads/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_upload_preview_commit_report(client, auth, campaign, fixtures_dir):
    auth.login(role="member")
    resp = _upload(client, (fixtures_dir / "messy_utf8_bom.csv").read_bytes(), "messy.csv")
    assert resp.status_code == 302
    mapping_url = resp.headers["Location"]
    html = client.get(mapping_url).data.decode()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0  # nothing yet
    assert "17 rows · encoding utf-8-sig" in html
    assert re.search(r'id="sum-imported">9<', html)
    assert '<option selected value="1">Website</option>' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Clinic" in html and "<script>alert(1)" not in html
    assert "missing website" in html

    # unmap the email column: the htmx preview refreshes and the counts follow
    form = {
        "map_business_name": "0",
        "map_website_url": "1",
        "map_email": "",
        "map_phone": "3",
        "map_city": "4",
        "map_notes": "5",
    }
    resp = client.post(mapping_url, data=form, headers={"HX-Request": "true"})
    body = resp.data.decode()
    assert resp.status_code == 200 and "<html" not in body and 'id="import-preview"' in body
    assert re.search(r'id="sum-imported">11<', body)  # bad email and same-email rows now import

    form["map_email"] = "2"
    resp = client.post(mapping_url, data={**form, "commit": "yes"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/report")
    report = client.get(resp.headers["Location"]).data.decode()
    assert 'data-figure="imported">9<' in report and 'data-figure="bad">6<' in report
    assert 'data-figure="duplicates">2<' in report and 'data-figure="refused">0<' in report
    assert "contains spaces" in report and ">10<" in report
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 9
    lead = db.session.scalar(sa.select(Lead).where(Lead.domain == "smile-dental.co.uk"))
    assert lead.phone == "0113 555 0101" and lead.notes == "multi\r\nline note"
    assert client.get(mapping_url).status_code == 404  # the upload is gone: no double import
    assert db.session.scalar(sa.select(StoredFile.id).where(StoredFile.key.like("%.csv"))) is None


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (gzip.compress(b"name,website\na,b.com\n", mtime=0), "leads.csv.gz", "gzip-compressed"),
        (b"PK\x03\x04" + b"\x00" * 100, "leads.xlsx", "Excel .xlsx"),
        (
            b"name,website\n" + bytes(range(128, 256)) * 10,
            "odd.csv",
            "encoding could not be recognised",
        ),
    ],
    ids=["empty", "gzip", "xlsx", "unknown-encoding"],
)
def test_bad_files_get_a_clear_message(client, auth, campaign, data, name, message):
    auth.login()
    resp = _upload(client, data, name)
    assert resp.status_code == 422
    assert message in resp.data.decode()


def test_missing_file_and_oversized_upload(client, auth, campaign):
    auth.login()
    resp = client.post(
        "/campaigns/dentists/leads/import", data={}, content_type="multipart/form-data"
    )
    assert resp.status_code == 422 and b"Choose a CSV file" in resp.data
    resp = _upload(client, b"name,website\n" + b"a,b.example\n" * 10_000)
    assert resp.status_code == 413 and b"That file is too large" in resp.data


def test_import_without_website_column_is_refused(client, auth, campaign):
    auth.login()
    resp = _upload(client, b"name,phone\nA,1\nB,2\n")
    url = resp.headers["Location"]
    html = client.get(url).data.decode()
    assert "Choose the column that holds the website" in html
    resp = client.post(url, data={"map_business_name": "0", "map_website_url": "", "commit": "yes"})
    assert resp.status_code == 200 and "Choose which column holds the website" in resp.data.decode()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0


def test_tokens_are_checked(client, auth, campaign, make_campaign):
    auth.login()
    assert client.get("/campaigns/dentists/leads/import/..%2F..%2Fetc").status_code == 404
    assert client.get("/campaigns/dentists/leads/import/" + "a" * 24).status_code == 404
    resp = _upload(client, b"name,website\nA,a.example\n")
    other = make_campaign("Other", "other")
    token = resp.headers["Location"].rsplit("/", 1)[1]
    assert client.get(f"/campaigns/{other.slug}/leads/import/{token}").status_code == 404
