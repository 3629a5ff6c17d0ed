"""Weir's Airflow 3 DAGs (TaskFlow, `airflow.sdk`): thin files that call batch jobs by their entry points
(`weir compact`, `weir backfill`, `weir sweep`), never by import. No DAG exists yet: they arrive with the
orchestration issue, together with Airflow's own virtual environment."""
