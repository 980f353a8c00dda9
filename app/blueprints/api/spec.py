"""How an API route is declared: one decorator registers the view on ``bp``, reads and
validates its query string and body with pydantic models, and records all of it for the
OpenAPI document, so the document describes exactly what is checked.

Errors are :class:`ApiError` (``{"error": {"code", "message", "fields"}}``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from app.access import api_key

bp = Blueprint("api", __name__)
#: Methods a read key may not use.
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class ApiError(Exception):
    """An answer other than success: status, a stable code, a message for people,
    optionally the fields at fault and more members of the body."""

    def __init__(self, status: int, code: str, message: str, *,
                 fields: dict[str, str] | None = None, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields, self.extra, self.headers = fields, extra or {}, headers or {}

    def response(self) -> Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        resp = jsonify({"error": error, **self.extra})
        resp.status_code = self.status
        resp.headers.update(self.headers)
        return resp


@dataclass
class Endpoint:
    """One documented route."""

    method: str
    rule: str
    name: str
    summary: str
    description: str
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    body_type: str | None  #: "json", "csv" or None
    responses: dict[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        return "write" if self.method in WRITES else "read"


ENDPOINTS: list[Endpoint] = []


def field_errors(exc: ValidationError) -> dict[str, str]:
    """``{"field.path": "message"}`` from pydantic's errors (the first per field)."""
    out: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        out.setdefault(where, err["msg"])
    return out


def _limit(name: str) -> int:
    return int(current_app.config.get(name) or current_app.config["MAX_CONTENT_LENGTH"])


def read_body(limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (413 otherwise, chunked bodies too)."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "body_too_large", f"The body is larger than {limit:,} bytes.")
    # A chunked body has no Content-Length: read one byte past the limit to tell.
    request.max_content_length = limit + 1
    data = request.get_data(cache=False)
    if len(data) > limit:
        raise ApiError(413, "body_too_large", f"The body is larger than {limit:,} bytes.")
    return data


def parse_json(model: type[BaseModel]) -> BaseModel:
    """The JSON body validated by ``model``: 415 when not JSON, 400 when malformed, 422
    with the fields at fault."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       "Send a JSON body with 'Content-Type: application/json'.")
    raw = read_body(_limit("API_MAX_BODY_BYTES"))
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if errors and errors[0]["type"] == "json_invalid":
            raise ApiError(400, "malformed_json",
                           f"The body is not valid JSON ({errors[0]['msg']}).") from None
        if errors and errors[0]["type"] == "model_type":
            raise ApiError(422, "invalid", "The body must be a JSON object.") from None
        raise ApiError(422, "invalid", "Some fields are not valid.",
                       fields=field_errors(exc)) from None


def parse_query(model: type[BaseModel]) -> BaseModel:
    """The query string validated by ``model`` (list fields may repeat)."""
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        info = model.model_fields.get(key)
        is_list = info is not None and getattr(info.annotation, "__origin__", None) is list
        data[key] = values if is_list else values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid", "Some parameters are not valid.",
                       fields=field_errors(exc)) from None


_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def route(method: str, rule: str, *, summary: str, ok: tuple[int, type[BaseModel] | None],
          query: type[BaseModel] | None = None, body: type[BaseModel] | None = None,
          csv_body: bool = False,
          errors: tuple[int | tuple[int, type[BaseModel]], ...] = (),
          description: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API route: ``view(**url_args, query=…, body=…)`` gets the validated
    models; what it returns (a dict, or ``(dict, status)``) is sent as JSON. An error
    given as ``(status, Model)`` is documented with that model (an ``error`` and more)."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            if query is not None:
                kwargs["query"] = parse_query(query)
            elif request.args:
                raise ApiError(422, "invalid", "This route takes no parameters.",
                               fields=dict.fromkeys(request.args, "Unknown parameter."))
            if body is not None:
                kwargs["body"] = parse_json(body)
            elif csv_body:
                kwargs["data"] = read_body(_limit("LEADS_IMPORT_MAX_BYTES"))
            return fn(**kwargs)

        name = fn.__name__
        bp.add_url_rule(rule, name, api_key(view), methods=[method])
        codes = {ok[0]: ("OK", ok[1])}
        for code in (401, 429, *((403,) if method in WRITES else ()), *errors):
            status, model = code if isinstance(code, tuple) else (code, None)
            codes.setdefault(status, ("", model))
        doc = (fn.__doc__ or "").strip()
        ENDPOINTS.append(Endpoint(method, rule, name, summary, description or doc,
                                  query, body, "csv" if csv_body else ("json" if body else None),
                                  codes))
        return view

    return deco


def openapi_path(rule: str) -> tuple[str, list[tuple[str, str]]]:
    """``/leads/<int:lead_id>`` → ``/leads/{lead_id}`` and its parameters with types."""
    params = [(name, conv or "string") for conv, name in _PARAM.findall(rule)]
    return _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), params
