"""The files `weir import` reads, checked whole before anything is written: their format (`--format`, else the
suffix; gzip is recognised by its magic bytes), their rows (NDJSON lines, CSV rows under a header, Parquet rows)
and each row's envelope, checked as the gateway checks a posted event (`batch.import_envelope`).

`stage_all` reads every file, streaming, and writes each accepted record, as the gateway would have published it,
to a staging file of lines `<line or row number>\\t<record JSON>` that the import job hands to Spark. A file with
one bad line is refused whole (`ImportFileError`, naming the file and the line); with several files, every file is
checked first and one refused file means nothing of any is imported.
"""

import csv
import gzip
import hashlib
import re
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from batch.exceptions import ImportFileError
from batch.import_envelope import LineError, RecordError, check_columns, stamp_record
from batch.import_parquet import parquet_items

FORMATS = ("ndjson", "csv", "parquet")
_SUFFIXES = {".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson", ".csv": "csv", ".parquet": "parquet"}
_GZIP_MAGIC = b"\x1f\x8b"
_DIGITS = re.compile(r"[0-9]{1,9}", re.ASCII)
# A CSV cell may hold a large payload (the csv module's default limit is 128 KiB).
csv.field_size_limit(64 * 1024 * 1024)


@dataclass(frozen=True)
class StagedFile:
    """One accepted file: its format, its record count, the SHA-256 of its bytes (its identity for exactly-once)
    and the staging file of its stamped records."""

    path: Path
    format: str
    rows: int
    sha256: str
    staging: Path


def file_format(path: Path, fmt: str | None) -> str:
    """`fmt`, else the format the suffix says (`.ndjson`, `.jsonl`, `.json`, `.csv`, `.parquet`, each may end in
    `.gz` but Parquet)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ImportFileError(f"{path}: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    found = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if found is None:
        known = ", ".join([*_SUFFIXES, ".ndjson.gz"])
        raise ImportFileError(f"{path}: cannot tell the format from the name ({known}); pass --format")
    return found


@contextmanager
def _open_text_bytes(path: Path) -> Iterator[Iterable[bytes]]:
    """The file's bytes, gunzipped when it starts with gzip's magic bytes."""
    with path.open("rb") as raw:
        if raw.read(2) != _GZIP_MAGIC:
            raw.seek(0)
            yield raw
            return
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            yield unzipped


def _ndjson(stream: Iterable[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise LineError(number, f"not JSON ({exc})") from None
        if type(item) is not dict:
            raise LineError(number, "not a JSON object (NDJSON holds one event object per line)")
        yield number, item


def _decoded(stream: Iterable[bytes]) -> Iterator[str]:
    for number, line in enumerate(stream, 1):
        try:
            yield line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise LineError(number, "not UTF-8 text") from None


def _csv_item(header: list[str], row: list[str], number: int) -> dict[str, Any]:
    """A CSV row as the envelope's JSON object: an empty cell is an absent field, `schema_version` an integer
    when it is one, `payload` the JSON object its text holds."""
    item: dict[str, Any] = {}
    for name, cell in zip(header, row, strict=True):
        if cell == "":
            continue
        if name == "payload":
            try:
                item[name] = orjson.loads(cell)
            except orjson.JSONDecodeError as exc:
                raise LineError(number, f"payload is not JSON ({exc})") from None
        elif name == "schema_version" and _DIGITS.fullmatch(cell.strip()):
            item[name] = int(cell)
        else:
            item[name] = cell
    return item


def _csv(stream: Iterable[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(_decoded(stream), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
        check_columns(header, 1)
        previous = reader.line_num
        for row in reader:
            number, previous = previous + 1, reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                raise LineError(number, f"{len(row)} fields where the header has {len(header)}")
            yield number, _csv_item(header, row, number)
    except csv.Error as exc:
        raise LineError(reader.line_num, f"not valid CSV ({exc})") from None


def _items(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    if fmt == "parquet":
        yield from parquet_items(path)
        return
    reader = _ndjson if fmt == "ndjson" else _csv
    with _open_text_bytes(path) as stream:
        try:
            yield from reader(stream)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise ImportFileError(f"{path}: not a readable gzip file ({exc})") from None


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def stage(path: Path, fmt: str | None, *, tenant: str, imported_at: datetime, staging: Path) -> StagedFile:
    """Check every row of `path` and write its stamped records to `staging`; `ImportFileError` at the first bad
    row (the staging file is then incomplete and must be thrown away)."""
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    kind = file_format(path, fmt)
    where = "{path}: row {n}" if kind == "parquet" else "{path}:{n}"
    rows = 0
    try:
        with staging.open("wb") as out:
            for number, item in _items(path, kind):
                try:
                    record = stamp_record(item, tenant=tenant, imported_at=imported_at)
                except RecordError as exc:
                    raise LineError(number, str(exc)) from None
                out.write(b"%d\t%s\n" % (number, record))
                rows += 1
    except LineError as exc:
        raise ImportFileError(f"{where.format(path=path, n=exc.number)}: {exc.message}") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc})") from None
    return StagedFile(path, kind, rows, _sha256(path), staging)


def stage_all(
    paths: Iterable[Path], fmt: str | None, *, tenant: str, imported_at: datetime, into: Path
) -> list[StagedFile]:
    """`stage` every file into the directory `into`. Every file is checked even after one was refused, so that
    the error names each refused file; then, if any was, `ImportFileError` and nothing is to be written."""
    staged: list[StagedFile] = []
    refused: list[str] = []
    given = list(paths)
    for index, path in enumerate(given):
        try:
            staged.append(stage(path, fmt, tenant=tenant, imported_at=imported_at, staging=into / f"{index}.txt"))
        except ImportFileError as exc:
            refused.append(str(exc))
    if not refused:
        return staged
    if len(given) == 1:
        raise ImportFileError(f"{refused[0]}\nthe file was refused whole: nothing was imported")
    listing = "\n".join(f"  {r}" for r in refused)
    raise ImportFileError(
        f"{len(refused)} of {len(given)} files refused:\n{listing}\nevery file is checked before any is written: "
        "nothing was imported"
    )
