"""CSV import: encodings, separators, bad rows with line and reason, duplicates,
do-not-contact, atomicity, re-import, refused files; the CLI import and export."""

import bz2
import gzip
import io
import lzma
import zipfile

import pytest
import sqlalchemy as sa

from app import activity
from app.cli import main
from app.extensions import db
from app.leads.columns import detect_mapping
from app.leads.csvfile import CsvRefused, read_csv
from app.leads.operations import import_leads
from app.models import BlacklistEntry, BlacklistKind, BlacklistReason, Lead

LIMIT = 5 * 1024 * 1024


def _block(kind, value, reason=BlacklistReason.UNSUBSCRIBED):
    db.session.add(BlacklistEntry(kind=kind, value=value, reason=reason))
    db.session.commit()


def _import(campaign, data, name="leads.csv"):
    parsed = read_csv(data, LIMIT)
    report = import_leads(
        campaign, parsed, detect_mapping(parsed.headers), name, actor=activity.SYSTEM
    )
    db.session.commit()
    return report


def _names(campaign):
    return set(
        db.session.scalars(sa.select(Lead.business_name).where(Lead.campaign_id == campaign.id))
    )


def test_messy_utf8_file_reports_every_row(campaign, fixtures_dir):
    _block(BlacklistKind.DOMAIN, "blocked.example.com")
    _block(BlacklistKind.EMAIL, "optout@example.org")
    data = (fixtures_dir / "messy_utf8_bom.csv").read_bytes()
    report = _import(campaign, data)

    assert report.encoding == "utf-8-sig" and report.delimiter == ","
    assert report.total == 17 and report.blank_lines == 2
    assert report.imported == 7
    assert _names(campaign) == {
        "Smile Dental",
        "Bright Teeth",
        "<script>alert(1)</script> Clinic",
        '=HYPERLINK("http://evil.example","click")',
        "Café Müller",
        "Short Row",
        "Extra Cells Ltd",
    }
    bad = {row["line"]: row["reason"] for row in report.bad}
    assert bad == {
        8: "missing website",
        9: bad[9],
        10: bad[10],
        11: bad[11],
        17: bad[17],
        18: bad[18],
    }
    assert "email 'not-an-email' is not valid" in bad[9]
    assert "contains spaces" in bad[10]
    assert "unsupported scheme" in bad[11]
    assert "IP address" in bad[17]
    assert "longer than 300" in bad[18]
    dups = {row["line"]: row["reason"] for row in report.duplicates}
    assert dups == {  # both duplicate line 2 of the same file (issue 9): not the campaign's
        12: "duplicate of line 2 in this file (same domain smile-dental.co.uk)",
        13: "duplicate of line 2 in this file (same email info@smile-dental.co.uk)",
    }
    refused = {row["line"]: row["reason"] for row in report.refused}
    assert set(refused) == {14, 15}
    assert "blocked.example.com is on the do-not-contact list (unsubscribed)" in refused[14]
    assert "optout@example.org" in refused[15]
    assert report.formula_cells == 1
    assert len(report.bad) + len(report.duplicates) + len(report.refused) + report.imported == 17

    smile = db.session.scalar(sa.select(Lead).where(Lead.domain == "smile-dental.co.uk"))
    assert smile.website_url == "https://www.smile-dental.co.uk/"
    assert smile.email == "info@smile-dental.co.uk" and smile.city == "Leeds"
    assert smile.notes == "multi\r\nline note"
    assert smile.extra == {"Unused": "x"}
    assert smile.status.value == "new" and smile.source == "leads.csv"
    extra = db.session.scalar(sa.select(Lead).where(Lead.domain == "extra-cells.com"))
    assert extra.extra == {"column 8": "surplus", "column 9": "more"}


def test_reimporting_the_same_file_adds_nothing(campaign, fixtures_dir):
    data = (fixtures_dir / "messy_utf8_bom.csv").read_bytes()
    first = _import(campaign, data)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Lead))
    second = _import(campaign, data)
    assert first.imported == 9  # nothing blocked this time
    assert second.imported == 0
    assert len(second.duplicates) == 11
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == before


def test_same_domain_in_another_campaign_is_not_a_duplicate(make_campaign, fixtures_dir):
    data = (fixtures_dir / "messy_utf8_bom.csv").read_bytes()
    a, b = make_campaign("A"), make_campaign("B")
    assert _import(a, data).imported == _import(b, data).imported == 9


def test_windows_1252_semicolon_file(campaign, fixtures_dir):
    report = _import(campaign, (fixtures_dir / "windows1252_semicolon.csv").read_bytes())
    assert report.encoding == "cp1252" and report.delimiter == ";"
    assert report.imported == 3 and report.blank_lines == 1
    assert [r["line"] for r in report.bad] == [6]
    lead = db.session.scalar(sa.select(Lead).where(Lead.domain == "cafe-muller.de"))
    assert lead.business_name == "Café Müller" and lead.city == "Köln"
    assert lead.notes == "Straße; Ecke"
    elise = db.session.scalar(sa.select(Lead).where(Lead.domain == "elise.fr"))
    assert elise.notes == "“best” croissants – 5€" and elise.city == "Montréal"


def test_utf8_without_bom_and_tab_separated(campaign):
    data = "name\twebsite\tcity\nÅsa Tandvård\tasa-tand.se\tGöteborg\n".encode()
    report = _import(campaign, data)
    assert report.imported == 1 and report.delimiter == "\t"
    assert _names(campaign) == {"Åsa Tandvård"}


