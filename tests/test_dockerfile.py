"""infra/docker/Dockerfile, read as text (no Docker engine here): the image holds every package Weir installs,
and a JDK for `weir jars`."""

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "infra" / "docker" / "Dockerfile"


def _packages() -> set[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.rstrip("*") for pattern in include}


def test_the_image_copies_every_package_weir_installs() -> None:
    copied = set(re.findall(r"^COPY (\w+) \1$", DOCKERFILE.read_text(), flags=re.M))
    assert _packages() <= copied, f"not copied into the image: {sorted(_packages() - copied)}"


def test_the_image_has_a_jdk_for_weirs_file_system_classes() -> None:
    assert "openjdk-17-jdk-headless" in DOCKERFILE.read_text()
