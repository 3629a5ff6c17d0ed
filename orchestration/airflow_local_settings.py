"""How every Airflow process that `weir airflow up` gives a home connects to its SQLite metadata database.

`weir airflow up` copies this file to `$AIRFLOW_HOME/config/airflow_local_settings.py`. Airflow puts that folder on
`sys.path` and imports the module in every process (`airflow.settings.import_local_settings`), so its
`create_metadata_engine` (an override Airflow documents) makes the engine of the api-server, the scheduler, the
dag-processor and of any `airflow …` CLI run with that `AIRFLOW_HOME`, including a user's own shell. The module
is self-contained (the standard library and SQLAlchemy only) because a user's shell has no Weir on its path.

Two things, for SQLite only:

- **A 60 s busy timeout** instead of Python's 5 s, so a writer waits for another writer's lock.
- **`BEGIN IMMEDIATE` for `airflow backfill …`.** A busy timeout cannot help a transaction that read first and
  then writes: in WAL mode, once another connection has committed since that transaction's first read, SQLite
  refuses the write at once with `database is locked` (`SQLITE_BUSY_SNAPSHOT`); no wait would make the stale
  snapshot fresh. `airflow backfill create` is such a transaction: each run is a savepoint that looks for an
  existing run and then inserts one, while the scheduler commits every few seconds (apache/airflow#66726,
  #68699; it failed our CI twice). Opening every transaction with `BEGIN IMMEDIATE` takes the write lock before
  the first read, so the snapshot cannot go stale: the CLI waits (up to the busy timeout) instead of failing.

  Every other process keeps Airflow's own deferred transactions: a service may hold a read transaction in one
  session while another session of the same thread writes, which `BEGIN IMMEDIATE` would turn into a wait on
  itself, and `airflow db migrate` fails under it. `WEIR_AIRFLOW_SQLITE_BEGIN=IMMEDIATE|DEFERRED` overrides the
  choice for one process."""

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["create_metadata_engine"]  # the one name Airflow copies into `airflow.settings`

SQLITE_BUSY_TIMEOUT_S = 60.0
BEGIN_ENV = "WEIR_AIRFLOW_SQLITE_BEGIN"
BEGINS = ("IMMEDIATE", "DEFERRED")


IMMEDIATE_COMMANDS = ("backfill",)  # the `airflow` subcommands that begin IMMEDIATE


def sqlite_begin(environ: Mapping[str, str] | None = None, argv: Sequence[str] | None = None) -> str:
    """How this process opens SQLite transactions: `WEIR_AIRFLOW_SQLITE_BEGIN` if set, else `IMMEDIATE` for
    `airflow backfill …` and `DEFERRED` for everything else."""
    env = os.environ if environ is None else environ
    args = sys.argv if argv is None else argv
    value = env.get(BEGIN_ENV, "").strip().upper()
    if not value:
        command = args[1] if len(args) > 1 else ""
        return (
            "IMMEDIATE"
            if os.path.basename(args[0] if args else "") == "airflow" and command in IMMEDIATE_COMMANDS
            else "DEFERRED"
        )
    if value not in BEGINS:
        raise ValueError(f"{BEGIN_ENV}={value!r}: expected one of {', '.join(BEGINS)}")
    return value


def sqlite_connect_args(connect_args: dict[str, Any]) -> dict[str, Any]:
    """Airflow's connect args with the busy timeout added (a `timeout` already configured is kept)."""
    return {"timeout": SQLITE_BUSY_TIMEOUT_S, **connect_args}


def create_metadata_engine(sql_alchemy_conn: str, *, engine_args: dict[str, Any], connect_args: dict[str, Any]) -> Any:
    """Airflow's `create_metadata_engine`, plus the busy timeout and (unless DEFERRED) `BEGIN IMMEDIATE` for SQLite."""
    from sqlalchemy import create_engine

    sqlite = sql_alchemy_conn.startswith("sqlite")
    begin = sqlite_begin() if sqlite else "DEFERRED"  # a bad value fails here, before any connection
    engine = create_engine(
        sql_alchemy_conn,
        connect_args=sqlite_connect_args(connect_args) if sqlite else connect_args,
        **engine_args,
        future=True,
    )
    if sqlite and begin == "IMMEDIATE":
        begin_immediately(engine)
    return engine


def begin_immediately(engine: Any) -> None:
    """SQLAlchemy's recipe for pysqlite: the driver emits no BEGIN of its own, the engine emits `BEGIN IMMEDIATE`."""
    from sqlalchemy import event

    event.listen(engine, "connect", _no_driver_begin)
    event.listen(engine, "begin", _begin_immediate)


def _no_driver_begin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
