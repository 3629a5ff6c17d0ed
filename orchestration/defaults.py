"""What Weir's DAGs share: their owner, retry policy, tags and start date, and the Asset that compaction updates
and the quality sweep is scheduled by. No Airflow import here (the DAG files pass these to `airflow.sdk`)."""

import datetime as dt
import os
from typing import Any

OWNER = "weir"
COMPACTED_ASSET_URI = "weir://lake/compacted"
# A fixed start in the past: with catchup off, only the latest interval is ever scheduled on its own.
START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAG_IDS = ("weir_compaction", "weir_rebuild", "weir_quality_sweep")


def default_args(*, retries: int = 2, retry_minutes: float = 5.0, timeout_minutes: float = 120.0) -> dict[str, Any]:
    """`default_args` of a Weir DAG: owner, retries with a delay, a task timeout. `WEIR_AIRFLOW_RETRY_SECONDS`
    overrides the delay (the tests make it short)."""
    delay = os.environ.get("WEIR_AIRFLOW_RETRY_SECONDS")
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": dt.timedelta(seconds=float(delay)) if delay else dt.timedelta(minutes=retry_minutes),
        "retry_exponential_backoff": True,
        "execution_timeout": dt.timedelta(minutes=timeout_minutes),
    }
