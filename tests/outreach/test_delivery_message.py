"""Building the email: header injection in every header field is refused (never cleaned),
addresses are validated without DNS, and every message carries the unsubscribe headers,
a visible link and the postal address."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email import message_from_bytes
from email.policy import default

import pytest

from app.outreach.message import MessageError, Parts, build, to_bytes

URL = "https://pitch.example.com/u/" + "A" * 43
BASE = Parts(sender_name="Sam Lee", sender_email="sam@brightweb.example",
             recipient="ana@smile.example", subject="Smile Dental: your website scored F",
             body="Hi Ana,\n\nThree things to fix.\n", message_id="<pf1.x@brightweb.example>",
             postal_address="1 Main St\nPorto", agency_name="Bright Web", unsubscribe_url=URL)
WHEN = datetime(2026, 1, 15, 10, 0, 0)

INJECTIONS = [
    "x\r\nBcc: victim@elsewhere.example",
    "x\nBcc: victim@elsewhere.example",
    "x\rBcc: victim@elsewhere.example",
    "x\x00y",
    "x\u2028Bcc: v@e.example",
    "x\u2029Bcc: v@e.example",
    "x\x85Bcc: v@e.example",
    "x\x0bBcc: v@e.example",
    "x\x1cBcc: v@e.example",
    "x %0D%0ABcc: v@e.example",
    "x &#13;&#10;Bcc: v@e.example",
    "x =?utf-8?q?=0D=0ABcc:_v@e.example?=",
    "x =?utf-8?b?DQpCY2M6IHZAZS5leGFtcGxl?=",
]


def _raw(p: Parts) -> bytes:
    return to_bytes(build(p, date=WHEN))


def test_a_good_message_has_every_required_part():
    raw = _raw(BASE)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    msg = message_from_bytes(raw, policy=default)
    assert msg["List-Unsubscribe"] == f"<{URL}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"] == BASE.message_id
    assert msg["Date"] == "Thu, 15 Jan 2026 10:00:00 +0000"
    body = msg.get_content()
    assert URL in body and "Bright Web, 1 Main St Porto" in body
    assert not msg.is_multipart()


def test_the_optional_html_part_says_the_same_escaped():
    p = replace(BASE, body="Hi <b>Ana</b> & co\n", html_part=True)
    msg = message_from_bytes(_raw(p), policy=default)
    assert msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(("html",)).get_content()
    assert "Hi &lt;b&gt;Ana&lt;/b&gt; &amp; co" in html and f'href="{URL}"' in html
    assert "1 Main St Porto" in html


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("field", ["subject", "sender_name"])
def test_header_injection_is_refused(field, value):
    with pytest.raises(MessageError, match="line break|encoded"):
        build(replace(BASE, **{field: value}), date=WHEN)


@pytest.mark.parametrize("value", [*INJECTIONS[:9], "ana@smile.example\r\nBcc: v@e.example",
                                   "not-an-address", "ana@", "ana@smile", "ánä@smile.example",
                                   "a b@smile.example"])
@pytest.mark.parametrize("field", ["recipient", "sender_email"])
def test_bad_addresses_are_refused(field, value):
    with pytest.raises(MessageError):
        build(replace(BASE, **{field: value}), date=WHEN)


def test_display_names_cannot_add_addresses():
    raw = _raw(replace(BASE, sender_name='Sam "Boss", <evil@x.example>'))
    msg = message_from_bytes(raw, policy=default)
    assert msg["From"].addresses[0].addr_spec == "sam@brightweb.example"
    assert len(msg["From"].addresses) == 1
    assert msg.get_all("Bcc") is None


@pytest.mark.parametrize("change, message", [
    ({"message_id": ""}, "Message-ID"),
    ({"message_id": "<a\r\nb@x>"}, "Message-ID"),
    ({"postal_address": "  "}, "postal address"),
    ({"unsubscribe_url": "javascript:alert(1)"}, "unsubscribe link"),
    ({"subject": "   "}, "subject is empty"),
])
def test_missing_parts_are_refused(change, message):
    with pytest.raises(MessageError, match=message):
        build(replace(BASE, **change), date=WHEN)


def test_non_ascii_subject_and_body_are_encoded_not_broken():
    p = replace(BASE, subject="Café Ümlaut — site", body="Olá Ana 👋\n")
    msg = message_from_bytes(_raw(p), policy=default)
    assert msg["Subject"] == "Café Ümlaut — site"
    assert "Olá Ana 👋" in msg.get_content()
