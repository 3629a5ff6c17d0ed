"""Parquet files for `weir import`, read with pyarrow a batch of rows at a time: the columns of a CSV import
(`batch.import_envelope.COLUMNS`), `payload` as JSON text or as a struct (turned into the JSON object it spells),
timestamps as RFC 3339 text or as Parquet timestamps with a time zone. Rows are numbered from 1."""

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from batch.exceptions import ImportFileError
from batch.import_envelope import LineError, check_columns

_BATCH_ROWS = 8192


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _payload(value: object, number: int) -> object:
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise LineError(number, f"payload is not JSON ({exc})") from None
    if isinstance(value, dict):
        try:
            return orjson.loads(orjson.dumps(value, default=_json_default))
        except TypeError as exc:
            raise LineError(number, f"payload holds a value JSON cannot represent ({exc})") from None
    return value  # the envelope refuses anything but an object, and says so


def parquet_items(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, the row as the envelope's JSON object) for each row; a null cell is an absent field."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFileError(f"{path}: not a Parquet file ({exc})") from None
    with parquet:
        try:
            check_columns(list(parquet.schema_arrow.names), 0)
        except LineError as exc:
            raise ImportFileError(f"{path}: {exc.message}") from None
        number = 0
        try:
            for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
                for row in batch.to_pylist():
                    number += 1
                    item = {k: v for k, v in row.items() if v is not None}
                    if "payload" in item:
                        item["payload"] = _payload(item["payload"], number)
                    yield number, item
        except (pa.ArrowException, OSError) as exc:
            raise ImportFileError(f"{path}: row {number + 1}: unreadable ({exc})") from None
