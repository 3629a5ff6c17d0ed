"""Run inside Airflow's venv with an `AIRFLOW_HOME` that `weir airflow up` prepared, never by pytest itself.

Through Airflow's own engine (`airflow.settings.engine`, made by the home's local settings) it does what
`airflow backfill create` does for each run: in a savepoint, read, then write. Between the read and the write
another connection (a thread, standing in for the scheduler) writes and commits. Prints one JSON object: the
engine's busy timeout, how the savepoint ended, how long the other writer waited, and the rows written."""

import json
import sqlite3
import threading
import time


def main() -> None:
    from airflow import settings
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    db = str(settings.engine.url.database)
    with sqlite3.connect(db) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE IF NOT EXISTS weir_probe (who TEXT)")
    read_done, out = threading.Event(), {}

    def other_writer() -> None:
        read_done.wait(30)
        started = time.monotonic()
        with sqlite3.connect(db, timeout=30) as con:
            con.execute("INSERT INTO weir_probe VALUES ('other')")
        out["other_waited_s"] = round(time.monotonic() - started, 3)

    raw = settings.engine.raw_connection()
    out["busy_timeout_ms"] = raw.cursor().execute("PRAGMA busy_timeout").fetchone()[0]
    raw.close()
    thread = threading.Thread(target=other_writer)
    thread.start()
    session = Session(settings.engine)
    try:
        with session.begin_nested():
            session.execute(text("SELECT count(*) FROM weir_probe")).scalar()
            read_done.set()
            time.sleep(1.0)  # the other writer commits now, unless this transaction holds the write lock
            session.execute(text("INSERT INTO weir_probe VALUES ('cli')"))
        session.commit()
        out["cli"] = "committed"
    except Exception as exc:  # the point of the probe: report, not raise
        session.rollback()
        out["cli"] = str(exc).splitlines()[0]
    finally:
        read_done.set()
        thread.join(60)
        session.close()
    with sqlite3.connect(db) as con:
        out["rows"] = sorted(r[0] for r in con.execute("SELECT who FROM weir_probe"))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
