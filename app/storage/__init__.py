"""File storage behind one interface (save, open, delete, url), chosen by ``STORAGE_URL``.

The local backend writes under a root folder with safe paths, atomic writes
(temp file + rename) and a SHA-256 checksum; a ``stored_files`` row holds the
metadata. Files are served by the ``files`` blueprint, which checks access.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app, url_for
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.security import safe_join

from app.extensions import db
from app.models import StoredFile

log = logging.getLogger(__name__)
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,398}$")


class StorageError(ValueError):
    """A bad key or a missing file."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative POSIX path, else raise :class:`StorageError`.

    Refuses absolute paths, ``..`` segments, empty segments, backslashes and
    anything outside ``[A-Za-z0-9._/-]``.
    """
    if (not isinstance(key, str) or not _KEY_RE.match(key) or ".." in key.split("/")
            or "//" in key or key.endswith("/")):
        raise StorageError(f"invalid storage key {key!r}")
    return key


class Backend(Protocol):
    def write(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> BinaryIO: ...
    def remove(self, key: str) -> None: ...


class LocalBackend:
    """Files under ``root``; keys are relative POSIX paths."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        check_key(key)
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
    """Write bytes under ``key`` (replacing any earlier file) and upsert its metadata row.

    The write is atomic (temp file, fsync, rename): readers see the old or the new
    file, never a partial one. Raises :class:`StorageError` for an unsafe key.
    """
    check_key(key)
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


_PENDING = "storage_delete_after_commit"


def delete_on_commit(key: str) -> None:
    """Remove the metadata row now and the file only once the transaction commits.

    If the transaction rolls back, the row and the file both stay: nothing half-done.
    """
    check_key(key)
    row = db.session.scalar(select(StoredFile).where(StoredFile.key == key))
    if row is not None:
        db.session.delete(row)
    db.session().info.setdefault(_PENDING, []).append((backend(), key))


@event.listens_for(Session, "after_commit")
def _remove_files_after_commit(session: Session) -> None:
    for store, key in session.info.pop(_PENDING, []):
        try:
            store.remove(key)
        except OSError:
            log.warning("could not remove stored file %s after commit", key)


@event.listens_for(Session, "after_rollback")
def _keep_files_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def url(key: str) -> str:
    """The app URL that serves ``key`` (access checked there)."""
    return url_for("files.serve", key=key)
