"""`weir up`, `weir down`, `weir status`: the local stack (Kafka unless `WEIR_KAFKA_BOOTSTRAP` is set, the
gateway, the streaming job), each a background process recorded under `$WEIR_HOME`."""

import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ingest.admin import create_topics
from ingest.topics import default_topics
from weir.exceptions import StackError
from weir.stack import jars
from weir.stack.airflow import LocalAirflow
from weir.stack.kafka import LocalKafka
from weir.stack.paths import REPO_ROOT, Home
from weir.stack.procs import Service

Say = Callable[[str], None]


@dataclass(frozen=True)
class Stack:
    home: Home

    @classmethod
    def from_env(cls) -> "Stack":
        return cls(Home.from_env())

    @property
    def external_bootstrap(self) -> str | None:
        return os.environ.get("WEIR_KAFKA_BOOTSTRAP") or None

    @property
    def kafka(self) -> LocalKafka:
        return LocalKafka(Service("kafka", self.home), self.home.jars / "kafka", self.home.kafka_data)

    @property
    def bootstrap(self) -> str:
        return self.external_bootstrap or self.kafka.bootstrap

    @property
    def gateway(self) -> Service:
        return Service("gateway", self.home)

    @property
    def stream(self) -> Service:
        return Service("stream", self.home)

    @property
    def airflow(self) -> LocalAirflow:
        return LocalAirflow.from_env(self.home)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{os.environ.get('WEIR_GATEWAY_PORT', '8000')}"

    @property
    def metrics_port(self) -> int:
        return int(os.environ.get("WEIR_STREAM_METRICS_PORT", "9108"))

    def api_keys(self) -> str:
        """WEIR_API_KEYS, else the local `demo` key (made once, kept in `$WEIR_HOME/api-key`)."""
        configured = os.environ.get("WEIR_API_KEYS")
        if configured:
            return configured
        key_file = self.home.api_key_file
        if not key_file.is_file():
            try:  # created private (0600): the key is never readable by others, not even for a moment
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another `weir` made it just now: use that one
            else:
                with os.fdopen(fd, "w") as out:
                    out.write(f"demo:{secrets.token_urlsafe(24)}\n")
        return key_file.read_text().strip()

    def child_env(self) -> dict[str, str]:
        return {
            "WEIR_HOME": str(self.home.root),
            "WEIR_LAKE_URI": self.home.lake_uri,
            "WEIR_KAFKA_BOOTSTRAP": self.bootstrap,
            "WEIR_API_KEYS": self.api_keys(),
        }

    def up(self, say: Say = print, *, airflow: bool = False) -> None:
        self.home.ensure()
        fetched = jars.fetch_all(self.home)
        say(
            f"jars       {self.home.jars} ({', '.join(k for k, v in fetched.items() if v) or 'cached'}"
            f"{' fetched' if any(fetched.values()) else ''})"
        )
        if self.external_bootstrap:
            say(f"kafka      {self.bootstrap} (WEIR_KAFKA_BOOTSTRAP; nothing started)")
        else:
            pid = self.kafka.start()
            say(f"kafka      {self.bootstrap} KRaft broker+controller, pid {pid}, log {self.kafka.service.log_file}")
        outcome = create_topics(self.bootstrap, default_topics())
        say("topics     " + ", ".join(f"{t} ({o})" for t, o in outcome.items()))
        env = self.child_env()
        cli = [sys.executable, "-m", "weir"]
        gw_pid = self.gateway.start([*cli, "gateway"], env=env, cwd=REPO_ROOT)
        self._wait_http(f"{self.gateway_url}/readyz", self.gateway, 60)
        say(f"gateway    {self.gateway_url} pid {gw_pid} (docs {self.gateway_url}/docs), log {self.gateway.log_file}")
        st_pid = self.stream.start([*cli, "stream"], env=env, cwd=REPO_ROOT)
        self._wait_http(f"http://127.0.0.1:{self.metrics_port}/metrics", self.stream, 120)
        say(
            f"stream     pid {st_pid}, metrics http://127.0.0.1:{self.metrics_port}/metrics, log {self.stream.log_file}"
        )
        tenant, _, key = env["WEIR_API_KEYS"].split(",")[0].partition(":")
        say(f"api key    tenant {tenant!r}: {key}  (in {self.home.api_key_file})")
        say(f"lake       {self.home.lake_uri}")
        if airflow:
            self.airflow.up(env, say)

    def down(self, say: Say = print) -> None:
        if self.airflow.running():
            self.airflow.down(say)
        for name, service in (("stream", self.stream), ("gateway", self.gateway)):
            say(f"{name:<10} {'stopped' if service.stop(timeout_s=90) else 'was not running'}")
        if not self.external_bootstrap:
            say(f"{'kafka':<10} {'stopped' if self.kafka.stop() else 'was not running'}")

    def status(self) -> dict[str, str]:
        out = {}
        services = [("gateway", self.gateway), ("stream", self.stream)]
        if not self.external_bootstrap:
            services.insert(0, ("kafka", self.kafka.service))
        for name, service in services:
            pid = service.pid()
            out[name] = f"running, pid {pid}" if pid else "stopped"
        out["kafka bootstrap"] = self.bootstrap
        out["gateway url"] = self.gateway_url
        out["lake"] = self.home.lake_uri
        out["home"] = str(self.home.root)
        airflow = self.airflow
        if airflow.running():
            out.update(airflow.status())
        return out

    @staticmethod
    def _wait_http(url: str, service: Service, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if service.pid() is None:
                raise StackError(f"{service.name} exited during start-up; see {service.log_file}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise StackError(f"{service.name} did not answer {url} within {timeout_s:.0f}s; see {service.log_file}")
