"""Stored files served through the app: members only, right content type, cacheable."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from sqlalchemy import select
from werkzeug.wsgi import wrap_file

from app import storage
from app.access import member
from app.extensions import db
from app.models import StoredFile

bp = Blueprint("files", __name__)
MAX_AGE = 3600
FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
INLINE = {"image/png", "image/jpeg", "image/webp", "image/gif", "application/pdf", "text/plain"}


@bp.get("/<path:key>")
@member
def serve(key: str):
    try:
        storage.check_key(key)
    except storage.StorageError:
        abort(404)
    row = db.session.scalar(select(StoredFile).where(StoredFile.key == key)) or abort(404)
    etag = row.checksum
    if etag in request.if_none_match:
        resp = Response(status=304)
    else:
        try:
            fh = storage.open_file(key)
        except storage.StorageError:
            abort(404)
        resp = Response(wrap_file(request.environ, fh), content_type=row.content_type,
                        direct_passthrough=True)
        resp.content_length = row.size
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = f"private, max-age={MAX_AGE}"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Disposition"] = "inline" if row.content_type in INLINE else "attachment"
    # A stored file is never a page of ours: no scripts, no framing, even if mislabelled.
    resp.headers["Content-Security-Policy"] = FILE_CSP
    return resp
