"""Do-not-contact management through the real app: add (address or domain, with a
reason), search and paging, removal rules, CSV import with a report, CSV export."""

from __future__ import annotations

import io

import pytest

from app.activity import SYSTEM
from app.cli import main
from app.dnc import operations, queries
from app.extensions import db
from app.leads import dnc
from app.models import BlacklistEntry, BlacklistKind, BlacklistReason


def _entry(value: str) -> BlacklistEntry | None:
    return db.session.query(BlacklistEntry).filter_by(value=value).one_or_none()


def test_add_an_address_or_a_domain_with_a_reason(client, auth):
    auth.login(role="member")
    resp = client.post("/do-not-contact/add", data={"value": " Ana@Smile.Example ",
                                                    "note": "asked by phone"})
    assert resp.status_code == 303
    e = _entry("ana@smile.example")
    assert e.kind == BlacklistKind.EMAIL and e.reason == BlacklistReason.MANUAL
    assert e.note == "asked by phone"
    client.post("/do-not-contact/add", data={"value": "@Competitor.example", "note": ""})
    assert _entry("competitor.example").kind == BlacklistKind.DOMAIN
    assert dnc.check("x.example", "bo@competitor.example")  # the whole domain
    page = client.get("/do-not-contact/").get_data(as_text=True)
    assert "ana@smile.example" in page and "asked by phone" in page


@pytest.mark.parametrize("value, message", [
    ("not an address", "not a valid domain"),
    ("a@b@c", "not a valid email address"),
    ("127.0.0.1", "IP address"),
])
def test_bad_values_get_a_clear_message(client, auth, value, message):
    auth.login(role="member")
    resp = client.post("/do-not-contact/add", data={"value": value})
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert db.session.query(BlacklistEntry).count() == 0


def test_adding_twice_says_it_is_already_there(client, auth):
    auth.login(role="member")
    client.post("/do-not-contact/add", data={"value": "a@x.example"})
    again = client.post("/do-not-contact/add", data={"value": "A@X.example"})
    assert "already on the list (manual)" in again.get_data(as_text=True)


def test_search_and_paging(client, auth, app):
    auth.login(role="member")
    for i in range(60):
        operations.add_entry(f"person{i:02d}@shop.example", actor=SYSTEM)
    operations.add_entry("other.example", actor=SYSTEM)
    db.session.commit()
    first = queries.page()
    assert len(first.rows) == 50 and first.total == 61 and first.next_before
    second = queries.page(before=first.next_before)
    assert len(second.rows) == 11
    assert {e.id for e, _ in first.rows}.isdisjoint({e.id for e, _ in second.rows})
    found = client.get("/do-not-contact/?q=person0", headers={"HX-Request": "true"})
    text = found.get_data(as_text=True)
    assert "10 entries" in text and "person05@shop.example" in text
    assert "other.example" not in text
    # LIKE wildcards are searched literally
    assert queries.page("%").total == 0 and queries.page("_").total == 0
    assert client.get("/do-not-contact/?before=abc").status_code == 422


def test_only_an_admin_removes_unsubscribed_or_bounced_entries(client, auth, create_user):
    member = auth.login(role="member")
    dnc.add([(None, "gone@x.example")], None, BlacklistReason.UNSUBSCRIBED)
    dnc.add([(None, "bounce@x.example")], None, BlacklistReason.BOUNCED)
    operations.add_entry("typo@x.example", actor=SYSTEM)
    db.session.commit()
    for value in ("gone@x.example", "bounce@x.example"):
        resp = client.post(f"/do-not-contact/{_entry(value).id}/remove", data={"note": ""},
                           follow_redirects=True)
        assert "only an admin can remove it" in resp.get_data(as_text=True)
        assert _entry(value) is not None
    page = client.get("/do-not-contact/").get_data(as_text=True)
    assert "admin only" in page
    client.post(f"/do-not-contact/{_entry('typo@x.example').id}/remove", data={"note": "typo"})
    assert _entry("typo@x.example") is None
    assert member.role.value == "member"
    auth.logout()
    auth.login(role="admin")
    client.post(f"/do-not-contact/{_entry('gone@x.example').id}/remove",
                data={"note": "asked to be back"})
    assert _entry("gone@x.example") is None


CSV = (
    "Email,Reason,Note\n"
    "a@one.example,unsubscribed,from old tool\n"
    "not-an-email@,,\n"
    "@two.example,,\n"
    "three.example,bounced,\n"
    "b@one.example,weird,\n"
    "a@one.example,,dup in file\n"
    "=cmd|'/c calc'!A1@x.example,,\n"
    "existing@x.example,,\n"
)


def test_csv_import_reports_bad_rows_and_keeps_good_ones(client, auth):
    auth.login(role="member")
    operations.add_entry("existing@x.example", actor=SYSTEM)
    db.session.commit()
    resp = client.post("/do-not-contact/import", data={
        "file": (io.BytesIO(CSV.encode()), "list.csv"), "note": "Mailchimp export"},
        content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "3 added, 1 already listed, 3 refused" in text
    assert "Line 3" in text and "Line 6" in text and "unknown reason" in text
    assert _entry("a@one.example").reason == BlacklistReason.UNSUBSCRIBED
    assert _entry("a@one.example").note == "from old tool"
    assert _entry("two.example").kind == BlacklistKind.DOMAIN
    assert _entry("two.example").note == "Mailchimp export"
    assert _entry("three.example").reason == BlacklistReason.BOUNCED
    again = client.post("/do-not-contact/import", data={
        "file": (io.BytesIO(CSV.encode()), "list.csv")}, content_type="multipart/form-data")
    assert "0 added, 4 already listed" in again.get_data(as_text=True)


def test_csv_import_refuses_what_is_not_csv(client, auth):
    auth.login(role="member")
    resp = client.post("/do-not-contact/import", data={
        "file": (io.BytesIO(b"PK\x03\x04zipzip"), "list.zip")}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "ZIP archive" in resp.get_data(as_text=True)


def test_csv_export_neutralises_formulas(client, auth):
    auth.login(role="member")
    operations.add_entry("a@x.example", note="=HYPERLINK(\"http://evil\")", actor=SYSTEM)
    db.session.commit()
    resp = client.get("/do-not-contact/export.csv")
    text = resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv"
    assert text.splitlines()[0] == "kind,value,reason,note,added_at"
    assert "email,a@x.example,manual,\"'=HYPERLINK" in text


def test_the_cli_adds_imports_and_exports(runner, app, tmp_path):
    assert runner.invoke(main, ["dnc", "add", "@cli.example", "--note", "from cli"]).exit_code == 0
    bad = runner.invoke(main, ["dnc", "add", "nope"])
    assert bad.exit_code == 1 and "not a valid domain" in bad.output
    path = tmp_path / "s.csv"
    path.write_text("email\na@cli2.example\nbad@@\n")
    out = runner.invoke(main, ["dnc", "import", str(path)])
    assert "1 added, 0 already listed, 1 refused" in out.output and "line 3" in out.output
    export = runner.invoke(main, ["dnc", "export"]).output
    assert "domain,cli.example,manual,from cli" in export and "a@cli2.example" in export


def test_removal_never_redirects_off_site(client, auth):
    auth.login(role="member")
    entry = operations.add_entry("x@y.example", actor=SYSTEM)
    db.session.commit()
    resp = client.post(f"/do-not-contact/{entry.id}/remove", data={"note": ""},
                       headers={"Referer": "https://evil.example/do-not-contact/"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/do-not-contact/"
    assert client.post("/do-not-contact/99999999999999999999/remove").status_code == 404
