"""Fetch the JVM artifacts with Maven into `$WEIR_HOME/jars/{kafka,spark}`, once.

A folder is complete when its `.complete` stamp holds the hash of the pom that filled it: a second run with
the same pom fetches nothing. Spark's folder leaves out every jar whose artifact pyspark already ships, so
the session's classpath has one copy of each library (pyspark's), and holds Weir's own `file:` classes,
compiled from `lake/jvm` when a `javac` is on PATH (`lake.localfs`).
"""

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pyspark

from lake.localfs import build_jar
from weir.exceptions import JarsError
from weir.stack.paths import Home, infra_pom

_DOTTED = re.compile(r"^\d+(\.\d+)+")
STAMP = ".complete"


def artifact_name(jar: str) -> str:
    """The artifactId of a `<artifactId>-<version>.jar` that Maven wrote: the version starts at the last
    dash-separated part that looks like `1.2[.3…]` (`zstd-jni-1.5.7-3` -> `zstd-jni`,
    `log4j-1.2-api-2.25.4` -> `log4j-1.2-api`, `spark-sql-kafka-0-10_2.13-4.2.0` -> `spark-sql-kafka-0-10_2.13`)."""
    parts = jar.removesuffix(".jar").split("-")
    for i in range(len(parts) - 1, 0, -1):
        if _DOTTED.match(parts[i]):
            return "-".join(parts[:i])
    for i in range(len(parts) - 1, 0, -1):
        if parts[i][:1].isdigit():
            return "-".join(parts[:i])
    return "-".join(parts)


def pyspark_jars_dir() -> Path:
    return Path(pyspark.__file__).parent / "jars"


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def is_complete(folder: Path, pom: Path) -> bool:
    stamp = folder / STAMP
    return stamp.is_file() and stamp.read_text().strip() == _pom_digest(pom)


NO_JAVAC = (
    "no javac on PATH: Spark keeps Hadoop's local file system, which forks `chmod` twice for every new file "
    "(an append over 365 dates ~4x slower; docs/performance.md), and the rules check formats with regexes; "
    "install a JDK "
    "(Debian: apt-get install openjdk-17-jdk-headless) and run `weir jars` again"
)


def localfs_jar(home: Home) -> Path | None:
    """Weir's jar (its `file:` classes and format matchers) in the Spark jars folder, compiled now if their
    sources changed; None without `javac` (the session then keeps Hadoop's own classes and the regexes)."""
    return build_jar(home.jars / "spark", pyspark_jars_dir())


def fetch(name: str, home: Home, *, quiet: bool = True) -> tuple[Path, bool]:
    """Ensure `$WEIR_HOME/jars/<name>` is complete (for `spark`, with Weir's `file:` classes when a `javac` is
    there); returns (folder, fetched_now)."""
    pom = infra_pom(name)
    folder = home.jars / name
    fetched = not is_complete(folder, pom)
    if fetched:
        _fill(name, pom, folder, quiet=quiet)
    if name == "spark":
        localfs_jar(home)
    return folder, fetched


def _fill(name: str, pom: Path, folder: Path, *, quiet: bool) -> None:
    """Run Maven for `pom` into a staging folder, stamp it, and put it in `folder`'s place."""
    if shutil.which("mvn") is None:
        raise JarsError("Maven (`mvn`) is not on PATH: install it (Debian: apt-get install maven)")
    staging = folder.with_name(name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        "mvn",
        "-B",
        *(["-q"] if quiet else []),
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise JarsError(f"mvn could not fetch the {name} jars (exit {proc.returncode}):\n{tail}")
    if name == "spark":
        shipped = {artifact_name(j.name) for j in pyspark_jars_dir().glob("*.jar")}
        for jar in staging.glob("*.jar"):
            if artifact_name(jar.name) in shipped:
                jar.unlink()
    (staging / STAMP).write_text(_pom_digest(pom) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)


def fetch_all(home: Home) -> dict[str, bool]:
    """Both folders; {name: fetched_now}."""
    return {name: fetch(name, home)[1] for name in ("kafka", "spark")}
