"""Normalisation of websites, emails and spreadsheet cells."""

import pytest

from app.leads.normalize import (
    InvalidValue,
    clean_text,
    neutralize_cell,
    normalize_email,
    normalize_website,
)


@pytest.mark.parametrize(
    ("raw", "url", "domain"),
    [
        ("smile-dental.co.uk", "http://smile-dental.co.uk/", "smile-dental.co.uk"),
        (
            "https://www.Smile-Dental.co.uk/contact?x=1#top",
            "https://www.smile-dental.co.uk/contact?x=1",
            "smile-dental.co.uk",
        ),
        ("  WWW.EXAMPLE.COM  ", "http://www.example.com/", "example.com"),
        ("http://example.com:8080/a", "http://example.com:8080/a", "example.com"),
        ("https://bücher.de", "https://xn--bcher-kva.de/", "xn--bcher-kva.de"),
        ("www.com.au", "http://www.com.au/", "com.au"),
        ("", None, None),
        (None, None, None),
    ],
)
def test_websites_are_normalised(raw, url, domain):
    assert normalize_website(raw) == (url, domain)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("http://exa mple.com", "contains spaces"),
        ("ftp://files.example.com", "unsupported scheme"),
        ("javascript:alert(1)", "unsupported scheme"),
        ("http://user:pw@example.com", "credentials"),
        ("http://192.168.1.1", "IP address"),
        ("localhost", "not a valid domain"),
        ("http://-bad-.com", "not a valid domain"),
        ("example.123", "top-level domain"),
        ("http://example.com:99999", "not a valid URL"),
    ],
)
def test_bad_websites_say_why(raw, reason):
    with pytest.raises(InvalidValue, match=reason):
        normalize_website(raw)


def test_emails_are_normalised_and_checked_without_dns():
    assert normalize_email(" Info@Smile-Dental.CO.UK ") == "info@smile-dental.co.uk"
    assert normalize_email("mailto:a@b.example") == "a@b.example"
    assert normalize_email("") is None
    for bad in ("not-an-email", "a@@b.com", "a@b", "@b.com"):
        with pytest.raises(InvalidValue, match="email"):
            normalize_email(bad)


def test_text_is_cleaned_and_length_checked():
    assert clean_text("  a \t b\x00\n c ") == "a b c"
    assert clean_text("   ") is None
    with pytest.raises(InvalidValue, match="longer than 5"):
        clean_text("abcdefg", 5, "city")


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell):
    assert neutralize_cell(cell) == "'" + cell


def test_plain_cells_are_left_alone():
    assert neutralize_cell("Smile Dental") == "Smile Dental"
    assert neutralize_cell(42) == 42


@pytest.mark.parametrize(
    "raw",
    [
        "info@smile.co.uk",
        "a.b+c@x-y.example.com",
        "o'brien@pub.ie",
        "a..b@x.com",
        ".a@x.com",
        "a.@x.com",
        "a@x..com",
        "a@-x.com",
        "a@x-.com",
        "a@x.c0m",
        "user@localhost.test",
        "a@b.local",
        "A@B.COM",
        "a" * 65 + "@x.com",
        "a@" + "b" * 64 + ".com",
        "a@b.arpa",
        "first_last@xn--bcher-kva.de",
        "a@b.xn--p1ai",
        "josé@example.com",
        "a@bücher.de",
    ],
)
def test_email_fast_path_agrees_with_email_validator(raw):
    from email_validator import EmailNotValidError, validate_email

    try:
        expected = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    try:
        got = normalize_email(raw)
    except InvalidValue:
        got = None
    assert got == expected


def test_local_sites_are_accepted_only_when_allowlisted():
    """Sites served locally (AUDIT_ALLOW_TARGETS) can be leads; nothing else that is not
    a public domain name can."""
    allow = frozenset({"127.0.0.1:5099", "localhost:80", "[::1]:8080"})
    assert normalize_website("http://127.0.0.1:5099/good/", allow) == (
        "http://127.0.0.1:5099/good/", "127.0.0.1:5099")
    assert normalize_website("localhost", allow) == ("http://localhost/", "localhost:80")
    assert normalize_website("http://[::1]:8080/x", allow)[1] == "::1:8080"
    for other in ("http://127.0.0.1:5098/", "https://127.0.0.1/", "http://10.0.0.1/"):
        with pytest.raises(InvalidValue, match="IP address"):
            normalize_website(other, allow)
    with pytest.raises(InvalidValue, match="IP address"):
        normalize_website("http://127.0.0.1:5099/")  # no allowlist given


def test_import_accepts_allowlisted_local_sites(app, campaign):
    from app import activity
    from app.leads.columns import detect_mapping
    from app.leads.csvfile import read_csv
    from app.leads.operations import import_leads

    app.config["AUDIT_ALLOW_TARGETS"] = ["127.0.0.1:5099"]
    parsed = read_csv(b"name,website\nLocal,http://127.0.0.1:5099/good/\n"
                      b"Other,http://127.0.0.1:6000/\n", 1 << 20)
    report = import_leads(
        campaign, parsed, detect_mapping(parsed.headers), "local.csv", actor=activity.SYSTEM
    )
    assert report.imported == 1
    assert [b["line"] for b in report.bad] == [3] and "IP address" in report.bad[0]["reason"]
