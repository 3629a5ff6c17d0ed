"""The Docker branch of the session broker (`tests/kafka_container.py`), run on machines without Docker: the
container it builds (image, environment, ports, wait), and a real Kafka 4.1 broker started on the server
properties the apache/kafka image derives from that environment."""

import subprocess
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from ingest.admin import create_topics, wait_for_cluster
from ingest.topics import TopicSpec
from tests.kafka_container import (
    IMAGE,
    STARTED,
    ApacheKafkaContainer,
    image_server_properties,
    property_name,
)
from tests.support import free_port
from weir.stack.kafka import LOG4J2, LocalKafka
from weir.stack.paths import Home
from weir.stack.procs import Service

NO_DAEMON = {"version": "1.44"}  # docker-py asks the daemon for its API version unless it is given one


def container(port: int, controller_port: int = 9093) -> ApacheKafkaContainer:
    return ApacheKafkaContainer(port, controller_port=controller_port, docker_client_kw=NO_DAEMON)


def test_the_docker_branch_runs_the_official_kafka_4_image_not_confluent_s():
    kafka = container(19092)
    assert kafka.image == IMAGE == "apache/kafka:4.1.1"
    assert kafka.ports == {"19092": 19092}  # bound to the port it advertises
    assert kafka.bootstrap == f"{kafka.get_docker_client().host()}:19092"
    assert kafka._command is None  # the image's own entry point (testcontainers' KafkaContainer replaces it)
    wait = kafka._wait_strategy
    assert isinstance(wait, LogMessageWaitStrategy)
    assert wait._message is STARTED
    assert STARTED.search("[2026-12-01 09:00:00,000] INFO [KafkaRaftServer nodeId=1] Kafka Server started (k)")


def test_the_image_gets_a_single_kraft_node_advertising_the_bound_port():
    props = image_server_properties(container(19092, controller_port=19093).env)
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["listeners"] == "PLAINTEXT://0.0.0.0:19092,CONTROLLER://0.0.0.0:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://localhost:19092"
    assert props["controller.quorum.voters"] == "1@localhost:19093"
    assert props["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    assert props["auto.create.topics.enable"] == "false"
    assert props["offsets.topic.replication.factor"] == "1"


def test_the_image_s_variable_names_convert_like_its_utility():
    assert property_name("LOG_DIRS") == "log.dirs"
    assert property_name("OFFSETS_TOPIC_REPLICATION_FACTOR") == "offsets.topic.replication.factor"
    assert property_name("LISTENER_NAME_PLAINTEXT__SASL") == "listener.name.plaintext_sasl"
    assert property_name("SOME___DASHED_NAME") == "some-dashed.name"


@pytest.mark.integration
def test_the_image_s_configuration_runs_a_real_kafka_4_broker(jars_home, tmp_path):
    """The server properties the image would write, on the Kafka the image ships (4.1.1, from Maven Central):
    formatted as its `launch` formats them, started, logging the line the wait strategy waits for, and serving
    a produce and a fetch at the advertised address."""
    port, controller_port = free_port(), free_port()
    kafka = container(port, controller_port)
    props = image_server_properties(kafka.env)
    props["log.dirs"] = str(tmp_path / "data")  # the container's path, here on the host
    config = tmp_path / "server.properties"
    config.write_text("".join(f"{k}={v}\n" for k, v in sorted(props.items())))
    (tmp_path / "log4j2.properties").write_text(LOG4J2)
    broker = LocalKafka(Service("kafka-image", Home(tmp_path).ensure()), jars_home.jars / "kafka", tmp_path)
    fmt = subprocess.run(
        broker._java("kafka.tools.StorageTool", "format", f"--cluster-id={kafka.env['CLUSTER_ID']}", "-c", str(config)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    broker.service.start(broker._java("kafka.Kafka", str(config)))
    try:
        wait_for_cluster(kafka.bootstrap, timeout_s=90)
        assert STARTED.search(broker.service.log_file.read_text()), broker.service.log_file.read_text()[-3000:]
        topic = f"docker-branch-{uuid.uuid4().hex[:8]}"
        assert create_topics(kafka.bootstrap, [TopicSpec(topic, partitions=1)]) == {topic: "created"}
        producer = Producer({"bootstrap.servers": kafka.bootstrap, "acks": "all"})
        producer.produce(topic, b"through the advertised listener")
        assert producer.flush(30) == 0
        del producer  # before the broker stops: librdkafka would log the refused reconnects
        consumer = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        try:
            msg = None
            for _ in range(60):
                msg = consumer.poll(1)
                if msg is not None and msg.error() is None:
                    break
            assert msg is not None
            assert msg.value() == b"through the advertised listener"
        finally:
            consumer.close()
    finally:
        broker.service.stop(timeout_s=30)
