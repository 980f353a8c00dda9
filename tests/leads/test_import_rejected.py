"""Import (issue 9, item 8): duplicates within one file are reported as such; the rows not
imported download as CSV (a problem column, then the original cells) that imports again
once fixed; the extra columns kept from a file are edited on the lead's form."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from app import activity
from app.extensions import db
from app.leads.columns import detect_mapping
from app.leads.csvfile import read_csv
from app.leads.importer import PROBLEM_HEADER, classify, rejected_csv, unquote_formula
from app.leads.operations import import_leads
from app.models import BlacklistEntry, BlacklistKind, BlacklistReason, Lead

LIMIT = 5 * 1024 * 1024


def _import(campaign, data, name="leads.csv"):
    parsed = read_csv(data, LIMIT)
    report = import_leads(campaign, parsed, detect_mapping(parsed.headers), name,
                          actor=activity.SYSTEM)
    db.session.commit()
    return parsed, report


def _rows(text):
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_duplicates_within_the_file_name_the_earlier_line(campaign, add_leads):
    add_leads(campaign, 1, prefix="old")  # old0.example.com is in the campaign already
    data = (
        b"Name,Website,Email\n"
        b"First,first.example.com,a@first.example.com\n"
        b"Old,old0.example.com,\n"
        b"Again,https://www.first.example.com/x,\n"
        b"Same mail,other.example.com,A@first.example.com\n"
    )
    parsed = read_csv(data, LIMIT)
    report = classify(campaign, parsed, detect_mapping(parsed.headers), "f.csv")
    dups = {row["line"]: (row["reason"], row.get("of_line")) for row in report.duplicates}
    assert dups == {
        3: ("domain old0.example.com is already in the campaign", None),
        4: ("duplicate of line 2 in this file (same domain first.example.com)", 2),
        5: ("duplicate of line 2 in this file (same email a@first.example.com)", 2),
    }
    assert report.imported == 1


def test_rejected_rows_keep_their_cells_and_a_reason_then_import_again(campaign, fixtures_dir):
    db.session.add(BlacklistEntry(kind=BlacklistKind.DOMAIN, value="blocked.example.com",
                                  reason=BlacklistReason.UNSUBSCRIBED))
    db.session.commit()
    data = (fixtures_dir / "messy_utf8_bom.csv").read_bytes()
    parsed, report = _import(campaign, data)
    rows = _rows(rejected_csv(parsed, report))
    header = rows[0]
    assert header[0] == PROBLEM_HEADER
    assert header[1:8] == parsed.headers
    body = rows[1:]
    not_imported = len(report.bad) + len(report.refused) + len(report.duplicates)
    assert len(body) == not_imported == 17 - report.imported
    by_line = {int(r[0].split(" ")[1]): r for r in body}
    assert by_line[10][0] == ("line 10 · Bad row: website 'http://exa mple.com' contains "
                              "spaces")
    assert by_line[10][1:3] == ["Bad Url Ltd", "http://exa mple.com"]  # the cells as they were
    assert by_line[12][0].startswith("line 12 · Duplicate: duplicate of line 2 in this file")
    assert by_line[14][0].startswith("line 14 · Do not contact:")
    assert len({len(r) for r in rows}) == 1  # every row as wide as the header

    # fixed in a spreadsheet and imported again: the problem column is not kept as a field
    fixed = [header] + [r for r in body if r[1] == "Bad Url Ltd"]
    fixed[1][2] = "http://example-fixed.com"
    out = io.StringIO()
    csv.writer(out).writerows(fixed)
    _p, again = _import(campaign, out.getvalue().encode(), "fixed.csv")
    assert again.imported == 1
    lead = db.session.scalar(sa.select(Lead).where(Lead.domain == "example-fixed.com"))
    assert lead.business_name == "Bad Url Ltd"
    assert PROBLEM_HEADER not in lead.extra


def test_formula_cells_are_neutralised_in_the_file_and_read_back_as_they_were(campaign):
    data = (b"Name,Website,Phone\n=cmd|' /C calc'!A0,,+44 113 496 0000\n")
    parsed, report = _import(campaign, data)
    rows = _rows(rejected_csv(parsed, report))
    assert rows[1][1:] == ["'=cmd|' /C calc'!A0", "", "'+44 113 496 0000"]
    assert unquote_formula("'+44 113 496 0000") == "+44 113 496 0000"
    assert unquote_formula("'plain") == "'plain"
    fixed = [rows[0], [rows[1][0], rows[1][1], "calc.example.com", rows[1][3]]]
    out = io.StringIO()
    csv.writer(out).writerows(fixed)
    _p, again = _import(campaign, out.getvalue().encode())
    lead = db.session.scalar(sa.select(Lead).where(Lead.domain == "calc.example.com"))
    assert lead.phone == "+44 113 496 0000" and lead.business_name == "=cmd|' /C calc'!A0"


def test_a_line_the_parser_gave_up_on_is_split_from_the_text(campaign):
    data = (b'Name,Website\nGood,good.example.com\n"Broken,broken.example.com\n'
            b"Next,next.example.com\nLast,last.example.com\n")
    parsed, report = _import(campaign, data)
    assert [line for line, _reason in parsed.broken] == [3]
    text = rejected_csv(parsed, report, data.decode().splitlines())
    (row,) = _rows(text)[1:]
    assert row[0].startswith("line 3 · Bad row: unclosed quote")
    assert "broken.example.com" in ",".join(row[1:])


def test_the_report_page_offers_the_download(client, auth, campaign, fixtures_dir):
    auth.login(role="member")
    resp = client.post("/campaigns/dentists/leads/import",
                       data={"file": (io.BytesIO((fixtures_dir / "messy_utf8_bom.csv")
                                                 .read_bytes()), "Messy list.csv")},
                       content_type="multipart/form-data")
    mapping_url = resp.headers["Location"]
    client.get(mapping_url)
    form = {"map_business_name": "0", "map_website_url": "1", "map_email": "2",
            "map_phone": "3", "map_city": "4", "commit": "yes"}
    resp = client.post(mapping_url, data=form)
    report_url = resp.headers["Location"]
    page = client.get(report_url).data.decode()
    assert "8 rows were not imported." in page
    download = client.get(report_url.replace("/report", "/rejected.csv"))
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="Messy_list-not-imported.csv"')
    rows = _rows(download.data.decode("utf-8"))
    assert rows[0][0] == PROBLEM_HEADER and len(rows) == 9
    # nothing to download for a token that does not exist
    assert client.get(report_url.replace("/report", "/rejected.csv").replace(
        report_url.split("/")[-2], "x" * 24)).status_code == 404


def test_extra_fields_are_edited_on_the_lead_form(client, auth, campaign, add_leads):
    (lead_id,) = add_leads(campaign, 1, extra={"Google rating": "4.2", "Owner": "Sam"})
    auth.login(role="member")
    page = client.get(f"/leads/{lead_id}/edit").data.decode()
    assert 'value="Google rating"' in page and 'value="4.2"' in page and 'value="Sam"' in page
    base = {"business_name": "Biz", "website_url": "biz0.example.com", "notes": ""}
    resp = client.post(f"/leads/{lead_id}/edit", data={
        **base, "extra_shown": "1",
        "extra_fields-0-name": "Google rating", "extra_fields-0-value": " 4.8 ",
        "extra_fields-1-name": "Owner", "extra_fields-1-value": "",  # removed
        "extra_fields-2-name": "Opening hours", "extra_fields-2-value": "9\u202e–5\nMon–Fri",
    })
    assert resp.status_code == 302, resp.data[:1000]
    db.session.expire_all()
    lead = db.session.get(Lead, lead_id)
    assert lead.extra == {"Google rating": "4.8", "Opening hours": "9–5\nMon–Fri"}

    # a post without the section (an older form, another client) keeps them as they are
    assert client.post(f"/leads/{lead_id}/edit", data=base).status_code == 302
    db.session.expire_all()
    assert db.session.get(Lead, lead_id).extra == lead.extra

    clash = client.post(f"/leads/{lead_id}/edit", data={
        **base, "extra_shown": "1",
        "extra_fields-0-name": "Owner", "extra_fields-0-value": "A",
        "extra_fields-1-name": "Owner", "extra_fields-1-value": "B",
    })
    assert clash.status_code == 422 and "Two fields are named" in clash.data.decode()


def test_the_command_line_import_writes_the_rows_not_imported(runner, campaign, fixtures_dir,
                                                               tmp_path):
    from app.cli import main

    out = tmp_path / "not-imported.csv"
    result = runner.invoke(main, ["leads", "import", str(fixtures_dir / "messy_utf8_bom.csv"),
                                  "--campaign", "dentists", "--rejected", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote the 8 rows not imported to {out}." in result.output
    rows = _rows(out.read_text(encoding="utf-8"))
    assert rows[0][0] == PROBLEM_HEADER and len(rows) == 9
