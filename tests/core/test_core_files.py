"""File storage: safe keys, atomic writes, checksums, metadata rows, and serving rules."""

import hashlib
import os

import pytest

from app import storage
from app.extensions import db
from app.models import StoredFile

TRAVERSAL = [
    "../etc/passwd", "a/../../etc/passwd", "/etc/passwd", "a//b", "..", ".", "a/./../b",
    "a\\..\\b", "..%2Fetc%2Fpasswd", "a/b/", "", " leading-space", "a/b\x00c", "ä/b.png",
    ".hidden", "x" * 500,
]


def _root(app):
    return app.config["STORAGE_URL"][len("file://"):]


def test_save_writes_file_row_and_checksum(app):
    data = b"\x89PNG fake but fine" * 100
    row = storage.save("audits/1/desktop.png", data, "image/png", owner=("audit", 1))
    db.session.commit()
    path = os.path.join(_root(app), "audits", "1", "desktop.png")
    assert open(path, "rb").read() == data
    assert row.checksum == hashlib.sha256(data).hexdigest() and row.size == len(data)
    assert (row.owner_type, row.owner_id, row.content_type) == ("audit", 1, "image/png")
    with storage.open_file("audits/1/desktop.png") as fh:
        assert fh.read() == data
    # saving again replaces the file and updates the single metadata row
    storage.save("audits/1/desktop.png", b"v2", "image/png", owner=("audit", 1))
    db.session.commit()
    assert StoredFile.query.filter_by(key="audits/1/desktop.png").count() == 1
    assert StoredFile.query.one().checksum == hashlib.sha256(b"v2").hexdigest()
    storage.delete("audits/1/desktop.png")
    db.session.commit()
    assert not os.path.exists(path) and StoredFile.query.count() == 0
    with pytest.raises(storage.StorageError):
        storage.open_file("audits/1/desktop.png")


def test_write_is_atomic_no_partial_or_temp_files(app):
    backend = storage.backend()
    storage.save("a/file.bin", b"old", "application/octet-stream")

    # a failing write (unwritable data) leaves the old file intact and no temp files behind
    with pytest.raises(TypeError):
        backend.write("a/file.bin", object())  # type: ignore[arg-type]
    folder = os.path.join(_root(app), "a")
    assert sorted(os.listdir(folder)) == ["file.bin"]
    assert open(os.path.join(folder, "file.bin"), "rb").read() == b"old"


@pytest.mark.parametrize("key", TRAVERSAL)
def test_traversal_and_bad_keys_are_refused(app, key):
    with pytest.raises(storage.StorageError):
        storage.save(key, b"x", "text/plain")
    with pytest.raises(storage.StorageError):
        storage.open_file(key)
    assert StoredFile.query.count() == 0
    # nothing escaped the storage root
    assert not os.path.exists(os.path.join(os.path.dirname(_root(app)), "passwd"))


def test_serve_sets_type_nosniff_cache_and_etag(client, auth, app):
    row = storage.save("shots/desktop.webp", b"RIFF....WEBPVP8 data", "image/webp")
    db.session.commit()
    auth.login("member")
    resp = client.get("/files/shots/desktop.webp")
    assert resp.status_code == 200 and resp.data == b"RIFF....WEBPVP8 data"
    assert resp.headers["Content-Type"] == "image/webp"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    cache = resp.headers["Cache-Control"]
    assert "private" in cache and "max-age=" in cache
    assert resp.headers["ETag"] == f'"{row.checksum}"'
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    again = client.get("/files/shots/desktop.webp", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    stale = client.get("/files/shots/desktop.webp", headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200


def test_html_is_never_rendered_inline(client, auth):
    storage.save("x/page.html", b"<script>alert(1)</script>", "text/html")
    db.session.commit()
    auth.login("member")
    resp = client.get("/files/x/page.html")
    assert resp.headers["Content-Disposition"] == "attachment"
    assert "sandbox" in resp.headers["Content-Security-Policy"]


def test_serve_refuses_anonymous_unknown_and_traversal(client, auth, app):
    storage.save("shots/a.png", b"png", "image/png")
    db.session.commit()
    anon = client.get("/files/shots/a.png")
    assert anon.status_code in (302, 401, 403) and anon.data != b"png"
    auth.login("member")
    assert client.get("/files/shots/missing.png").status_code == 404
    for key in ["../pitchfast.sqlite3", "..%2Fpitchfast.sqlite3", "shots/../../pitchfast.sqlite3",
                "%2e%2e/pitchfast.sqlite3", "shots/..%5c..%5cpitchfast.sqlite3"]:
        resp = client.get(f"/files/{key}")
        assert resp.status_code == 404, key
        assert b"SQLite format" not in resp.data


def test_row_without_file_is_404_not_500(client, auth, app):
    storage.save("gone/a.png", b"png", "image/png")
    db.session.commit()
    os.unlink(os.path.join(_root(app), "gone", "a.png"))
    auth.login("member")
    assert client.get("/files/gone/a.png").status_code == 404


def test_delete_on_commit_keeps_file_on_rollback(app):
    storage.save("k/a.png", b"a", "image/png")
    db.session.commit()
    path = os.path.join(_root(app), "k", "a.png")
    storage.delete_on_commit("k/a.png")
    db.session.rollback()
    assert os.path.exists(path) and StoredFile.query.filter_by(key="k/a.png").count() == 1
    db.session.commit()  # a later, unrelated commit must not delete it
    assert os.path.exists(path)
    storage.delete_on_commit("k/a.png")
    assert os.path.exists(path)  # not yet
    db.session.commit()
    assert not os.path.exists(path) and StoredFile.query.count() == 0
