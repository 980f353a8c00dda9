"""Reading an uploaded spreadsheet export: refuse what is not CSV, detect the encoding
and the separator, and yield records with the line number each one starts on.

A file is refused as a whole when a record has more than :data:`MAX_COLUMNS` columns or
a cell holds more than :data:`MAX_CELL` characters, naming the line and column: a
200,000-column file would otherwise cost every later step (the mapping page puts every
column in each of its selects) time and memory out of all proportion to its size."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from charset_normalizer import from_bytes

#: Magic bytes of files people upload by mistake, with the message they get.
MAGIC = (
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PK\x03\x04", "a ZIP archive (or an Excel .xlsx workbook)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Office document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)
#: Most columns a record may have (a lead has 9 fields; the rest are kept as extras).
MAX_COLUMNS = 100
#: Most characters a cell may hold (the longest lead field, notes, holds 10,000).
MAX_CELL = 10_000
#: Encodings charset-normalizer may propose for Western text that Windows-1252 reads better.
_WESTERN = {"cp1250", "cp1252", "latin_1", "iso8859_15", "iso8859_2", "mac_roman", "cp850"}


class CsvRefused(ValueError):
    """The file as a whole cannot be read; the message tells the person what to do."""


@dataclass
class CsvFile:
    """A decoded CSV: header names, records as ``(line_number, values)``, what was detected."""

    headers: list[str]
    records: list[tuple[int, list[str]]]
    encoding: str
    delimiter: str
    blank_lines: int = 0
    notes: list[str] = field(default_factory=list)
    #: Lines that could not be parsed (e.g. an unclosed quote), with the reason.
    broken: list[tuple[int, str]] = field(default_factory=list)


def check_magic(data: bytes) -> None:
    """Refuse compressed, archived and binary files by their first bytes."""
    for magic, what in MAGIC:
        if data.startswith(magic):
            raise CsvRefused(
                f"This is {what}, not a CSV file. Export the sheet as CSV and upload that."
            )
    head = data[:4096]
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CsvRefused(
            "This is a binary file, not a CSV file. Export the sheet as CSV and upload that."
        )


def decode(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``: UTF-8 with or without BOM, UTF-16 with BOM, else detected."""
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:200_000]).best()
    if best is None:
        raise CsvRefused(
            "The file's text encoding could not be recognised. Save it as CSV UTF-8 and try again."
        )
    encoding = best.encoding
    if encoding in _WESTERN:
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return _strict(data, encoding), encoding


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise CsvRefused(
            f"The file is not valid {encoding} text. Save it as CSV UTF-8 and try again."
        ) from None


def sniff_delimiter(text: str) -> str:
    """``,`` ``;`` tab or ``|`` from csv.Sniffer, falling back to counting in the header line."""
    sample = text[:20_000]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = next((line for line in sample.splitlines() if line.strip()), "")
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


UNCLOSED = "unclosed quote: this line swallowed the lines after it; fix the quote marks"


def _parse(lines: list[str], start: int, delimiter: str) -> Iterator[tuple[int, list[str], int]]:
    """``(first_line, row, lines_used)`` from ``lines[start:]`` (1-based line numbers)."""
    reader = csv.reader(
        io.StringIO("".join(lines[start:]), newline=""), delimiter=delimiter, strict=False
    )
    consumed = 0
    for row in reader:
        yield start + consumed + 1, row, reader.line_num - consumed
        consumed = reader.line_num


def _records(
    text: str, delimiter: str
) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str]]]:
    """Parse every record; a stray quote costs only its own line, never the rows after it.

    A record that spans several physical lines with a different number of fields than the
    header is an unclosed quote: its first line is reported and parsing resumes on the
    next line. A line the csv module cannot read at all is reported the same way.
    """
    lines = text.splitlines(keepends=True)
    records: list[tuple[int, list[str]]] = []
    broken: list[tuple[int, str]] = []
    width: int | None = None
    header: list[str] | None = None
    start = 0
    while start < len(lines):
        restart = None
        next_line = start + 1  # the line the next record starts on (1-based)
        try:
            for line, row, used in _parse(lines, start, delimiter):
                if width is not None and used > 1 and len(row) != width:
                    broken.append((line, UNCLOSED))
                    restart = line  # resume on the line after the bad one
                    break
                if header is None and any(cell.strip() for cell in row):
                    header, width = row, len(row)
                check_size(line, row, header or row)
                records.append((line, row))
                next_line = line + used
        except csv.Error as exc:
            broken.append((next_line, f"could not be read as CSV ({exc})"))
            restart = next_line
        if restart is None:
            break
        start = restart
    return records, broken


def check_size(line: int, row: list[str], header: list[str]) -> None:
    """Refuse the file when ``row`` (starting on ``line``) is too wide or a cell too long.

    Checked as each record is parsed, so a refused file never holds more than one wide
    record in memory.
    """
    if len(row) > MAX_COLUMNS:
        raise CsvRefused(
            f"Line {line} has {len(row):,} columns; at most {MAX_COLUMNS} are accepted. "
            "Remove the columns you do not need and upload the file again."
        )
    if not row or max(map(len, row)) <= MAX_CELL:  # the common case, at C speed
        return
    for i, cell in enumerate(row):
        if len(cell) > MAX_CELL:
            name = header[i].strip()[:40] if i < len(header) and header[i].strip() else ""
            where = f"column {i + 1}" + (f" ({name})" if name else "")
            raise CsvRefused(
                f"Line {line}, {where} holds {len(cell):,} characters; a cell may hold at "
                f"most {MAX_CELL:,}. Shorten it and upload the file again."
            )


def read_csv(data: bytes, max_bytes: int) -> CsvFile:
    """Decode and parse a CSV upload, or raise :class:`CsvRefused` with a clear reason."""
    if not data or not data.strip():
        raise CsvRefused("The file is empty.")
    if len(data) > max_bytes:
        raise CsvRefused(f"The file is too large (the limit is {max_bytes // (1024 * 1024)} MB).")
    check_magic(data)
    text, encoding = decode(data)
    if "\x00" in text:
        raise CsvRefused("The file contains NUL characters; it does not look like a CSV file.")
    delimiter = sniff_delimiter(text)
    headers: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    blank = 0
    parsed, broken = _records(text, delimiter)
    for line, row in parsed:
        if not any(cell.strip() for cell in row):
            blank += 1
            continue
        if headers is None:
            headers = [h.strip() for h in row]
            continue
        records.append((line, row))
    if headers is None:
        raise CsvRefused("The file is empty.")
    if not records and not broken:
        raise CsvRefused("The file has a header line but no rows.")
    return CsvFile(headers, records, encoding, delimiter, blank, broken=broken)
