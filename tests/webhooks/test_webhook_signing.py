"""Signing secrets (derived, never stored) and the receiver's verifier: a good signature
passes; replayed, forged, tampered and malformed ones are told apart."""

from __future__ import annotations

import time

import pytest

from app.webhooks import signing
from app.webhooks.signing import SignatureError

KEY = "k" * 48
SECRET = signing.derive_secret(KEY, "a" * 64)
BODY = b'{"data":{"audit_id":1},"event":"audit.finished","id":"dlv_1"}'


def test_secret_depends_on_the_instance_key_and_the_salt() -> None:
    assert SECRET == signing.derive_secret(KEY, "a" * 64)  # reproducible, so never stored
    assert SECRET.startswith("whsec_") and len(SECRET) > 40
    assert signing.derive_secret(KEY, "b" * 64) != SECRET
    assert signing.derive_secret("z" * 48, "a" * 64) != SECRET
    assert "a" * 64 not in SECRET and KEY not in SECRET
    assert signing.new_salt() != signing.new_salt()


def test_a_good_signature_verifies() -> None:
    ts = int(time.time())
    header = signing.signature(SECRET, ts, BODY)
    assert header.startswith("v1=") and len(header) == 3 + 64
    assert signing.verify(SECRET, BODY, str(ts), header) == ts
    headers = {"X-PitchFast-Timestamp": str(ts), "X-PitchFast-Signature": header}
    assert signing.verify_headers(SECRET, BODY, headers) == ts
    # Several signatures side by side: one matching is enough.
    assert signing.verify(SECRET, BODY, str(ts), f"v1={'0' * 64}, {header}") == ts


@pytest.mark.parametrize(("case", "code"), [
    ("tampered body", "mismatch"),
    ("other secret", "mismatch"),
    ("timestamp changed", "mismatch"),
    ("replayed later", "expired"),
    ("from the future", "expired"),
    ("no signature", "missing"),
    ("no timestamp", "missing"),
    ("timestamp not a number", "malformed"),
    ("other scheme", "malformed"),
    ("garbage", "malformed"),
    ("non-ASCII signature", "malformed"),
    ("non-ASCII among several", "malformed"),
    ("non-ASCII digits in the timestamp", "malformed"),
])
def test_bad_signatures_are_refused_with_their_reason(case: str, code: str) -> None:
    now = time.time()
    ts = int(now)
    good = signing.signature(SECRET, ts, BODY)
    body, stamp, header, at = BODY, str(ts), good, now
    if case == "tampered body":
        body = BODY.replace(b'"audit_id":1', b'"audit_id":2')
    elif case == "other secret":
        header = signing.signature(signing.derive_secret(KEY, "c" * 64), ts, BODY)
    elif case == "timestamp changed":  # a fresh timestamp on an old signature
        stamp = str(ts + 5)
    elif case == "replayed later":
        at = now + signing.TOLERANCE_SECONDS + 1
    elif case == "from the future":
        at = now - signing.TOLERANCE_SECONDS - 1
    elif case == "no signature":
        header = ""
    elif case == "no timestamp":
        stamp = ""
    elif case == "timestamp not a number":
        stamp = "12e9"
    elif case == "other scheme":
        header = good.replace("v1=", "v0=")
    elif case == "garbage":
        header = "not a signature"
    elif case == "non-ASCII signature":  # a forged header must not crash the check
        header = "v1=" + "é" * 64
    elif case == "non-ASCII among several":
        header = f"{good}, v1=\u0663\u0663"
    elif case == "non-ASCII digits in the timestamp":
        stamp = "\u0661" * 10
    with pytest.raises(SignatureError) as err:
        signing.verify(SECRET, body, stamp, header, now=at)
    assert err.value.code == code


def test_tolerance_is_five_minutes_both_ways() -> None:
    ts = 1_800_000_000
    header = signing.signature(SECRET, ts, BODY)
    assert signing.verify(SECRET, BODY, str(ts), header, now=ts + 300) == ts
    assert signing.verify(SECRET, BODY, str(ts), header, now=ts - 300) == ts
    with pytest.raises(SignatureError):
        signing.verify(SECRET, BODY, str(ts), header, now=ts + 301)
