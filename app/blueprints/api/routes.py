"""The JSON API, v1 (``/api/v1``): machine clients with an API key call the same
operations and queries as the pages, as the key's actor ("API key 'n8n'").

Every request is authenticated by :func:`authenticate` (one statement: key look-up, last
use and rate limit) and commits that at once; a write then commits once after its
operation, as a page's route does. Routes are declared with
:func:`app.blueprints.api.spec.route`, which validates them and documents them.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Response, current_app, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wsgi import wrap_file

from app import ratelimit
from app.api import queries as api
from app.apikeys.operations import KeyUse, authenticate
from app.apikeys.tokens import MalformedKey, from_header
from app.audits.operations import AuditRequestError, active_run_ids, allowed_targets, request_audit
from app.audits.queries import get_audit_or_404
from app.blueprints.api import cursors, schemas
from app.blueprints.api.openapi import document
from app.blueprints.api.spec import WRITES, ApiError, bp, route
from app.campaigns.operations import CampaignError, create_campaign
from app.campaigns.queries import find_campaign, slug_taken
from app.extensions import csrf, db
from app.files.queries import get_file_or_404, open_file_or_404
from app.leads import queries as leads
from app.leads.columns import detect_mapping
from app.leads.csvfile import CsvRefused, read_csv
from app.leads.normalize import InvalidValue, normalize_email, normalize_website
from app.leads.operations import LeadError, create_lead, import_leads, set_lead_status, update_lead
from app.leads.search import LeadFilter, decode_cursor
from app.models import Audit, Campaign, InvalidTransition, KeyScope, Lead
from app.models.states import AdminOnlyTransition
from app.public.operations import PublishError, publish, revoke
from app.public.queries import link_for_lead, public_url
from app.runs.queries import get_run_or_404

csrf.exempt(bp)  # no cookie is ever accepted here, so there is no cross-site request to forge
UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="pitchfast-api"'}
#: What every unknown, revoked or expired key is told (one answer for all three).
KEY_REFUSED = "This API key is not valid: it is unknown, revoked or expired."


# -- every request -----------------------------------------------------------------------


#: At most this many addresses are remembered by :func:`_recently_refused_by`.
_REFUSED_MAX = 10_000


def _recently_refused_by() -> dict[str, float]:
    """Client addresses this process refused a key recently (address → monotonic time),
    per app: only their requests read the failure count before the key statement, so a
    client with a good key pays no extra statement, and a flood of made-up keys from one
    address stops taking the write lock (the key's UPDATE) after the first refusal this
    process sees."""
    found: dict[str, float] = current_app.extensions.setdefault("api_refused_by", {})
    return found


def _throttle_refused(address: str) -> None:
    """429 when ``address`` had ``API_AUTH_FAILURE_LIMIT`` refused keys in the window;
    reads only, in a transaction of its own that takes no write lock."""
    config = current_app.config
    window = int(config["API_AUTH_FAILURE_WINDOW_SECONDS"])
    seen = _recently_refused_by().get(address)
    if seen is None or time.monotonic() - seen > window:
        return
    g.db_reads_only = True
    try:
        decision = ratelimit.check(f"api-401:{address}",
                                   limit=int(config["API_AUTH_FAILURE_LIMIT"]), window=window)
        db.session.commit()
    finally:
        g.pop("db_reads_only", None)
    if not decision.allowed:
        raise ApiError(429, "rate_limited", "Too many requests with keys that are not valid "
                       f"from this address; try again in {decision.retry_after} s.",
                       headers={"Retry-After": str(decision.retry_after)})


def _refused(address: str) -> ApiError:
    """Count a refused key for ``address`` (committed) and answer the 401."""
    refused = _recently_refused_by()
    if len(refused) >= _REFUSED_MAX:
        refused.clear()
    refused[address] = time.monotonic()
    ratelimit.record(f"api-401:{address}")
    db.session.commit()
    return ApiError(401, "unauthorized", KEY_REFUSED, headers=UNAUTHORIZED)


@bp.before_request
def check_key() -> None:
    """Authenticate the key, count the request, refuse read keys on writes."""
    try:
        key = from_header(request.headers.get("Authorization"))
    except MalformedKey as exc:
        raise ApiError(401, "unauthorized", str(exc), headers=UNAUTHORIZED) from None
    address = ratelimit.client_address()
    _throttle_refused(address)
    g.db_writes = True  # the key's statement writes: SQLite takes the write lock up front
    use = authenticate(key, window=int(current_app.config["API_RATE_WINDOW_SECONDS"]))
    if use is None:
        raise _refused(address)  # in the key statement's transaction
    db.session.commit()
    if request.method not in WRITES:
        g.pop("db_writes", None)  # a read request reads on in a deferred transaction
    if use.limited(int(current_app.config["API_RATE_LIMIT"])):
        raise ApiError(429, "rate_limited",
                       f"Too many requests with this key; try again in {use.retry_after} s.",
                       headers={"Retry-After": str(use.retry_after)})
    if request.method in WRITES and use.scope != KeyScope.WRITE:
        raise ApiError(403, "forbidden", "This key may only read (its scope is 'read').")
    g.api_key = use


def _key() -> KeyUse:
    use: KeyUse = g.api_key
    return use


@bp.after_request
def no_store(resp: Response) -> Response:
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


@bp.errorhandler(ApiError)
def api_error(exc: ApiError) -> Response:
    db.session.rollback()
    return exc.response()


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    db.session.rollback()
    code = exc.code or 500
    names = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
    message = ("Not found." if code == 404 else
               "The body is too large." if code == 413 else exc.description or "Error")
    return ApiError(code, names.get(code, "error"), message).response()


@bp.errorhandler(IntegrityError)
def conflict(exc: IntegrityError) -> Response:
    db.session.rollback()
    current_app.logger.warning("API write refused by a constraint: %s", exc.orig)
    return ApiError(409, "conflict", "Someone else changed this at the same moment; nothing "
                                     "was saved. Read it again and retry.").response()


@bp.errorhandler(InvalidTransition)
def bad_transition(exc: InvalidTransition) -> Response:
    db.session.rollback()
    status, code = (403, "forbidden") if isinstance(exc, AdminOnlyTransition) else (409, "conflict")
    return ApiError(status, code, str(exc)).response()


def _found(value: Any, what: str, ident: object) -> Any:
    if value is None:
        raise ApiError(404, "not_found", f"No {what} {ident}.")
    return value


def _load(loader: Any, what: str, ident: int) -> Any:
    try:
        return loader(ident)
    except NotFound:
        raise ApiError(404, "not_found", f"No {what} with id {ident}.") from None


def _campaign(slug: str) -> Campaign:
    found: Campaign = _found(find_campaign(slug), "campaign with slug", repr(slug))
    return found


def _json(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    resp.headers.update(headers)
    return resp


# -- campaigns ---------------------------------------------------------------------------


@route("GET", "/campaigns", summary="List campaigns", query=schemas.CampaignListQuery,
       ok=(200, schemas.CampaignList), errors=(400, 422))
def list_campaigns(query: schemas.CampaignListQuery) -> ResponseReturnValue:
    """Campaigns newest first, with their numbers of leads."""
    filters = {"archived": query.include_archived}
    before = cursors.decode(query.cursor, "campaigns", filters)
    rows, more = api.campaigns_page(before, query.limit, query.include_archived)
    nxt = cursors.encode("campaigns", filters, more) if more else None
    return _json({"data": rows, "next_cursor": nxt})


@route("POST", "/campaigns", summary="Create a campaign", body=schemas.CampaignCreate,
       ok=(201, schemas.CampaignOne), errors=(400, 409, 413, 415, 422))
def create_campaign_(body: schemas.CampaignCreate) -> ResponseReturnValue:
    """A draft campaign; without a slug one is derived from the name."""
    if body.slug and slug_taken(body.slug):
        raise _slug_taken(body.slug)
    try:
        campaign = create_campaign(body.name, body.slug, actor=_key().actor)
        db.session.commit()
    except CampaignError as exc:
        raise ApiError(422, "invalid", str(exc), fields={"name": str(exc)}) from None
    except IntegrityError:  # taken by a request at the same moment, after the check above
        db.session.rollback()
        raise _slug_taken(body.slug) from None
    return _json({"campaign": api.campaign_json(campaign, 0)}, 201)


def _slug_taken(slug: str | None) -> ApiError:
    said = f"The slug {slug!r} is already used." if slug else (
        "Another campaign took this name's slug at the same moment; send it again.")
    return ApiError(409, "slug_taken", said, fields={"slug": "Already used by another "
                                                              "campaign."})


# -- leads -------------------------------------------------------------------------------


@route("GET", "/campaigns/<slug>/leads", summary="List a campaign's leads",
       query=schemas.LeadListQuery, ok=(200, schemas.LeadList), errors=(400, 404, 422))
def list_leads(slug: str, query: schemas.LeadListQuery) -> ResponseReturnValue:
    """Newest first; ``q`` searches names, websites, emails and cities, ``status`` filters
    (repeatable). The list the leads page shows, through the same statement; ``total``
    (the number of matches) on the first page only, null on pages reached by a cursor."""
    campaign = _campaign(slug)
    f = LeadFilter(q=query.q, statuses=sorted({s.value for s in query.status}))
    filters = {"campaign": campaign.id, "q": f.q, "status": f.statuses}
    after = cursors.decode(query.cursor, "leads", filters)
    if after is not None and (not isinstance(after, str) or decode_cursor(after, f.sort_key)
                              is None):
        raise ApiError(400, "invalid_cursor", "This cursor is not valid.")
    # The API shows no positions ("51–100 of …"): the page statement skips those counts,
    # and counts the matches on the first page only.
    result = leads.page(campaign.id, f, after=after, per_page=query.limit, positions=False)
    nxt = cursors.encode("leads", filters, result.next_cursor) if result.next_cursor else None
    return _json({"data": [api.lead_row_json(r) for r in result.rows], "total": result.total,
                  "next_cursor": nxt})


def _lead_fields(body: schemas.LeadCreate | schemas.LeadPatch) -> dict[str, Any]:
    data = {k: v for k, v in body.model_dump().items() if k in body.model_fields_set}
    data.pop("status", None)
    data.pop("status_reason", None)
    for required in ("business_name", "website"):
        if required in data and data[required] is None:
            raise ApiError(422, "invalid", "Some fields are not valid.",
                           fields={required: "May not be null."})
    if "website" in data:
        data["website_url"] = data.pop("website")
    return data


def _lead_error(exc: LeadError, campaign_id: int, data: dict[str, Any]) -> ApiError:
    """A duplicate of a lead already in the campaign is a 409 naming it; else a 422."""
    field = "website" if exc.field == "website_url" else exc.field
    if exc.field in ("website_url", "email"):
        try:
            domain = normalize_website(data.get("website_url"), allowed_targets())[1]
            email = normalize_email(data.get("email"))
        except InvalidValue:
            domain = email = None
        existing = api.duplicate_lead_id(campaign_id, domain, email)
        if existing is not None:
            return ApiError(409, "duplicate", str(exc), fields={field: str(exc)},
                            extra={"existing_lead_id": existing})
    return ApiError(422, "invalid", str(exc), fields={field: str(exc)})


@route("POST", "/campaigns/<slug>/leads", summary="Add a lead", body=schemas.LeadCreate,
       ok=(201, schemas.LeadOne), errors=(400, 404, (409, schemas.Duplicate), 413, 415, 422))
def create_lead_(slug: str, body: schemas.LeadCreate) -> ResponseReturnValue:
    """409 with ``existing_lead_id`` when its domain (or email) is already in the campaign."""
    campaign = _campaign(slug)
    data = _lead_fields(body)
    data.setdefault("source", "api")
    try:
        lead = create_lead(campaign, data, actor=_key().actor)
    except LeadError as exc:
        db.session.rollback()
        raise _lead_error(exc, campaign.id, data) from None
    db.session.commit()
    return _json({"lead": api.lead_json(lead, campaign.slug, None)}, 201,
                 Location=url_for("api.get_lead", lead_id=lead.id))


@route("POST", "/campaigns/<slug>/leads:import", summary="Import leads from a CSV body",
       csv_body=True, ok=(200, schemas.ImportReport), errors=(404, 413, 415, 422))
def import_leads_(slug: str, data: bytes) -> ResponseReturnValue:
    """The CSV file as the body ('Content-Type: text/csv'); columns are detected from the
    header line. Answers the same report as ``pitchfast leads import``; all or nothing."""
    if request.mimetype not in ("text/csv", "text/plain", "application/octet-stream"):
        raise ApiError(415, "unsupported_media_type", "Send the file with "
                                                      "'Content-Type: text/csv'.")
    campaign = _campaign(slug)
    limit = int(current_app.config.get("LEADS_IMPORT_MAX_BYTES")
                or current_app.config["MAX_CONTENT_LENGTH"])
    try:
        parsed = read_csv(data, limit)
        report = import_leads(campaign, parsed, detect_mapping(parsed.headers), "API import",
                              actor=_key().actor)
    except (CsvRefused, InvalidValue) as exc:
        raise ApiError(422, "invalid_csv", f"{exc} Nothing was imported.") from None
    db.session.commit()
    return _json(report.as_dict())


@route("GET", "/leads/<int:lead_id>", summary="Get a lead", ok=(200, schemas.LeadOne),
       errors=(404,))
def get_lead(lead_id: int) -> ResponseReturnValue:
    """The lead with its latest audit's id, status and scores."""
    return _lead_answer(lead_id)


def _lead_answer(lead_id: int) -> Response:
    lead, audit, slug = _found(api.lead_with_latest_audit(lead_id), "lead with id", lead_id)
    return _json({"lead": api.lead_json(lead, slug, audit)})


@route("PATCH", "/leads/<int:lead_id>", summary="Change a lead", body=schemas.LeadPatch,
       ok=(200, schemas.LeadOne), errors=(400, 404, (409, schemas.Duplicate), 413, 415, 422))
def patch_lead(lead_id: int, body: schemas.LeadPatch) -> ResponseReturnValue:
    """Only the fields sent change; ``status`` moves it to a sales stage (409 when the move
    is not allowed)."""
    lead: Lead = _found(db.session.get(Lead, lead_id), "lead with id", lead_id)
    if "status_reason" in body.model_fields_set and body.status is None:
        raise ApiError(422, "invalid", "Some fields are not valid.", fields={
            "status_reason": "A reason goes with a move: send it with 'status'."})
    data = _lead_fields(body)
    actor = _key().actor
    try:
        if data:
            update_lead(lead, data, actor=actor)
        if body.status is not None:
            set_lead_status(lead, body.status, body.status_reason, actor=actor)
    except LeadError as exc:
        db.session.rollback()
        raise _lead_error(exc, lead.campaign_id, data) from None
    db.session.commit()
    return _lead_answer(lead_id)


@route("POST", "/leads/<int:lead_id>/audits", summary="Request an audit",
       ok=(202, schemas.RunOne), errors=(404, (409, schemas.AlreadyQueued), 422))
def request_audit_(lead_id: int) -> ResponseReturnValue:
    """Queues an audit of the lead's website; 409 with the queued run when one is already
    queued. Poll ``/runs/{id}``."""
    lead: Lead = _found(db.session.get(Lead, lead_id), "lead with id", lead_id)
    try:
        run = request_audit(lead, _key().actor)
    except AuditRequestError as exc:
        if exc.code == "already_queued":
            busy = active_run_ids([lead.id]).get(lead.id)
            db.session.rollback()
            queued = get_run_or_404(busy) if busy else None
            raise ApiError(409, "already_queued", exc.message,
                           extra={"run": api.run_json(queued)} if queued else {}) from None
        raise ApiError(422, exc.code, exc.message) from None
    db.session.commit()
    return _json({"run": api.run_json(run)}, 202,
                 Location=url_for("api.get_run", run_id=run.id))


# -- runs, audits, files -----------------------------------------------------------------


@route("GET", "/runs/<int:run_id>", summary="Get a run", ok=(200, schemas.Run),
       errors=(404,))
def get_run(run_id: int) -> ResponseReturnValue:
    """A background run (an audit, say): status, attempts, error, and its audit's id."""
    return _json(api.run_json(_load(get_run_or_404, "run", run_id)))


@route("GET", "/audits/<int:audit_id>", summary="Get an audit's result document",
       ok=(200, schemas.AuditDocument), errors=(404,))
def get_audit(audit_id: int) -> ResponseReturnValue:
    """The document ``pitchfast audit --json`` prints; screenshots have a ``url`` a key
    can fetch."""
    audit: Audit = _load(get_audit_or_404, "audit", audit_id)
    return _json(api.audit_document(
        audit, lambda key: url_for("api.get_file", key=key, _external=True)))


@route("POST", "/audits/<int:audit_id>/publish", summary="Publish an audit's page",
       ok=(200, schemas.Published), errors=(404, 409))
def publish_audit(audit_id: int) -> ResponseReturnValue:
    """Publishes the audit on its lead's public page; answers the address to send."""
    audit: Audit = _load(get_audit_or_404, "audit", audit_id)
    try:
        link = publish(audit, actor=_key().actor)
    except PublishError as exc:
        raise ApiError(409, "not_publishable", str(exc)) from None
    db.session.commit()
    return _json({"public_url": public_url(link)})


@route("POST", "/audits/<int:audit_id>/revoke", summary="Revoke an audit's public page",
       ok=(204, None), errors=(404, 409))
def revoke_audit(audit_id: int) -> ResponseReturnValue:
    """The page stops working at once; 409 when this audit is not published."""
    audit: Audit = _load(get_audit_or_404, "audit", audit_id)
    link = link_for_lead(audit.lead_id) if audit.lead_id else None
    if link is None or link.audit_id != audit.id or link.revoked_at is not None:
        raise ApiError(409, "not_published", "This audit is not published.")
    revoke(link, actor=_key().actor)
    db.session.commit()
    return Response(status=204)


@route("GET", "/files/<path:key>", summary="Download a screenshot", ok=(200, None),
       errors=(404,))
def get_file(key: str) -> ResponseReturnValue:
    """A stored screenshot of an audit (the ``url`` of each screenshot)."""
    if not api.is_audit_file(key):
        raise ApiError(404, "not_found", "No such file.")
    try:
        row = get_file_or_404(key)
        stream = open_file_or_404(row)
    except NotFound:
        raise ApiError(404, "not_found", "No such file.") from None
    resp = Response(wrap_file(request.environ, stream), content_type=row.content_type,
                    direct_passthrough=True)
    resp.content_length = row.size
    resp.set_etag(row.checksum)
    resp.headers["Cache-Control"] = "private, max-age=3600"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Content-Disposition"] = "inline"
    return resp


@route("GET", "/openapi.json", summary="This API's OpenAPI 3.1 document",
       ok=(200, None))
def openapi() -> ResponseReturnValue:
    """Generated from the code that validates the requests."""
    return _json(document())
