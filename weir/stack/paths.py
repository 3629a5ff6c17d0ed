"""Where local state lives: `$WEIR_HOME` (default `.weir` in the repo) and what is under it."""

import os
from dataclasses import dataclass
from pathlib import Path

from ingest.home import default_home

REPO_ROOT = Path(__file__).resolve().parents[2]
__all__ = ["REPO_ROOT", "Home", "default_home"]


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def from_env(cls) -> "Home":
        raw = os.environ.get("WEIR_HOME")
        return cls(Path(raw).resolve() if raw else default_home())

    @property
    def jars(self) -> Path:
        return self.root / "jars"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kafka_data(self) -> Path:
        return self.root / "kafka"

    @property
    def lake_uri(self) -> str:
        return os.environ.get("WEIR_LAKE_URI") or str(self.root / "lake")

    @property
    def api_key_file(self) -> Path:
        return self.root / "api-key"

    def ensure(self) -> "Home":
        for p in (self.root, self.run, self.logs):
            p.mkdir(parents=True, exist_ok=True)
        return self


def infra_pom(name: str) -> Path:
    """The Maven project under infra/maven/<name>/ (kafka: the broker; spark: Spark's Kafka and Delta jars)."""
    pom = REPO_ROOT / "infra" / "maven" / name / "pom.xml"
    if not pom.is_file():
        raise FileNotFoundError(f"{pom} is missing: run Weir from its source checkout")
    return pom
