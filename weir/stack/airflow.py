"""`weir up --airflow` / `weir airflow up|down|status`: a real Airflow 3 for Weir's DAGs, from its own venv
(`.venv-airflow`, `make airflow-venv`). Its home is `$WEIR_HOME/airflow` (SQLite, LocalExecutor); the api-server,
scheduler and dag-processor are background services like the rest of the stack (`weir.stack.procs`: own process
group, pid file, log), the DAGs folder is `orchestration/dags`, and the `WEIR_*` environment is passed through so
that tasks see the same lake. Also a small REST client (`AirflowApi`) for the login and unpausing."""

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from orchestration import airflow_local_settings
from orchestration.defaults import DAG_IDS
from weir.exceptions import StackError
from weir.stack.paths import REPO_ROOT, Home
from weir.stack.procs import Service

Say = Callable[[str], None]
USER = "admin"
DAGS_FOLDER = REPO_ROOT / "orchestration" / "dags"
COMPONENTS = ("api-server", "scheduler", "dag-processor")
# the services keep Airflow's deferred SQLite transactions; `airflow backfill …` begins IMMEDIATE (see the module)
SERVICE_ENV = {airflow_local_settings.BEGIN_ENV: "DEFERRED"}


@dataclass(frozen=True)
class AirflowApi:
    """Airflow's REST API (`/api/v2`) with a token from the simple auth manager's login."""

    url: str
    token: str

    @classmethod
    def login(cls, url: str, user: str, password: str) -> "AirflowApi":
        resp = httpx.post(f"{url}/auth/token", json={"username": user, "password": password}, timeout=30)
        if resp.status_code not in (200, 201):
            raise StackError(f"Airflow refused the login of {user!r} at {url}: {resp.status_code} {resp.text[:200]}")
        return cls(url, str(resp.json()["access_token"]))

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        resp = httpx.request(method, f"{self.url}/api/v2{path}", headers=headers, timeout=60, **kwargs)
        if resp.status_code >= 400:
            raise StackError(f"Airflow {method} {path}: {resp.status_code} {resp.text[:500]}")
        return resp.json() if resp.content else None

    def dag_ids(self, pattern: str = "weir_") -> set[str]:
        body = self.request("GET", "/dags", params={"dag_id_pattern": pattern, "limit": 100})
        return {d["dag_id"] for d in body["dags"]}

    def import_errors(self) -> list[str]:
        body = self.request("GET", "/importErrors")
        return [f"{e.get('filename')}: {e.get('stack_trace', '')[-400:]}" for e in body.get("import_errors", [])]

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})


