"""The readable API reference: the OpenAPI document the API serves, arranged for people
(one section per resource, each route with its scope, parameters, body and answers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app


@dataclass
class Field:
    name: str
    type: str
    required: bool
    description: str = ""


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    scope: str
    params: list[Field] = field(default_factory=list)
    body: list[Field] = field(default_factory=list)
    body_type: str = ""
    answers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def description_parts(self) -> list[tuple[str, bool]]:
        """The description as ``(text, is_code)`` pieces (``code`` is between double
        backquotes in the docstrings the description comes from)."""
        return [(piece, i % 2 == 1) for i, piece in
                enumerate(" ".join(self.description.split()).split("``")) if piece]


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    kind = str(schema.get("type", "any"))
    limits = []
    if "maxLength" in schema:
        limits.append(f"≤ {schema['maxLength']} chars")
    if "maximum" in schema:
        limits.append(f"{schema.get('minimum', '')}–{schema['maximum']}")
    return kind + (f" ({', '.join(limits)})" if limits else "")


def _fields(schema: dict[str, Any], defs: dict[str, Any]) -> list[Field]:
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        if "anyOf" in prop:
            prop = {**prop, "anyOf": [_resolve(p, defs) for p in prop["anyOf"]]}
        out.append(Field(name, _type(prop), name in required, prop.get("description", "")))
    return out


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        target = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
        if "enum" in target:
            return target
    return schema


def reference() -> dict[str, Any]:
    """``{"sections": [(tag, [Operation])], "info": …}`` from the served document."""
    doc: dict[str, Any] = current_app.extensions["api_openapi"]()
    defs = doc["components"]["schemas"]
    sections: dict[str, list[Operation]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            item = Operation(method.upper(), path, op["summary"], op.get("description", ""),
                             op.get("x-scope", "read"))
            for p in op.get("parameters", []):
                schema = _resolve(p.get("schema", {}), defs)
                if schema.get("type") == "array":
                    schema = {**schema, "items": _resolve(schema.get("items", {}), defs)}
                item.params.append(Field(p["name"], _type(schema), p.get("required", False),
                                         p.get("description", "")))
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                item.body_type = "JSON"
                item.body = _fields(content["application/json"]["schema"], defs)
            elif "text/csv" in content:
                item.body_type = "CSV"
            for code, answer in op.get("responses", {}).items():
                item.answers.append((code, answer.get("description", "")))
            sections.setdefault(op["tags"][0], []).append(item)
    return {"info": doc["info"], "sections": list(sections.items())}
