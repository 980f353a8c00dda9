"""Who may read which stored file: every signed-in member may read every stored key
(screenshots, logos); anything not stored, or not a valid key, is 404."""

from __future__ import annotations

from typing import BinaryIO

from flask import abort
from sqlalchemy import select

from app import storage
from app.extensions import db
from app.models import StoredFile


def get_file_or_404(key: str) -> StoredFile:
    """The metadata row of a stored key, or 404 for a bad key (traversal …) or an unknown one."""
    try:
        storage.check_key(key)
    except storage.StorageError:
        abort(404)
    row: StoredFile = db.first_or_404(select(StoredFile).where(StoredFile.key == key))
    return row


def open_file_or_404(row: StoredFile) -> BinaryIO:
    """The stored bytes of ``row``, or 404 when the file itself is gone."""
    try:
        return storage.open_file(row.key)
    except storage.StorageError:
        abort(404)
