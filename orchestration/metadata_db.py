"""How Airflow's components connect to the metadata database that `weir airflow up` gives them (SQLite in
`$WEIR_HOME/airflow`): named by `AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS`, imported by Airflow itself.

SQLite lets one writer at a time in; the scheduler, the dag-processor, the api-server and a CLI such as
`airflow backfill create` all write. Python's default busy timeout (5 s) is shorter than a scheduler loop on a
loaded two-core machine, so a CLI write fails there with `database is locked` (apache/airflow#66726); every
component now waits up to `SQLITE_BUSY_TIMEOUT_S` for the lock instead."""

from typing import Final

SQLITE_BUSY_TIMEOUT_S: Final = 60.0

CONNECT_ARGS: dict[str, object] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
