"""Weir's Airflow 3 DAGs (`orchestration/dags/`, TaskFlow from `airflow.sdk`) and the logic they use: thin tasks
that call the batch jobs by their entry point, the `weir` CLI (`orchestration.commands`), never by import.
Airflow runs from its own venv (`.venv-airflow`, `make airflow-venv`); docs/orchestration.md says how."""