def test_utf16_with_bom(campaign):
    data = "Company,Website\nSmile,smile.example\n".encode("utf-16")
    assert _import(campaign, data).imported == 1


def test_missing_name_falls_back_to_domain(campaign):
    report = _import(campaign, b"website,email\nhttps://only-site.example/,\n")
    assert report.imported == 1 and _names(campaign) == {"only-site.example"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \r\n\r\n", "empty"),
        (b"name,website\r\n", "no rows"),
        (gzip.compress(b"name,website\na,b.com\n", mtime=0), "gzip"),
        (bz2.compress(b"name,website\na,b.com\n"), "bzip2"),
        (lzma.compress(b"name,website\na,b.com\n"), "xz"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04rest", "7-Zip"),
        (b"%PDF-1.7\n...", "PDF"),
        (b"\x00\x01\x02\x03binary\x00stuff", "binary"),
        (b"name,website\n" + bytes(range(128, 256)) * 10, "encoding could not be recognised"),
    ],
    # Readable, stable ids: xdist workers must collect identical test names.
    ids=["empty", "blank-lines", "header-only", "gzip", "bzip2", "xz", "7zip", "pdf", "binary",
         "unknown-encoding"],
)
def test_files_that_are_not_csv_are_refused_clearly(data, message):
    with pytest.raises(CsvRefused, match=message):
        read_csv(data, LIMIT)


def test_zip_and_oversized_files_are_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("leads.csv", "name,website\na,b.com\n")
    with pytest.raises(CsvRefused, match="ZIP archive"):
        read_csv(buf.getvalue(), LIMIT)
    with pytest.raises(CsvRefused, match="too large"):
        read_csv(b"name,website\n" + b"a,b.com\n" * 1000, 1024)


def test_failed_import_leaves_nothing_behind(campaign, monkeypatch):
    """A failure during the insert (here: the database refuses the second chunk) rolls back all."""
    from app.leads import importer, search_index

    monkeypatch.setattr(search_index, "CHUNK", 2)
    classify = importer.classify

    def classify_then_corrupt(*args, **kwargs):
        report = classify(*args, **kwargs)
        # violates the (campaign, domain) uniqueness in the second chunk
        report.rows[3]["domain"] = report.rows[0]["domain"]
        return report

    monkeypatch.setattr(importer, "classify", classify_then_corrupt)
    data = b"name,website\n" + b"".join(b"Biz %d,biz%d.example\n" % (i, i) for i in range(5))
    parsed = read_csv(data, LIMIT)
    with pytest.raises(sa.exc.IntegrityError):
        import_leads(campaign, parsed, detect_mapping(parsed.headers), actor=activity.SYSTEM)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0


def test_header_detection():
    headers = [
        "Company Name",
        "Web Site",
        "E-Mail Address",
        "Tel",
        "Town",
        "Street Address",
        "Owner",
    ]
    m = detect_mapping(headers)
    assert m == {
        "business_name": 0,
        "website_url": 1,
        "email": 2,
        "phone": 3,
        "city": 4,
        "address": 5,
        "contact_name": 6,
        "source": None,
        "notes": None,
    }


def test_cli_import_and_export(runner, campaign, fixtures_dir, tmp_path):
    path = fixtures_dir / "messy_utf8_bom.csv"
    result = runner.invoke(main, ["leads", "import", str(path), "--campaign", "dentists"])
    assert result.exit_code == 0, result.output
    assert (
        "Imported 9 of 17 rows; 2 duplicates, 0 on the do-not-contact list, 6 bad rows."
        in result.output
    )
    assert "line 10: bad: website 'http://exa mple.com' contains spaces" in result.output
    again = runner.invoke(main, ["leads", "import", str(path), "--campaign", "dentists"])
    assert "Imported 0 of 17 rows; 11 duplicates" in again.output

    out = tmp_path / "out.csv"
    result = runner.invoke(main, ["leads", "export", "--campaign", "dentists", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    assert text.startswith("business_name,website,domain,email")
    assert "'=HYPERLINK(" in text and "\n=HYPERLINK" not in text
    assert len(text.strip().splitlines()) == 1 + 9 + 1  # header, leads, one quoted newline in notes


def test_cli_refusals(runner, campaign, tmp_path):
    gz = tmp_path / "leads.csv.gz"
    gz.write_bytes(gzip.compress(b"name,website\na,b.com\n"))
    result = runner.invoke(main, ["leads", "import", str(gz), "--campaign", "dentists"])
    assert result.exit_code != 0 and "gzip-compressed" in result.output
    result = runner.invoke(main, ["leads", "import", str(gz), "--campaign", "nope"])
    assert "No campaign with slug 'nope'" in result.output
    nosite = tmp_path / "nosite.csv"
    nosite.write_text("name,phone\nA,1\n")
    result = runner.invoke(main, ["leads", "import", str(nosite), "--campaign", "dentists"])
    assert result.exit_code != 0 and "website" in result.output


def test_cli_campaigns_create(runner, app):
    result = runner.invoke(main, ["campaigns", "create", "Dentists in Leeds"])
    assert result.exit_code == 0 and "(dentists-in-leeds)" in result.output
    result = runner.invoke(main, ["campaigns", "create", "Other", "--slug", "dentists-in-leeds"])
    assert result.exit_code != 0 and "already used" in result.output
    result = runner.invoke(main, ["campaigns", "create", "Dentists in Leeds"])
    assert "(dentists-in-leeds-2)" in result.output
    result = runner.invoke(main, ["campaigns", "create", "X", "--slug", "Bad Slug!"])
    assert result.exit_code != 0 and "slug" in result.output
