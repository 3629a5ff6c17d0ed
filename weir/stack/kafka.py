"""A real Apache Kafka 4 broker in KRaft mode (combined broker and controller), started from the jars that
`weir.stack.jars` fetched: `kafka.tools.StorageTool format --standalone` once, then `kafka.Kafka`."""

import base64
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from ingest.admin import wait_for_cluster
from ingest.exceptions import BrokerUnavailable
from weir.exceptions import StackError
from weir.stack.procs import Service

LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data_dir / "logs"}
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
"""


def new_cluster_id() -> str:
    """A Kafka cluster id (a UUID as unpadded URL-safe base64). Like Kafka's own `Uuid.randomUuid`, it never
    starts with '-', which the storage tool's argument parser would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class LocalKafka:
    """One broker whose state lives in `data_dir` and whose process is `service` (pid file and log)."""

    service: Service
    jars_dir: Path
    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    heap: str = "768m"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def _config(self) -> Path:
        return self.data_dir / "server.properties"

    def _java(self, main: str, *args: str) -> list[str]:
        if not any(self.jars_dir.glob("kafka_2.13-*.jar")):
            raise StackError(f"no Kafka jars in {self.jars_dir}: run `weir jars`")
        return [
            "java",
            f"-Xmx{self.heap}",
            "-Xms256m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "-cp",
            f"{self.jars_dir}/*",
            main,
            *args,
        ]

    def format_once(self) -> bool:
        """Write the config and format the storage unless it already is; True when it formatted now."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._config.write_text(server_properties(self.data_dir, self.port, self.controller_port))
        (self.data_dir / "log4j2.properties").write_text(LOG4J2)
        if (self.data_dir / "logs" / "meta.properties").is_file():
            return False
        cluster_id = new_cluster_id()
        argv = self._java(
            "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self._config), "--standalone"
        )
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{proc.stdout}{proc.stderr}")
        return True

    def start(self, timeout_s: float = 90.0) -> int:
        """Format if needed, start the broker, wait until it answers metadata requests; returns its pid."""
        self.format_once()
        pid = self.service.start(self._java("kafka.Kafka", str(self._config)))
        try:
            wait_for_cluster(self.bootstrap, timeout_s=timeout_s)
        except BrokerUnavailable as exc:
            alive = self.service.pid() is not None
            raise StackError(
                f"Kafka did not come up on {self.bootstrap} ({'running' if alive else 'exited'}); "
                f"see {self.service.log_file}: {exc}"
            ) from exc
        return pid

    def stop(self, timeout_s: float = 30.0) -> bool:
        return self.service.stop(timeout_s)
