"""The API's main paths through the same operations as the pages: campaigns, leads,
import, audits requested, runs, lead detail; the activity says which key did it."""

from __future__ import annotations

from sqlalchemy import func, select

from app.blueprints.api import schemas
from app.extensions import db
from app.models import Activity, Campaign, Lead, Run


def test_create_and_list_campaigns(api):
    resp = api.post("/campaigns", {"name": "Bakeries in Springfield"})
    assert resp.status_code == 201, resp.json
    body = schemas.CampaignOne.model_validate(resp.json)
    assert body.campaign.slug == "bakeries-in-springfield" and body.campaign.leads == 0
    assert api.post("/campaigns", {"name": "Florists", "slug": "florists"}).status_code == 201
    listing = api.get("/campaigns")
    assert listing.status_code == 200
    page = schemas.CampaignList.model_validate(listing.json)
    assert [c.slug for c in page.data] == ["florists", "bakeries-in-springfield"]
    assert page.next_cursor is None
    # The activity names the key, as the feed shows it.
    row = db.session.scalar(select(Activity).where(Activity.verb == "campaign.create")
                            .order_by(Activity.id.desc()))
    assert row.actor_label == "API key 'n8n'" and row.actor_kind == "api_key"


def test_taken_slug_is_a_conflict(api):
    api.post("/campaigns", {"name": "A", "slug": "same"})
    resp = api.post("/campaigns", {"name": "B", "slug": "same"})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "slug_taken"


def test_a_slug_taken_in_a_race_is_a_409_on_slug(api, monkeypatch):
    """Two requests pass the "is it taken?" check together; the second one's insert hits
    the unique index: a 409 on ``slug`` (as the check answers), not a bare conflict."""
    api.post("/campaigns", {"name": "A", "slug": "same"})
    from app.blueprints.api import routes
    from app.campaigns import operations

    monkeypatch.setattr(routes, "slug_taken", lambda slug: False)  # the other request's view
    monkeypatch.setattr(operations, "slug_taken", lambda slug: False)
    for body in ({"name": "B", "slug": "same"}, {"name": "Same"}):
        resp = api.post("/campaigns", body)
        assert resp.status_code == 409, resp.json
        assert resp.json["error"]["code"] == "slug_taken" and "slug" in resp.json["error"]["fields"]
    assert db.session.scalar(select(func.count(Campaign.id))) == 1


def test_a_reason_without_a_status_is_a_422(api):
    api.post("/campaigns", {"name": "Vets", "slug": "vets"})
    lead = api.post("/campaigns/vets/leads", {"business_name": "Vet",
                                              "website": "vet.example"}).json["lead"]
    resp = api.patch(f"/leads/{lead['id']}", {"status_reason": "met them at a fair"})
    assert resp.status_code == 422 and "status_reason" in resp.json["error"]["fields"]
    moved = api.patch(f"/leads/{lead['id']}", {"status": "lost", "status_reason": "too far"})
    assert moved.status_code == 200 and moved.json["lead"]["status"] == "lost"


