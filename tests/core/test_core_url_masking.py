"""One masking function for every URL printed or logged (issue 7, item 11):
``app.untrusted.mask_url``, used by config errors, the queue check and ``redact``."""

import pytest

from app.jobs.redact import redact
from app.untrusted import mask_url

SECRET = "SecretPw9x"


@pytest.mark.parametrize("url, shown", [
    # clean URLs: credentials masked, everything else kept as written
    ("redis://:SecretPw9x@host:6379/0", "redis://***@host:6379/0"),
    ("redis://user:SecretPw9x@host:6379/0", "redis://***@host:6379/0"),
    ("postgresql://bob:Secret@Pw9x@db.local/x", "postgresql://***@db.local/x"),
    ("https://SecretPw9x@github.com/o/r.git", "https://***@github.com/o/r.git"),
    ("redis://:SecretPw9x@[::1]:6379/0", "redis://***@[::1]:6379/0"),
    ("HTTPS://U:SecretPw9x@Host.Example/x", "HTTPS://***@Host.Example/x"),
    ("redis://:Secret%40Pw9x@host/0", "redis://***@host/0"),
    ("redis://:SecretPw9x@", "redis://***@"),
    ("postgresql://db/x?sslmode=require&password=SecretPw9x",
     "postgresql://db/x?sslmode=require&password=***"),
    ("https://x.example/?q=1&api_key=SecretPw9x#top", "https://x.example/?q=1&api_key=***#top"),
    ("sqlite:////srv/pitchfast/db.sqlite3", "sqlite:////srv/pitchfast/db.sqlite3"),
    ("sqlite:///", "sqlite:///"),
    ("file:///srv/files", "file:///srv/files"),
    ("https://medium.com/@someone", "https://medium.com/@someone"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    # not clean: the scheme alone, since where the password ends is a guess
    ("redis://:Sec/retPw9x@host/0/x", "redis://…"),
    ("redis://:12/SecretPw9x@host/0", "redis://…"),
    ("redis://u:Secret?Pw9x@host/0", "redis://…"),
    ("redis://u:Secret#Pw9x@host/0", "redis://…"),
    ("redis://u:SecretPw9x@host:99999/0", "redis://…"),
    ("redis://u:Secret Pw9x@host/0", "redis://…"),
    ("redis://u:Secret\tPw9x@host/0", "redis://…"),
    ("redis://u:Secret\\Pw9x@host/0", "redis://…"),
    ("redis://u:SecretPw9x@host\u202e/0", "redis://…"),
    ("redis://u:SecretPw9x@host\x00/0", "redis://…"),
    ("redis://[::1:SecretPw9x@host", "redis://…"),
    ("https://example.com:8443/@SecretPw9x", "https://…"),
    # no scheme://: the scheme-like head alone, or nothing
    ("user:SecretPw9x@host", "user:…"),
    ("redis:/SecretPw9x", "redis:…"),
    ("SecretPw9x@host", "(unparsable URL)"),
    ("", "(empty)"),
    (None, "(empty)"),
])
def test_mask_url(url, shown):
    assert mask_url(url) == shown
    assert "Pw9x" not in shown


def test_redact_masks_whole_urls_in_text_with_mask_url():
    text = redact("queue at redis://:Sec/retPw9x@host/0/x: refused; db "
                  "'postgresql://bob:Secret@Pw9x@db.local/x', (redis://:SecretPw9x@h:1/0).")
    assert "Pw9x" not in text
    assert "queue at redis://…: refused" in text
    assert "'postgresql://***@db.local/x'," in text and "(redis://***@h:1/0)." in text
    # URLs without credentials keep the address the message is about
    assert redact("fetch https://example.com:99999/ failed") == (
        "fetch https://example.com:99999/ failed")
    assert redact("see https://medium.com/@someone.") == "see https://medium.com/@someone."



def test_log_records_mask_url_credentials_from_any_logger(app, caplog):
    """Even a module that may not import the app (the audit engine) logs masked URLs."""
    import logging

    log = logging.getLogger("app.audits.engine.runner")
    with caplog.at_level(logging.INFO):
        log.info("audit of %s ended with %s", "https://u:SecretPw9x@example.com/", "x")
        log.warning("queue redis://:Sec/retPw9x@host/0/x down")
        try:
            raise ConnectionError("cannot reach redis://:SecretPw9x@127.0.0.1:1/0")
        except ConnectionError:
            log.exception("failed")
    text = caplog.text
    assert "Pw9x" not in text
    assert "audit of https://***@example.com/ ended with x" in text
    assert "queue redis://… down" in text and "redis://***@127.0.0.1:1/0" in text
