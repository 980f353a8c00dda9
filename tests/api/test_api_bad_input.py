"""Bad input gets a clear JSON error, writes nothing and leaks nothing: malformed JSON,
wrong types, unknown fields, huge bodies, invalid cursors, ids of other kinds."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Activity, Audit, AuditStatus, Campaign, Lead, Run, RunStatus
from app.models.base import utcnow


def _nothing_written():
    return (db.session.scalar(select(func.count(Campaign.id))),
            db.session.scalar(select(func.count(Lead.id))))


@pytest.fixture
def campaign(api):
    api.post("/campaigns", {"name": "Vets", "slug": "vets"})
    return "vets"


@pytest.mark.parametrize("raw", [b"{", b"{'name': 'x'}", b'{"name": "x",}', b"\xff\xfe",
                                 b"NaN", b"", b"[" * 5000 + b"]" * 5000])
def test_malformed_json_is_a_400(api, raw):
    resp = api.client.post("/api/v1/campaigns", data=raw, headers={
        "Authorization": f"Bearer {api.key}", "Content-Type": "application/json"})
    assert resp.status_code in (400, 422), resp.json
    assert resp.json["error"]["code"] in ("malformed_json", "invalid")
    assert _nothing_written() == (0, 0)


@pytest.mark.parametrize("body, field", [
    ({"name": 42}, "name"),
    ({"name": ["a"]}, "name"),
    ({"name": None}, "name"),
    ({"name": "ok", "slug": 7}, "slug"),
    ({"name": "ok", "slug": "Not A Slug"}, "slug"),
    ({"name": "ok", "owner_id": 1}, "owner_id"),
    ({"name": "x" * 201}, "name"),
    ({}, "name"),
])
def test_wrong_types_and_unknown_fields_are_422_with_fields(api, body, field):
    resp = api.post("/campaigns", body)
    assert resp.status_code == 422, resp.json
    assert field in resp.json["error"]["fields"], resp.json
    assert _nothing_written() == (0, 0)


def test_a_body_that_is_not_an_object(api):
    for body in ([1, 2], "name", 3):
        resp = api.post("/campaigns", body)
        assert resp.status_code == 422 and "object" in resp.json["error"]["message"]


def test_not_json_is_a_415(api):
    resp = api.post("/campaigns", data="name=x", headers={
        "Content-Type": "application/x-www-form-urlencoded"}, json=None)
    assert resp.status_code == 415 and resp.json["error"]["code"] == "unsupported_media_type"


def test_lead_fields_bad_types(api, campaign):
    resp = api.post(f"/campaigns/{campaign}/leads", {"business_name": "A", "website": 5,
                                                     "email": True, "vip": 1})
    assert resp.status_code == 422
    assert set(resp.json["error"]["fields"]) == {"website", "email", "vip"}
    bad_email = api.post(f"/campaigns/{campaign}/leads", {"business_name": "A",
                                                          "website": "a.example",
                                                          "email": "not-an-email"})
    assert bad_email.status_code == 422 and "email" in bad_email.json["error"]["fields"]
    assert _nothing_written() == (1, 0)


def test_huge_bodies_are_413_json(api, app, live_server):
    app.config["API_MAX_BODY_BYTES"] = 1000
    big = b'{"name": "' + b"x" * 5000 + b'"}'
    resp = api.client.post("/api/v1/campaigns", data=big, headers={
        "Authorization": f"Bearer {api.key}", "Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json["error"]["code"] == "body_too_large"
    # Without a Content-Length (chunked, through a real server), the body is cut off while
    # it is read.
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(live_server)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    conn.request("POST", "/api/v1/campaigns", body=iter([big[:3000], big[3000:]]),
                 headers={"Authorization": f"Bearer {api.key}",
                          "Content-Type": "application/json"}, encode_chunked=True)
    chunked = conn.getresponse()
    assert chunked.status == 413 and b"body_too_large" in chunked.read()
    conn.close()
    app.config["LEADS_IMPORT_MAX_BYTES"] = 100
    api.post("/campaigns", {"name": "Small", "slug": "small"})
    csv = api.post("/campaigns/small/leads:import", data=b"business_name,website\n" * 20,
                   headers={"Content-Type": "text/csv"}, json=None)
    assert csv.status_code == 413 and csv.is_json
    assert _nothing_written() == (1, 0)


@pytest.mark.parametrize("cursor", ["garbage", "eyJsIjoiYSJ9", "x" * 5000, "..", "%00"])
def test_invalid_cursors_are_400(api, campaign, cursor):
    resp = api.get(f"/campaigns/{campaign}/leads", query_string={"cursor": cursor})
    assert resp.status_code in (400, 422) and resp.is_json
    assert resp.json["error"]["code"] in ("invalid_cursor", "invalid", "bad_request")


def test_a_cursor_of_another_list_or_filter_is_400(api, campaign):
    for i in range(3):
        api.post(f"/campaigns/{campaign}/leads", {"business_name": f"V{i}",
                                                  "website": f"v{i}.example"})
    api.post("/campaigns", {"name": "Other", "slug": "other"})
    cursor = api.get(f"/campaigns/{campaign}/leads", query_string={"limit": 1}).json[
        "next_cursor"]
    assert cursor
    for path, qs in ((f"/campaigns/{campaign}/leads", {"q": "v1"}),
                     ("/campaigns/other/leads", {}), ("/campaigns", {})):
        resp = api.get(path, query_string={**qs, "cursor": cursor})
        assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_cursor"
    # A valid cursor with one character changed fails its signature.
    forged = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    assert api.get(f"/campaigns/{campaign}/leads",
                   query_string={"cursor": forged}).status_code == 400


def test_bad_parameters_are_422(api, campaign):
    for qs in ({"limit": 101}, {"limit": 0}, {"limit": "ten"}, {"status": "nope"},
               {"sort": "name"}, {"q": "x" * 201}):
        resp = api.get(f"/campaigns/{campaign}/leads", query_string=qs)
        assert resp.status_code == 422 and resp.json["error"]["fields"], qs
    nul = api.get(f"/campaigns/{campaign}/leads", query_string={"q": "a\x00b"})
    assert nul.status_code == 422 and nul.is_json
    assert api.get("/openapi.json", query_string={"x": 1}).status_code == 422


def test_ids_of_other_kinds_and_unknown_ids_are_404(api, campaign):
    """Ids are plain integers, one sequence per kind: an id of another kind is found only
    if a row of the asked kind happens to have it. With runs and audits in their tables
    (ids 1 and 2, about leads 4 and 3), the leads' own ids 3 and 4 find no run and no
    audit, whichever column might be confused with the id (subject, lead)."""
    leads = [api.post(f"/campaigns/{campaign}/leads", {
        "business_name": f"L{i}", "website": f"l{i}.example"}).json["lead"]["id"]
        for i in range(4)]
    assert leads == [1, 2, 3, 4]
    runs = [Run(kind="audit", subject_type="lead", subject_id=lead, status=RunStatus.SUCCEEDED)
            for lead in (4, 3)]
    db.session.add_all(runs)
    db.session.flush()
    audits = [Audit(lead_id=lead, run_id=run.id, url=f"http://l{lead - 1}.example/",
                    status=AuditStatus.SUCCEEDED, score=50, finished_at=utcnow())
              for lead, run in zip((4, 3), runs, strict=True)]
    db.session.add_all(audits)
    db.session.commit()
    assert [r.id for r in runs] == [1, 2] and [a.id for a in audits] == [1, 2]
    # The rows of each kind answer under their own ids...
    assert api.get("/runs/1").json["subject"] == {"type": "lead", "id": 4}
    assert api.get("/runs/2").json["audit_id"] == 2
    assert api.get("/audits/1").json["audit"]["lead_id"] == 4
    assert api.get("/leads/4").status_code == 200
    # ...and not under the id of a lead, an activity or a campaign.
    campaign_id = db.session.scalar(select(Campaign.id))
    activity_id = db.session.scalar(select(Activity.id).order_by(Activity.id.desc()))
    for path in ("/runs/3", "/runs/4", "/audits/3", "/audits/4", f"/leads/{activity_id + 50}",
                 f"/runs/{activity_id}", f"/leads/{campaign_id + 1000}", "/leads/0",
                 "/leads/-1", "/leads/abc", "/leads/99999999999999999999",
                 "/campaigns/nope/leads", "/campaigns/1/leads",
                 "/files/../instance/config.py", "/files/logos/x.png", "/nope"):
        resp = api.get(path)
        assert resp.status_code == 404, (path, resp.status_code)
        assert resp.is_json and resp.json["error"]["code"] == "not_found", path
    assert api.post(f"/leads/{campaign_id + 1000}/audits").status_code == 404
    assert api.post("/audits/4/publish").status_code == 404


def test_wrong_method_is_json(api):
    resp = api.client.delete("/api/v1/campaigns", headers={"Authorization": f"Bearer {api.key}"})
    assert resp.status_code == 405 and resp.json["error"]["code"] == "method_not_allowed"


def test_errors_leak_no_internals(api, campaign):
    resp = api.post(f"/campaigns/{campaign}/leads", {"business_name": "A", "website": 5})
    text = resp.get_data(as_text=True)
    for leak in ("Traceback", "pydantic", "sqlalchemy", "errors.pydantic.dev", "input"):
        assert leak not in text