@dataclass(frozen=True)
class LocalAirflow:
    home: Home
    port: int
    venv: Path

    @classmethod
    def from_env(cls, home: Home | None = None) -> "LocalAirflow":
        venv = Path(os.environ.get("WEIR_AIRFLOW_VENV") or REPO_ROOT / ".venv-airflow")
        return cls(home or Home.from_env(), int(os.environ.get("WEIR_AIRFLOW_PORT", "8080")), venv)

    @property
    def airflow_home(self) -> Path:
        return self.home.root / "airflow"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def password_file(self) -> Path:
        return self.airflow_home / "simple_auth_manager_passwords.json.generated"

    @property
    def services(self) -> dict[str, Service]:
        return {name: Service(f"airflow-{name}", self.home) for name in COMPONENTS}

    @property
    def airflow(self) -> Path:
        return self.venv / "bin" / "airflow"

    def _secrets(self) -> dict[str, str]:
        """The api-server's and the workers' shared JWT secret (one for every component), made once."""
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        path = self.airflow_home / "weir-secrets.json"
        if not path.is_file():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"jwt_secret": secrets.token_urlsafe(32), "secret_key": secrets.token_urlsafe(32)}, out)
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded

    @property
    def local_settings(self) -> Path:
        return self.airflow_home / "config" / "airflow_local_settings.py"

    def _install_local_settings(self) -> None:
        """`orchestration/airflow_local_settings.py` where every Airflow process with this home imports it."""
        self.local_settings.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(airflow_local_settings.__file__, self.local_settings)

    def env(self, weir_env: Mapping[str, str]) -> dict[str, str]:
        """Airflow's configuration (by environment, and the home's local settings) plus the `WEIR_*` tasks need."""
        keys = self._secrets()
        self._install_local_settings()
        passthrough = {k: v for k, v in os.environ.items() if k.startswith("WEIR_")}
        return {
            **passthrough,
            **weir_env,
            "WEIR_CLI": os.environ.get("WEIR_CLI") or f"{sys.executable} -m weir",
            "PYTHONPATH": str(REPO_ROOT),  # the DAG files import `orchestration` (nothing else of Weir)
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": os.environ.get("WEIR_AIRFLOW_PARALLELISM", "2"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # `up` unpauses Weir's DAGs itself
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.airflow_home / "logs"),
        }

    def up(
        self,
        weir_env: Mapping[str, str],
        say: Say = print,
        *,
        unpause: Sequence[str] = DAG_IDS,
        timeout_s: float = 240.0,
    ) -> AirflowApi:
        """Start (or find running) api-server, scheduler and dag-processor; wait for Weir's DAGs; unpause them."""
        if not self.airflow.is_file():
            raise StackError(f"Airflow's venv {self.venv} is missing: `make airflow-venv` makes it")
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        self.home.ensure()
        env = {**self.env(weir_env), **SERVICE_ENV}
        if not all(s.pid() for s in self.services.values()):
            self._migrate(env)
        argv = {
            "api-server": [str(self.airflow), "api-server", "--port", str(self.port), "--host", "127.0.0.1"],
            "scheduler": [str(self.airflow), "scheduler"],
            "dag-processor": [str(self.airflow), "dag-processor"],
        }
        for name, service in self.services.items():
            pid = service.start(argv[name], env=env, cwd=self.airflow_home)
            say(f"airflow    {name:<13} pid {pid}, log {service.log_file}")
        deadline = time.monotonic() + timeout_s
        self._wait_health(deadline)
        api = AirflowApi.login(self.url, USER, self.password())
        self._wait_dags(api, set(unpause), deadline)
        for dag_id in unpause:
            api.unpause(dag_id)
        say(f"airflow    UI {self.url}  login {USER!r}, password {self.password()!r} (in {self.password_file})")
        say(f"airflow    DAGs {', '.join(DAG_IDS)} from {DAGS_FOLDER}; unpaused: {', '.join(unpause) or 'none'}")
        return api

    def down(self, say: Say = print) -> None:
        for name in ("scheduler", "dag-processor", "api-server"):
            service = self.services[name]
            say(f"airflow-{name:<13} {'stopped' if service.stop(timeout_s=30) else 'was not running'}")

    def running(self) -> bool:
        return any(s.pid() for s in self.services.values())

    def status(self) -> dict[str, str]:
        out = {}
        for name, service in self.services.items():
            pid = service.pid()
            out[f"airflow {name}"] = f"running, pid {pid}" if pid else "stopped"
        out["airflow url"] = self.url
        out["airflow home"] = str(self.airflow_home)
        return out

    def password(self) -> str:
        try:
            return str(json.loads(self.password_file.read_text())[USER])
        except (FileNotFoundError, KeyError, ValueError) as exc:
            raise StackError(f"no Airflow password for {USER!r} in {self.password_file} yet") from exc

    def api(self) -> AirflowApi:
        return AirflowApi.login(self.url, USER, self.password())

    def _migrate(self, env: Mapping[str, str]) -> None:
        log = self.home.logs / "airflow-db-migrate.log"
        with log.open("ab") as out:
            done = subprocess.run(
                [str(self.airflow), "db", "migrate"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                cwd=self.airflow_home,
                timeout=300,
                check=False,
            )
        if done.returncode != 0:
            raise StackError(f"`airflow db migrate` exited {done.returncode}; see {log}")

    def _wait_health(self, deadline: float) -> None:
        service = self.services["api-server"]
        while time.monotonic() < deadline:
            for name, svc in self.services.items():
                if svc.pid() is None:
                    raise StackError(f"airflow {name} exited during start-up; see {svc.log_file}")
            try:
                healthy = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=2).status_code == 200
                if healthy and self.password_file.is_file():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise StackError(f"Airflow's api-server did not answer {self.url} in time; see {service.log_file}")

    def _wait_dags(self, api: AirflowApi, wanted: set[str], deadline: float) -> None:
        while time.monotonic() < deadline:
            if wanted <= api.dag_ids():
                return
            time.sleep(1)
        errors = api.import_errors()
        raise StackError(
            f"the dag-processor did not serialize {sorted(wanted - api.dag_ids())} in time"
            + (f"; import errors: {errors}" if errors else f"; see {self.services['dag-processor'].log_file}")
        )
