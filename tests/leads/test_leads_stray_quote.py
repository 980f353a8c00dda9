"""A stray quote costs only its own line: every row after it is still imported, and the
bad line is reported with its number (found by review: it used to swallow the rest)."""

from app.leads.csvfile import UNCLOSED, read_csv
from app.leads.normalize import InvalidValue, normalize_website


def test_unclosed_quote_is_one_bad_line_not_the_rest_of_the_file():
    data = b'name,website\nA,a.com\n"B,b.com\nC,c.com\nD,d.com\n'
    f = read_csv(data, 10**6)
    assert [line for line, _ in f.records] == [2, 4, 5]
    assert f.broken == [(3, UNCLOSED)]


def test_unclosed_quote_before_many_rows_does_not_refuse_the_file():
    rows = b"".join(b"C%d,c%d.com\n" % (i, i) for i in range(20_000))
    f = read_csv(b'name,website\nA,a.com\n"B,b.com\n' + rows, 10**8)
    assert len(f.records) == 20_001
    assert [line for line, _ in f.broken] == [3]


def test_quoted_newlines_are_still_one_record():
    f = read_csv(b'name,website,notes\nA,a.com,"two\nlines"\nB,b.com,x\n', 10**6)
    assert f.records == [(2, ["A", "a.com", "two\nlines"]), (4, ["B", "b.com", "x"])]
    assert f.broken == []


def test_import_reports_the_broken_line_and_keeps_the_good_rows(runner, app):
    import tempfile

    from app.cli import main
    from app.extensions import db
    from app.models import Lead

    assert runner.invoke(main, ["campaigns", "create", "Quotes"]).exit_code == 0
    with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as fh:
        fh.write(b'name,website\nA,a.com\n"B,b.com\nC,c.com\nD,d.com\n')
    result = runner.invoke(main, ["leads", "import", fh.name, "--campaign", "quotes"])
    assert result.exit_code == 0, result.output
    assert "line 3" in result.output and "unclosed quote" in result.output
    assert sorted(db.session.scalars(db.select(Lead.domain)).all()) == ["a.com", "c.com", "d.com"]


def test_normalised_url_longer_than_the_column_is_a_bad_value():
    try:
        normalize_website("example.com/" + "a" * 2030)
    except InvalidValue as exc:
        assert "2048" in str(exc)
    else:
        raise AssertionError("a 2049-character URL was accepted")
