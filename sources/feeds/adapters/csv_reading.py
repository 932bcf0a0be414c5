"""Reading a council's CSV: its encoding, and its records, without one broken quote swallowing the rest.

`decode` reads UTF-8, else picks the most plausible of cp1252, latin-1 and cp437 with a note (or the encoding
the source names). `read_rows` gives (line, {column: value}) for each record. Python's csv module reads a quoted
field until its closing quote — over any number of lines, to the end of the file if it never closes — so an
unbalanced quote would silently turn the rest of a register into one cell. Here a record may run over at most
MAX_RECORD_LINES lines and MAX_RECORD_CHARS characters, may not end the file inside a quote, and, when it runs
over lines, must still have the header's number of columns (an unclosed quote pairs up with the next quote in the
file and scrambles the fields): otherwise the line where it began is rejected, saying so, and reading starts again
on the next line, so the good records after it are kept.
"""

from __future__ import annotations

import csv
import io
import unicodedata

from sources.feeds.adapters.common import where_in
from sources.feeds.base import Parsed, Rejected, SourceError

MAX_RECORD_LINES = 50
MAX_RECORD_CHARS = 20_000


def decode(body: bytes, encoding: str | None, notes: list[str]) -> str:
    if encoding:
        try:
            return body.decode(encoding)
        except LookupError:
            raise SourceError(f'option encoding={encoding!r} is not an encoding Python knows') from None
        except UnicodeDecodeError as exc:
            raise SourceError(
                f'cannot read the feed as {encoding} ({where_in(body, exc.start)} does not fit): set --option '
                'encoding=… to the one it uses'
            ) from None
    try:
        return body.decode('utf-8-sig')
    except UnicodeDecodeError as exc:
        where = body[: exc.start].count(b'\n') + 1
    best, text = max(
        ((name, body.decode(name, errors='replace')) for name in ('cp1252', 'latin-1', 'cp437')),
        key=lambda pair: _plausibility(pair[1]),
    )
    notes.append(
        f'the feed is not UTF-8 (first odd byte on line {where}); read it as {best} — '
        f'if names look wrong, set --option encoding=…'
    )
    return text


def _plausibility(text: str) -> int:
    score = 0
    for char in {c for c in text if ord(c) > 127}:
        category = unicodedata.category(char)
        score += 2 if category.startswith('L') else -3 if category[0] in 'CS' or char == '\ufffd' else -1
    return score


class _RunsOn(Exception):
    """The record being read has run over too many lines (or to the end of the file) inside a quoted field."""


class _Lines:
    """The file's lines for csv.reader, watching how far the current record runs."""

    def __init__(self, lines: list[str], start: int) -> None:
        self.lines, self.next, self.record_start, self.chars = lines, start, start, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.next >= len(self.lines):
            raise StopIteration
        running_on = self.next > self.record_start
        if running_on and (self.next - self.record_start >= MAX_RECORD_LINES or self.chars > MAX_RECORD_CHARS):
            raise _RunsOn
        line = self.lines[self.next]
        self.next += 1
        self.chars += len(line)
        return line

    def begin(self) -> int:
        """A record starts at the next line; its index."""
        self.record_start, self.chars = self.next, 0
        return self.next


def read_rows(text: str, delimiter: str, parsed: Parsed) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
    """(columns, [(where, row)]) for the CSV `text`; blank records are skipped, broken ones rejected by line."""
    lines = io.StringIO(text, newline='').readlines()
    columns: list[str] | None = None
    rows: list[tuple[str, dict[str, str]]] = []
    start = 0
    while start < len(lines):
        source = _Lines(lines, start)
        reader = csv.reader(source, delimiter=delimiter)
        first = start
        try:
            while True:
                first = source.begin()
                fields = next(reader, None)
                if fields is None:
                    start = len(lines)
                    break
                if source.next - first > 1 and _ran_on(lines[first : source.next], fields, columns, delimiter):
                    raise _RunsOn
                if columns is None:
                    columns = [name.strip() for name in fields]
                elif any(value.strip() for value in fields):
                    row = {name: value for name, value in zip(columns, fields, strict=False)}
                    rows.append((f'line {first + 1}', {name: row.get(name, '') for name in columns}))
        except _RunsOn:
            if columns is None:
                raise SourceError('the header line has a quote that is never closed: is this a CSV file?') from None
            parsed.rejected.append(
                Rejected(
                    f'line {first + 1}',
                    f'a quoted field that starts on this line is not closed (it ran on for {source.next - first} '
                    f'lines); this line was skipped and reading went on from line {first + 2}',
                )
            )
            start = first + 1
        except csv.Error as exc:
            parsed.rejected.append(Rejected(f'line {first + 1}', f'unreadable CSV ({_csv_problem(exc)}); skipped'))
            start = max(source.next, first + 1)
    return columns or [], rows


def _csv_problem(exc: csv.Error) -> str:
    """What the csv module found, in our words (its messages name the rule, but say it here so none ever quotes)."""
    text = str(exc)
    if 'field larger than field limit' in text:
        return f'a field is longer than {csv.field_size_limit():,} characters'
    if 'NUL' in text:
        return 'the line contains a NUL byte'
    if 'new-line character' in text:
        return 'a line break inside an unquoted field'
    return 'a quote or delimiter out of place'


def _ran_on(record: list[str], fields: list[str], columns: list[str] | None, delimiter: str) -> bool:
    """Whether a record read over several lines is an unclosed quote rather than a field with line breaks in it:
    it ends the file inside the quote, or it paired up with a quote on a later line and no longer has the header's
    number of columns."""
    if columns is not None and len(fields) != len(columns):
        return True
    try:
        for _ in csv.reader(record, delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return 'unexpected end of data' in str(exc)
    return False
