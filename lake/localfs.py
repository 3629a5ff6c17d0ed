"""`file:` without a `chmod` process per file: Weir's small Hadoop file system classes (`lake/jvm`), their jar,
and the session settings that select them.

pyspark ships no Hadoop native library, so Hadoop's local file system sets the mode of every file and
directory it creates by forking `/bin/chmod`: two processes per Parquet file (the file and its `.crc`), ~730
for an append over 365 dates, three quarters of that append's time on 2 cores (docs/performance.md, "One
chmod per file without a process"). `io.weir.fs.NioLocalFileSystem` (and `NioLocalFs` for FileContext, which
Delta's log and Spark's checkpoints use) are Hadoop's own classes with `setPermission` done by one
`chmod(2)` through `java.nio`: the same modes and checksums.

Weir's jar holds these classes and the quality engine's format matchers (`quality.engines.spark.matchers`). It
is compiled here with `javac` against pyspark's Hadoop and Spark SQL API jars, into the Spark jars folder, named
by the digest of its sources (`build_jar`, called by `weir jars`). Without `javac` nothing fails: the session
keeps Hadoop's classes (`hadoop_settings` finds no jar), the rules use regexes, and `weir jars` says what it
costs. Only `file:` is affected; object stores (`s3a:`, `abfss:`, `gs:`) never fork a process for a mode.
"""

import hashlib
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from lake.exceptions import LocalFsJarError
from quality.engines.spark import matchers

# Weir's Java: these classes, and the quality engine's format matchers (`quality.engines.spark.matchers`).
SOURCE_ROOTS = (Path(__file__).parent / "jvm", matchers.SOURCES)
JAR_PREFIX = "weir-jvm-"
_PREFIXES = (JAR_PREFIX, "weir-localfs-")  # the second: its name before it held the matchers
FILE_SYSTEM = "io.weir.fs.NioLocalFileSystem"
ABSTRACT_FILE_SYSTEM = "io.weir.fs.NioLocalFs"


def _sources() -> list[tuple[Path, Path]]:
    """(root, source) of every Java source."""
    return [(root, src) for root in SOURCE_ROOTS for src in sorted(root.rglob("*.java"))]


def sources_digest() -> str:
    """12 hex digits over the Java sources' relative paths and bytes: the jar's name changes with them."""
    h = hashlib.sha256()
    for root, src in _sources():
        h.update(src.relative_to(root).as_posix().encode() + b"\0" + src.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def jar_name() -> str:
    return f"{JAR_PREFIX}{sources_digest()}.jar"


def is_localfs_jar(path: Path) -> bool:
    """Any version of the jar (Spark's `spark.jars` must leave it out: it goes on the JVM's class path)."""
    return path.name.startswith(_PREFIXES) and path.suffix == ".jar"


def find_jar(jars_dir: Path) -> Path | None:
    """The current sources' jar in `jars_dir`, if there."""
    jar = jars_dir / jar_name()
    return jar if jar.is_file() else None


def hadoop_settings(jar: Path | None) -> dict[str, str]:
    """Spark settings that make `file:` Weir's classes (none without their jar). The jar goes on the driver's
    and executors' class path, not in `spark.jars`: spark-submit resolves `spark.jars` through `file:` itself,
    before it has loaded them."""
    if jar is None:
        return {}
    return {
        "spark.driver.extraClassPath": str(jar.resolve()),
        "spark.executor.extraClassPath": str(jar.resolve()),
        "spark.hadoop.fs.file.impl": FILE_SYSTEM,
        "spark.hadoop.fs.AbstractFileSystem.file.impl": ABSTRACT_FILE_SYSTEM,
    }


def _api_jar(pyspark_jars: Path, pattern: str) -> Path:
    found = sorted(pyspark_jars.glob(pattern))
    if not found:
        raise LocalFsJarError(f"no {pattern} in {pyspark_jars} to compile Weir's Java against")
    return found[-1]


def compile_class_path(pyspark_jars: Path) -> str:
    """Hadoop's API (for `io.weir.fs`) and Spark's SQL API (the UDF interfaces of `io.weir.quality`)."""
    jars = [_api_jar(pyspark_jars, "hadoop-client-api-*.jar"), _api_jar(pyspark_jars, "spark-sql-api_*.jar")]
    return ":".join(str(j) for j in jars)


def build_jar(out_dir: Path, pyspark_jars: Path, *, javac: str | None = None) -> Path | None:
    """Compile `SOURCE_ROOTS` into `out_dir/weir-jvm-<digest>.jar` unless it is there; remove older ones.
    Returns the jar, or None when no `javac` is on PATH. Raises LocalFsJarError when `javac` fails."""
    target = out_dir / jar_name()
    if target.is_file():
        return target
    javac = javac or shutil.which("javac")
    if javac is None:
        return None
    class_path = compile_class_path(pyspark_jars)
    with tempfile.TemporaryDirectory(prefix="weir-jvm-") as tmp:
        classes = Path(tmp) / "classes"
        compiled = subprocess.run(
            [javac, "--release", "17", "-nowarn", "-cp", class_path, "-d", str(classes)]
            + [str(src) for _, src in _sources()],
            capture_output=True,
            text=True,
            check=False,
        )
        if compiled.returncode != 0:
            raise LocalFsJarError(f"javac could not compile Weir's Java:\n{compiled.stderr.strip()[-2000:]}")
        staging = Path(tmp) / target.name
        with zipfile.ZipFile(staging, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: weir\r\n\r\n")
            for cls in sorted(classes.rglob("*.class")):
                jar.write(cls, cls.relative_to(classes).as_posix())
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), target)
    for old in out_dir.iterdir():
        if is_localfs_jar(old) and old != target:
            old.unlink()
    return target
