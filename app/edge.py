"""Bounds at the edge: every value a request carries is checked before any view sees it.

* ``<int:…>`` in every route is a database id: 1 … 2^63 − 1 (a larger one is a 404, never
  an ``OverflowError`` on SQLite or ``bigint out of range`` on PostgreSQL);
* :func:`bounded_int` reads an integer query parameter (``page``, ``before``, ``after``)
  within bounds, or answers 422 with a message;
* no query parameter or form field may hold a NUL character (PostgreSQL refuses them
  in text): such a request is a 422 with a message, whatever the route; a NUL in the
  path (``/campaigns/%00``) is a 404 before any view looks the value up.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, Map

#: The largest id a database column holds (signed 64-bit).
MAX_ID = 2**63 - 1
#: The largest page number a numbered list accepts (its OFFSET must stay a small integer).
MAX_PAGE = 100_000


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` converter with bounds that fit a database id by default."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, 1 if min is None else min,
                         MAX_ID if max is None else max, signed)


def bounded_int(name: str, default: int | None = None, *, low: int = 0,
                high: int = MAX_ID) -> int | None:
    """The query parameter ``name`` as an int in ``[low, high]``; ``default`` when absent;
    a 422 with a message when it is not a whole number in range."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if len(raw) > 20 or not raw.lstrip("-").isdigit():
        abort(422, description=f"The parameter '{name}' must be a whole number.")
    value = int(raw)
    if not low <= value <= high:
        abort(422, description=f"The parameter '{name}' must be between {low} and {high}.")
    return value


def refuse_nul() -> Any:
    """``before_request``: no NUL character in the path (a 404: no such page), nor in any
    query parameter, form field or file name (a 422 with a message)."""
    if "\x00" in request.path:
        abort(404)
    values = list(request.args.items(multi=True))
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += list(request.form.items(multi=True))
        values += [(k, f.filename or "") for k, f in request.files.items(multi=True)]
    for key, value in values:
        if "\x00" in key or "\x00" in value:
            abort(422, description="Text may not contain NUL characters (\\x00).")
    return None


def init_app(app: Flask) -> None:
    """Install the bounded ``int`` converter and the NUL guard."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul)
