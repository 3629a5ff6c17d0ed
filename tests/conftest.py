"""Session-scoped real components (Kafka broker, Spark session) and `*_factory` fixtures.

Kafka: `WEIR_KAFKA_BOOTSTRAP` if set; else, where a Docker engine answers, the apache/kafka image through
testcontainers (`tests/kafka_container.py`, whose configuration `tests/test_docker_kafka.py` runs without Docker);
else a real KRaft broker started from the jars `weir jars` fetched (the usual case here: there is no Docker engine).

A test that uses `jars_home` (and so Maven, a broker or Spark: every JVM fixture depends on it) must be marked
`integration` or `e2e`, so that `make unit` stays offline and quick; collection fails otherwise.
"""

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from ingest.admin import create_topics, wait_for_cluster
from ingest.topics import default_topics
from tests.support import GatewayProcess, free_port, make_event
from weir.stack.jars import fetch
from weir.stack.kafka import LocalKafka
from weir.stack.paths import Home
from weir.stack.procs import Service

JVM_FIXTURE = "jars_home"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if JVM_FIXTURE in getattr(item, "fixturenames", ())
        and item.get_closest_marker("integration") is None
        and item.get_closest_marker("e2e") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            f"these tests use {JVM_FIXTURE} (Maven, Kafka or Spark) but are not marked integration or e2e: "
            + ", ".join(unmarked)
        )


@pytest.fixture(scope="session")
def jars_home() -> Home:
    """The repo's `$WEIR_HOME`, whose jars folders are fetched once and shared by every test."""
    home = Home.from_env().ensure()
    fetch("kafka", home)
    fetch("spark", home)
    return home


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="session")
def kafka_bootstrap(jars_home: Home, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("WEIR_KAFKA_BOOTSTRAP")
    if external:
        wait_for_cluster(external, timeout_s=60)
        create_topics(external, default_topics())
        yield external
        return
    if _docker_available():
        from tests.kafka_container import ApacheKafkaContainer

        with ApacheKafkaContainer(free_port()) as container:
            wait_for_cluster(container.bootstrap, timeout_s=60)
            create_topics(container.bootstrap, default_topics())
            yield container.bootstrap
        return
    broker = local_kafka(jars_home, tmp_path_factory.mktemp("kafka"))
    broker.start()
    create_topics(broker.bootstrap, default_topics())
    yield broker.bootstrap
    broker.stop()


def local_kafka(jars_home: Home, state: Path) -> LocalKafka:
    return LocalKafka(
        Service("kafka", Home(state).ensure()),
        jars_home.jars / "kafka",
        state / "data",
        port=free_port(),
        controller_port=free_port(),
        heap="512m",
    )


@pytest.fixture
def broker_factory(jars_home: Home, tmp_path: Path) -> Iterator[Callable[[], LocalKafka]]:
    """Private brokers for tests that stop and restart Kafka (the session broker is never disturbed)."""
    made: list[LocalKafka] = []

    def factory() -> LocalKafka:
        broker = local_kafka(jars_home, tmp_path / f"kafka-{len(made)}")
        made.append(broker)
        return broker

    yield factory
    for broker in made:
        broker.stop()


@pytest.fixture(scope="session")
def spark(jars_home: Home) -> Iterator[Any]:
    from lake.session import build_session

    session = build_session(jars_home.jars / "spark", app_name="weir-tests", driver_memory="1g")
    yield session
    session.stop()


@pytest.fixture
def lake(tmp_path: Path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture
def event_factory() -> Callable[..., dict[str, Any]]:
    return make_event


@pytest.fixture
def producer_factory(kafka_bootstrap: str) -> Iterator[Callable[..., Producer]]:
    made: list[Producer] = []

    def factory(**config: Any) -> Producer:
        producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all", **config})
        made.append(producer)
        return producer

    yield factory
    for producer in made:
        producer.flush(10)


@pytest.fixture
def consumer_factory(kafka_bootstrap: str) -> Iterator[Callable[..., Consumer]]:
    made: list[Consumer] = []

    def factory(*topics: str, **config: Any) -> Consumer:
        consumer = Consumer(
            {
                "bootstrap.servers": kafka_bootstrap,
                "group.id": f"weir-tests-{uuid.uuid4()}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                **config,
            }
        )
        consumer.subscribe(list(topics))
        made.append(consumer)
        return consumer

    yield factory
    for consumer in made:
        consumer.close()


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    made: list[GatewayProcess] = []

    def factory(bootstrap: str, api_keys: str = "acme:test-key", **env: str) -> GatewayProcess:
        gw = GatewayProcess(tmp_path / f"gw-{len(made)}", bootstrap, api_keys, **env).start()
        made.append(gw)
        return gw

    yield factory
    for gw in made:
        gw.stop()


@pytest.fixture(scope="session")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus Pushgateway (Debian's `prometheus-pushgateway`, which `make tools` installs) on a free
    local port, persisting to a tmp file; yields `host:port`. Fails, never skips, when the binary is missing."""
    import time

    import httpx

    binary = shutil.which("prometheus-pushgateway")
    if binary is None:
        pytest.fail(
            "prometheus-pushgateway is not installed: run `make tools`"
            " (Debian: `apt-get install prometheus-pushgateway`)"
        )
    state = tmp_path_factory.mktemp("pushgateway")
    address = f"127.0.0.1:{free_port()}"
    log = (state / "pushgateway.log").open("w")
    proc = subprocess.Popen(
        [binary, f"--web.listen-address={address}", f"--persistence.file={state / 'pushgateway.data'}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    while True:
        if proc.poll() is not None:
            pytest.fail(f"prometheus-pushgateway exited {proc.returncode}: {(state / 'pushgateway.log').read_text()}")
        try:
            if httpx.get(f"http://{address}/-/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"prometheus-pushgateway did not get ready on {address} in 15 s")
        time.sleep(0.1)
    yield address
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
