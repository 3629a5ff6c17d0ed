"""Read the Delta tables without Spark, with the `deltalake` package (delta-rs, an independent reader).

Reads go through delta-rs's own query engine (DataFusion) rather than `DeltaTable.to_pyarrow_table()`: the
latter scans with pyarrow's C++ thread pool, which with deltalake 1.6 and pyarrow 26 aborts the process at
interpreter exit about one time in three ("terminate called without an active exception").
"""

from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder
from deltalake.exceptions import TableNotFoundError


def read_rows(uri: str, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """Every row of the Delta table at `uri` (only `columns`, if given); [] when there is no table yet."""
    try:
        table = DeltaTable(uri)
    except TableNotFoundError:
        return []
    select = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    reader = QueryBuilder().register("t", table).execute(f"SELECT {select} FROM t")  # noqa: S608
    rows: list[dict[str, Any]] = pa.table(reader.read_all()).to_pylist()
    return rows


def column(uri: str, name: str) -> list[Any]:
    return [row[name] for row in read_rows(uri, [name])]
