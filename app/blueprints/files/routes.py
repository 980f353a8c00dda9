"""Stored files served through the app: members only, right content type, cacheable."""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from werkzeug.wsgi import wrap_file

from app.access import member
from app.files.queries import get_file_or_404, open_file_or_404

bp = Blueprint("files", __name__)
MAX_AGE = 3600
FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
INLINE = {"image/png", "image/jpeg", "image/webp", "image/gif", "application/pdf", "text/plain"}


@bp.get("/<path:key>")
@member
def serve(key: str) -> ResponseReturnValue:
    row = get_file_or_404(key)
    if row.checksum in request.if_none_match:
        resp = Response(status=304)
    else:
        resp = Response(wrap_file(request.environ, open_file_or_404(row)),
                        content_type=row.content_type, direct_passthrough=True)
        resp.content_length = row.size
    resp.set_etag(row.checksum)
    resp.headers["Cache-Control"] = f"private, max-age={MAX_AGE}"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Disposition"] = "inline" if row.content_type in INLINE else "attachment"
    # A stored file is never a page of ours: no scripts, no framing, even if mislabelled.
    resp.headers["Content-Security-Policy"] = FILE_CSP
    return resp
