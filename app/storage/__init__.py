"""File storage behind one interface (save, open, delete, url), chosen by ``STORAGE_URL``.

The local backend writes under a root folder with safe paths, atomic writes
(temp file + rename) and a SHA-256 checksum; a ``stored_files`` row holds the
metadata. Files are served by the ``files`` blueprint, which checks access.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app, url_for
from sqlalchemy import select
from werkzeug.security import safe_join

from app.extensions import db
from app.models import StoredFile

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,398}$")


class StorageError(ValueError):
    """A bad key or a missing file."""


class Backend(Protocol):
    def write(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> BinaryIO: ...
    def remove(self, key: str) -> None: ...


class LocalBackend:
    """Files under ``root``; keys are relative POSIX paths."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY_RE.match(key) or ".." in key.split("/") or "//" in key:
            raise StorageError(f"invalid storage key {key!r}")
        joined = safe_join(str(self.root), key)
        if joined is None:
            raise StorageError(f"invalid storage key {key!r}")
        return Path(joined)

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def read(self, key: str) -> BinaryIO:
        path = self._path(key)
        if not path.is_file():
            raise StorageError(f"no file stored under {key!r}")
        return path.open("rb")

    def remove(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def init_app(app: Flask) -> None:
    """Build the backend named by ``STORAGE_URL`` (only ``file://`` so far)."""
    url: str = app.config["STORAGE_URL"]
    app.extensions["storage"] = LocalBackend(url[len("file://") :])


def backend() -> Backend:
    return current_app.extensions["storage"]


def save(
    key: str,
    data: bytes,
    content_type: str,
    owner: tuple[str, int] | None = None,
) -> StoredFile:
    """Write bytes under ``key`` (replacing any earlier file) and upsert its metadata row."""
    backend().write(key, data)
    row = db.session.scalar(select(StoredFile).where(StoredFile.key == key)) or StoredFile(key=key)
    row.content_type = content_type
    row.size = len(data)
    row.checksum = hashlib.sha256(data).hexdigest()
    row.owner_type, row.owner_id = owner if owner else (None, None)
    db.session.add(row)
    db.session.flush()
    return row


def open_file(key: str) -> BinaryIO:
    """Open a stored file for reading."""
    return backend().read(key)


def delete(key: str) -> None:
    """Remove a file and its metadata row."""
    backend().remove(key)
    row = db.session.scalar(select(StoredFile).where(StoredFile.key == key))
    if row is not None:
        db.session.delete(row)


def url(key: str) -> str:
    """The app URL that serves ``key`` (access checked there)."""
    return url_for("files.serve", key=key)
