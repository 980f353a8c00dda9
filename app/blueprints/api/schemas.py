"""What the API accepts and answers, as pydantic models: the same classes validate each
request and generate the OpenAPI document (:mod:`app.blueprints.api.openapi`).

Request bodies are strict (a number is not a string, ``"1"`` is not a number) and refuse
unknown fields; query strings are read loosely (everything arrives as text) but refuse
unknown parameters too.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.models import LeadStatus

Text = Annotated[str, Field(max_length=300)]


class Body(BaseModel):
    """A JSON request body: strict types, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query-string parameters: no unknown ones."""

    model_config = ConfigDict(extra="forbid")


class Answer(BaseModel):
    """A response body (documented; the tests check real answers against it)."""

    model_config = ConfigDict(extra="allow")


# -- requests ----------------------------------------------------------------------------


class CampaignCreate(Body):
    name: Annotated[str, Field(min_length=1, max_length=200, description="The campaign's name")]
    slug: Annotated[str | None, Field(
        default=None, max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        description="URL name (a-z, 0-9, single hyphens); derived from the name when omitted",
    )] = None


class LeadCreate(Body):
    business_name: Annotated[str, Field(min_length=1, max_length=300)]
    website: Annotated[str, Field(min_length=1, max_length=2048,
                                  description="The site to audit (http or https)")]
    email: Annotated[str | None, Field(max_length=254)] = None
    phone: Annotated[str | None, Field(max_length=64)] = None
    contact_name: Annotated[str | None, Field(max_length=200)] = None
    city: Annotated[str | None, Field(max_length=120)] = None


class LeadPatch(Body):
    """Only the fields sent change; ``null`` clears an optional one."""

    business_name: Annotated[str | None, Field(min_length=1, max_length=300)] = None
    website: Annotated[str | None, Field(min_length=1, max_length=2048)] = None
    email: Annotated[str | None, Field(max_length=254)] = None
    phone: Annotated[str | None, Field(max_length=64)] = None
    contact_name: Annotated[str | None, Field(max_length=200)] = None
    city: Annotated[str | None, Field(max_length=120)] = None
    address: Annotated[str | None, Field(max_length=500)] = None
    notes: Annotated[str | None, Field(max_length=10_000)] = None
    status: Annotated[LeadStatus | None, Field(
        description="A sales stage a person may set (as on the lead's page)")] = None
    status_reason: Annotated[str | None, Field(max_length=500)] = None


class ListQuery(Query):
    cursor: Annotated[str | None, Field(default=None, max_length=4096,
                                        description="next_cursor of the previous page")] = None
    limit: Annotated[int, Field(ge=1, le=100, description="Rows per page (at most 100)")] = 50


class CampaignListQuery(ListQuery):
    include_archived: bool = False


class LeadListQuery(ListQuery):
    q: Annotated[str, Field(max_length=200, description="Full-text search")] = ""
    status: Annotated[list[LeadStatus], Field(
        default_factory=list, description="Only these statuses (repeat the parameter)")]


# -- answers -----------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class Error(BaseModel):
    error: ErrorDetail


class Campaign(Answer):
    id: int
    slug: str
    name: str
    status: str
    niche: str
    created_at: str | None
    leads: int | None = None


class CampaignOne(Answer):
    campaign: Campaign


class CampaignList(Answer):
    data: list[Campaign]
    next_cursor: str | None


class AuditSummary(Answer):
    id: int
    status: str
    score: int | None
    opportunity: int | None
    scores: dict[str, Any]
    error: str | None
    created_at: str | None
    finished_at: str | None


class LeadRow(Answer):
    id: int
    business_name: str
    website: str | None
    domain: str | None
    email: str | None
    contact_name: str | None
    city: str | None
    status: str
    score: int | None
    site_down: bool
    latest_audit_id: int | None
    audited_at: str | None
    created_at: str | None


class LeadList(Answer):
    data: list[LeadRow]
    total: Annotated[int | None, Field(description="The number of matches, on the first "
                                                   "page only (null on a cursor's page).")]
    next_cursor: str | None


class Lead(Answer):
    id: int
    campaign: str
    business_name: str
    website: str | None
    domain: str | None
    email: str | None
    phone: str | None
    contact_name: str | None
    city: str | None
    status: str
    score: int | None
    opportunity: int | None
    site_down: bool
    latest_audit: AuditSummary | None


class LeadOne(Answer):
    lead: Lead


class Subject(BaseModel):
    type: str
    id: int | None


class Run(Answer):
    id: int
    kind: str
    status: str
    attempts: int
    error: str | None
    subject: Subject | None
    audit_id: int | None = None


class RunOne(Answer):
    run: Run


class Duplicate(Error):
    """409: the lead's domain (or email) is already in the campaign: that lead's id."""

    existing_lead_id: int


class AlreadyQueued(Error):
    """409: an audit of this lead is already queued or running: its run."""

    run: Run


class ImportReport(Answer):
    """The same report as ``pitchfast leads import``."""

    total: int
    imported: int
    duplicates: list[dict[str, Any]]
    refused: list[dict[str, Any]]
    bad: list[dict[str, Any]]
    encoding: str
    delimiter: str


class AuditDocument(Answer):
    """The result document of ``pitchfast audit --json`` (see the README's table), each
    screenshot with a ``url`` under ``/api/v1/files/``, and the audit row under ``audit``."""

    status: str
    audit: dict[str, Any]


class Published(Answer):
    public_url: str
