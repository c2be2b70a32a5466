"""A user's text files read line by line: UTF-8 lines, JSON Lines objects and CSV/TSV rows under a
header, each error naming the file, the line and what was expected (the formats' common ground).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from ranklens.errors import InputError


def _check_text_file(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(path, "the file is empty; expected at least one record")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if b"\x00" in head:
        raise InputError(path, "this is a binary file, not text (it holds NUL bytes)")


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 file, with a clear error on undecodable bytes."""
    _check_text_file(path)
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    path,
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                    "expected UTF-8 encoded text",
                    number,
                ) from None


def read_text(path: Path) -> str:
    """The whole of a UTF-8 text file (errors as text_lines)."""
    return "".join(text for _, text in text_lines(path))


def first_field(record: dict, candidates: tuple[str, ...]) -> object | None:
    """The value of the first of `candidates` the record holds (not empty), or None."""
    for name in candidates:
        if record.get(name) not in (None, ""):
            return record[name]
    return None


def read_jsonl_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line, object) for each non-blank line of a JSON Lines file."""
    seen = False
    for number, text in text_lines(path):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                path, f"invalid JSON ({exc.msg}); expected one JSON object per line", number
            ) from None
        except ValueError as exc:  # e.g. an integer past Python's 4,300-digit limit
            raise InputError(path, f"unreadable JSON value ({exc})", number) from None
        if not isinstance(record, dict):
            raise InputError(
                path, f"expected a JSON object per line, got {type(record).__name__}", number
            )
        seen = True
        yield number, record
    if not seen:
        raise InputError(path, "the file holds no records; expected one JSON object per line")


def _csv_rows(reader, path: Path) -> Iterator[list[str]]:
    """The reader's rows; csv's own errors (an unclosed quote, a field past its size limit, a
    bare carriage return) become InputError naming the line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                path,
                f"unreadable CSV ({exc}); expected quoted fields closed on the same row",
                reader.line_num,
            ) from None
        yield row


def delimited_records(path: Path, delimiter: str) -> Iterator[tuple[int, dict]]:
    """(line, row as a dict by the header) of a CSV/TSV file with a header row."""
    lines = text_lines(path)
    reader = csv.reader((text for _, text in lines), delimiter=delimiter)
    rows = _csv_rows(reader, path)
    try:
        header = next(rows)
    except StopIteration:
        raise InputError(path, "the file is empty; expected a header row") from None
    header = [h.strip() for h in header]
    seen = False
    for row in rows:
        number = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise InputError(
                path,
                f"{len(row)} columns, expected {len(header)} as in the header ({', '.join(header)})",
                number,
            )
        seen = True
        yield number, dict(zip(header, row, strict=True))
    if not seen:
        raise InputError(path, "no rows after the header; expected at least one document")
