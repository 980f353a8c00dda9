"""The OpenAPI 3.1 document of ``/api/v1``, generated from the declared routes and the
pydantic models that validate them (:mod:`app.blueprints.api.spec`): never written by
hand, so it cannot drift from what the API checks."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.blueprints.api import schemas
from app.blueprints.api.spec import ENDPOINTS, Endpoint, bp, openapi_path

PREFIX = "/api/v1"
REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No content",
    400: "Malformed request (bad JSON, invalid cursor)",
    401: "No key, or an unknown, revoked or expired key",
    403: "A read key on a write route",
    404: "No such resource",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "Not JSON",
    422: "Invalid fields or parameters (see error.fields)",
    429: "Rate limited (see Retry-After)",
}
_TYPES = {"int": {"type": "integer", "minimum": 1}, "path": {"type": "string"},
          "string": {"type": "string"}}


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"Error": schemas.Error}
    for ep in ENDPOINTS:
        for model in (ep.body, *(m for _, m in ep.responses.values())):
            if model is not None:
                found[model.__name__] = model
    return list(found.values())


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": {k: v for k, v in prop.items() if k != "description"}}
        if prop.get("description"):
            param["description"] = prop["description"]
        if prop.get("type") == "array":
            param["explode"] = True
        out.append(param)
    return out


def _operation(ep: Endpoint, refs: dict[str, str]) -> dict[str, Any]:
    path, params = openapi_path(ep.rule)
    op: dict[str, Any] = {
        "operationId": ep.name,
        "summary": ep.summary,
        "tags": [ep.rule.strip("/").split("/")[0]],
        "parameters": [{"name": n, "in": "path", "required": True, "schema": _TYPES[t]}
                       for n, t in params],
        "x-scope": ep.scope,
        "responses": {},
    }
    if ep.description:
        op["description"] = ep.description
    if ep.query is not None:
        op["parameters"] += _query_params(ep.query)
    if ep.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": refs[ep.body.__name__]}}}}
    elif ep.body_type == "csv":
        op["requestBody"] = {"required": True, "content": {
            "text/csv": {"schema": {"type": "string"}}}}
    for code, (_label, model) in sorted(ep.responses.items()):
        answer: dict[str, Any] = {"description": REASONS.get(code, "")}
        if code >= 400:
            error = model.__name__ if model is not None else "Error"
            answer["content"] = {"application/json": {"schema": {"$ref": refs[error]}}}
        elif model is not None:
            answer["content"] = {"application/json": {"schema": {"$ref": refs[model.__name__]}}}
        if code == 429:
            answer["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                 "description": "Seconds to wait"}}
        op["responses"][str(code)] = answer
    return op


@cache
def document() -> dict[str, Any]:
    """The whole document (built once per process: the routes are fixed at import)."""
    models = _models()
    keys, defs = models_json_schema([(m, "validation") for m in models],
                                    ref_template="#/components/schemas/{model}")
    refs = {m.__name__: keys[(m, "validation")]["$ref"] for m in models}
    paths: dict[str, dict[str, Any]] = {}
    for ep in ENDPOINTS:
        path, _ = openapi_path(ep.rule)
        paths.setdefault(PREFIX + path, {})[ep.method.lower()] = _operation(ep, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PitchFast API",
            "version": "1",
            "description": (
                "JSON in and out. Authenticate every request with 'Authorization: Bearer "
                "<key>' (keys are made by admins; read keys may only GET). Errors are "
                "{\"error\": {\"code\", \"message\", \"fields\"}}. Lists return next_cursor; "
                "pass it back as ?cursor= for the next page (at most 100 rows a page)."),
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API key: pf_ and 43 characters"}},
        },
    }


# The API reference page (another blueprint) reads the document through the app, not by
# importing this blueprint: blueprints never import each other.
bp.record_once(lambda state: state.app.extensions.__setitem__("api_openapi", document))