def test_the_409_answers_are_documented_with_their_models(read_api):
    doc = read_api.get("/openapi.json").json
    schemas_ = doc["components"]["schemas"]

    def error_model(path, method):
        ref = doc["paths"][path][method]["responses"]["409"]["content"]["application/json"][
            "schema"]["$ref"]
        return schemas_[ref.rsplit("/", 1)[-1]]

    for method in ("post", "patch"):
        path = ("/api/v1/campaigns/{slug}/leads" if method == "post"
                else "/api/v1/leads/{lead_id}")
        assert "existing_lead_id" in error_model(path, method)["properties"]
    queued = error_model("/api/v1/leads/{lead_id}/audits", "post")
    assert {"error", "run"} <= set(queued["properties"])
    plain = doc["paths"]["/api/v1/campaigns"]["post"]["responses"]["409"]
    assert plain["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_leads_create_duplicate_invalid_get_patch(api):
    api.post("/campaigns", {"name": "Dentists", "slug": "dentists"})
    resp = api.post("/campaigns/dentists/leads", {
        "business_name": "Smile Dental", "website": "https://smile-dental.example/",
        "email": "Hello@Smile-Dental.example", "city": "Springfield"})
    assert resp.status_code == 201, resp.json
    lead = schemas.LeadOne.model_validate(resp.json).lead
    assert lead.domain == "smile-dental.example" and lead.email == "hello@smile-dental.example"
    assert resp.headers["Location"].endswith(f"/api/v1/leads/{lead.id}")

    dup = api.post("/campaigns/dentists/leads", {"business_name": "Smile again",
                                                 "website": "http://www.smile-dental.example"})
    assert dup.status_code == 409
    assert dup.json["existing_lead_id"] == lead.id and dup.json["error"]["code"] == "duplicate"

    bad = api.post("/campaigns/dentists/leads", {"business_name": "X", "website": "ftp://x"})
    assert bad.status_code == 422 and "website" in bad.json["error"]["fields"]
    assert db.session.scalar(select(Lead.id).where(Lead.business_name == "X")) is None

    one = api.get(f"/leads/{lead.id}")
    assert one.status_code == 200 and one.json["lead"]["latest_audit"] is None
    changed = api.patch(f"/leads/{lead.id}", {"phone": "555 0100", "city": None,
                                              "status": "contacted"})
    assert changed.status_code == 200, changed.json
    assert changed.json["lead"]["phone"] == "555 0100" and changed.json["lead"]["city"] is None
    assert changed.json["lead"]["status"] == "contacted"
    again = api.patch(f"/leads/{lead.id}", {"status": "contacted"})
    assert again.status_code == 409
    audited = api.patch(f"/leads/{lead.id}", {"status": "audited"})  # only audits set it
    assert audited.status_code == 409
    verbs = db.session.scalars(select(Activity.actor_label).where(
        Activity.subject_type == "lead", Activity.subject_id == lead.id)).all()
    assert set(verbs) == {"API key 'n8n'"} and len(verbs) == 3


def test_list_leads_with_search_status_and_cursor(api):
    api.post("/campaigns", {"name": "Cafes", "slug": "cafes"})
    for i in range(7):
        api.post("/campaigns/cafes/leads", {"business_name": f"Cafe {i}",
                                             "website": f"cafe{i}.example", "city": "Oslo"})
    seen, cursor = [], None
    while True:
        resp = api.get("/campaigns/cafes/leads", query_string={"limit": 3, "cursor": cursor}
                       if cursor else {"limit": 3})
        assert resp.status_code == 200, resp.json
        page = schemas.LeadList.model_validate(resp.json)
        assert page.total == (7 if cursor is None else None)  # counted on the first page
        seen += [r.business_name for r in page.data]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [f"Cafe {i}" for i in range(6, -1, -1)]
    found = api.get("/campaigns/cafes/leads", query_string={"q": "cafe 3"}).json
    assert [r["business_name"] for r in found["data"]] == ["Cafe 3"]
    new = api.get("/campaigns/cafes/leads", query_string=[("status", "new"),
                                                           ("status", "won")]).json
    assert new["total"] == 7
    none = api.get("/campaigns/cafes/leads", query_string={"status": "won"}).json
    assert none == {"data": [], "total": 0, "next_cursor": None}


def test_import_csv_gives_the_cli_report(api):
    api.post("/campaigns", {"name": "Plumbers", "slug": "plumbers"})
    csv = ("business_name,website,email\nPipe Co,pipe.example,a@pipe.example\n"
           "Pipe Again,pipe.example,\nNo site,,\n")
    resp = api.post("/campaigns/plumbers/leads:import", data=csv.encode(),
                    headers={"Content-Type": "text/csv"}, json=None)
    assert resp.status_code == 200, resp.json
    report = schemas.ImportReport.model_validate(resp.json)
    assert (report.total, report.imported, len(report.duplicates), len(report.bad)) == (3, 1, 1, 1)
    assert report.bad[0]["line"] == 4
    again = api.post("/campaigns/plumbers/leads:import", data=csv.encode(),
                     headers={"Content-Type": "text/csv"}, json=None).json
    assert again["imported"] == 0
    refused = api.post("/campaigns/plumbers/leads:import", data=b"PK\x03\x04zip",
                       headers={"Content-Type": "text/csv"}, json=None)
    assert refused.status_code == 422 and "Nothing was imported" in refused.json["error"]["message"]


def test_request_audit_and_read_the_run(api, app):
    app.config["AUDIT_ALLOW_TARGETS"] = ["127.0.0.1:9"]
    api.post("/campaigns", {"name": "Gyms", "slug": "gyms"})
    lead = api.post("/campaigns/gyms/leads", {"business_name": "Gym",
                                               "website": "http://127.0.0.1:9/"}).json["lead"]
    resp = api.post(f"/leads/{lead['id']}/audits")
    assert resp.status_code == 202, resp.json
    run = schemas.RunOne.model_validate(resp.json).run
    assert run.status == "pending" and run.kind == "audit"
    assert run.subject.model_dump() == {"type": "lead", "id": lead["id"]}
    again = api.post(f"/leads/{lead['id']}/audits")
    assert again.status_code == 409 and again.json["run"]["id"] == run.id
    assert db.session.scalar(select(Run.id).where(Run.subject_id == lead["id"]).offset(1)) is None
    got = api.get(f"/runs/{run.id}")
    assert got.status_code == 200 and schemas.Run.model_validate(got.json).audit_id is None
    queued = api.get(f"/leads/{lead['id']}").json["lead"]
    assert queued["status"] == "queued"


def test_unsafe_website_cannot_be_audited(api):
    api.post("/campaigns", {"name": "Bars", "slug": "bars"})
    lead = api.post("/campaigns/bars/leads", {"business_name": "Bar",
                                               "website": "bar.example"}).json["lead"]
    db.session.execute(Lead.__table__.update().where(Lead.id == lead["id"]).values(
        website_url="http://169.254.169.254/latest/"))
    db.session.commit()
    resp = api.post(f"/leads/{lead['id']}/audits")
    assert resp.status_code == 422 and resp.json["error"]["message"].startswith("Cannot audit")
    assert db.session.scalar(select(Run.id)) is None


def test_openapi_document_is_generated_from_the_validators(api, read_api):
    from openapi_spec_validator import validate

    doc = read_api.get("/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # a valid OpenAPI 3.1 document (raises otherwise)
    create = doc["paths"]["/api/v1/campaigns/{slug}/leads"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert body["additionalProperties"] is False
    assert set(body["required"]) == {"business_name", "website"}
    assert set(body["properties"]) == set(schemas.LeadCreate.model_fields)
    assert create["x-scope"] == "write" and "409" in create["responses"]
    listing = doc["paths"]["/api/v1/campaigns/{slug}/leads"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100
    # Every route of the blueprint is in the document, and nothing else.
    from flask import current_app
    rules = {(r.rule, m) for r in current_app.url_map.iter_rules() if r.endpoint.startswith("api.")
             for m in r.methods - {"HEAD", "OPTIONS"}}
    documented = {(p.replace("{", "<").replace("}", ">"), m.upper())
                  for p, ops in doc["paths"].items() for m in ops}
    assert len(rules) == len(documented) == 14


def test_a_key_has_a_members_rights_not_an_admins(api):
    api.post("/campaigns", {"name": "Spas", "slug": "spas"})
    lead = api.post("/campaigns/spas/leads", {"business_name": "Spa", "website": "spa.example",
                                               "email": "hi@spa.example"}).json["lead"]
    blocked = api.patch(f"/leads/{lead['id']}", {"status": "blacklisted"})
    assert blocked.status_code == 200 and blocked.json["lead"]["status"] == "blacklisted"
    # Taking a lead off do-not-contact is for admins: not through a key.
    back = api.patch(f"/leads/{lead['id']}", {"status": "lost"})
    assert back.status_code == 403 and back.json["error"]["code"] == "forbidden"
    assert api.get(f"/leads/{lead['id']}").json["lead"]["status"] == "blacklisted"
    # The do-not-contact list now refuses the same site in another campaign.
    api.post("/campaigns", {"name": "Spas 2", "slug": "spas-2"})
    again = api.post("/campaigns/spas-2/leads", {"business_name": "Spa", "website": "spa.example"})
    assert again.status_code == 422 and "Refused" in again.json["error"]["message"]


def test_patch_nulls_and_required_fields(api):
    api.post("/campaigns", {"name": "Inns", "slug": "inns"})
    lead = api.post("/campaigns/inns/leads", {"business_name": "Inn", "website": "inn.example",
                                               "email": "a@inn.example"}).json["lead"]
    cleared = api.patch(f"/leads/{lead['id']}", {"email": None, "notes": "call Monday"})
    assert cleared.status_code == 200, cleared.json
    assert cleared.json["lead"]["email"] is None and cleared.json["lead"]["notes"] == "call Monday"
    for body in ({"business_name": None}, {"website": None}, {"website": ""}):
        resp = api.patch(f"/leads/{lead['id']}", body)
        assert resp.status_code == 422, (body, resp.json)
    assert api.get(f"/leads/{lead['id']}").json["lead"]["domain"] == "inn.example"
