"""lake.localfs: Weir's `file:` classes compiled, selected by the session, and writing what Hadoop's write."""

import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from lake import localfs
from lake.localfs import ABSTRACT_FILE_SYSTEM, FILE_SYSTEM, build_jar, find_jar, hadoop_settings, is_localfs_jar
from weir.stack.jars import pyspark_jars_dir

needs_javac = pytest.mark.skipif(shutil.which("javac") is None, reason="no javac on PATH")


def test_no_jar_no_settings() -> None:
    assert hadoop_settings(None) == {}


def test_the_jar_goes_on_the_class_path_and_selects_both_file_system_apis(tmp_path: Path) -> None:
    jar = tmp_path / localfs.jar_name()
    jar.write_bytes(b"")
    settings = hadoop_settings(find_jar(tmp_path))
    assert settings == {
        "spark.driver.extraClassPath": str(jar.resolve()),
        "spark.executor.extraClassPath": str(jar.resolve()),
        "spark.hadoop.fs.file.impl": FILE_SYSTEM,
        "spark.hadoop.fs.AbstractFileSystem.file.impl": ABSTRACT_FILE_SYSTEM,
    }


def test_an_older_jar_is_not_the_current_one(tmp_path: Path) -> None:
    (tmp_path / "weir-localfs-000000000000.jar").write_bytes(b"")
    assert is_localfs_jar(tmp_path / "weir-localfs-000000000000.jar")  # its name before the format matchers
    assert is_localfs_jar(tmp_path / "weir-jvm-000000000000.jar")
    assert not is_localfs_jar(tmp_path / "delta-spark_4.2_2.13-4.4.0.jar")
    assert find_jar(tmp_path) is None


@pytest.mark.parametrize("changed", ["NioLocalFs.java", "Formats.java"])
def test_the_jar_name_follows_the_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changed: str) -> None:
    copies = []
    for i, root in enumerate(localfs.SOURCE_ROOTS):
        copies.append(tmp_path / f"root{i}")
        shutil.copytree(root, copies[-1])
    monkeypatch.setattr(localfs, "SOURCE_ROOTS", tuple(copies))
    before = localfs.jar_name()
    assert before == localfs.jar_name()
    source = next(s for root in copies for s in root.rglob(changed))
    source.write_text(source.read_text() + "\n// changed\n")
    assert localfs.jar_name() != before


def test_without_javac_nothing_is_built_and_nothing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert build_jar(tmp_path / "out", pyspark_jars_dir()) is None
    assert not (tmp_path / "out").exists()


@needs_javac
def test_the_jar_is_compiled_once_and_replaces_older_ones(tmp_path: Path) -> None:
    old = tmp_path / "weir-localfs-000000000000.jar"
    old.write_bytes(b"")
    jar = build_jar(tmp_path, pyspark_jars_dir())
    assert jar == tmp_path / localfs.jar_name()
    with zipfile.ZipFile(jar) as z:
        names = set(z.namelist())
    assert {f"io/weir/fs/{c}.class" for c in ("NioLocalFileSystem", "NioRawLocalFileSystem", "NioLocalFs")} <= names
    assert {"io/weir/quality/Formats.class", "io/weir/quality/FormatUdfs$Url.class"} <= names
    assert not old.exists()
    built = jar.stat().st_mtime_ns
    assert build_jar(tmp_path, pyspark_jars_dir()) == jar
    assert jar.stat().st_mtime_ns == built


@pytest.mark.integration
@needs_javac
class TestInTheSession:
    """The session the tests share was built by lake.session with the jar `jars_home` compiled."""

    def test_file_is_weirs_classes_for_both_hadoop_apis(self, spark) -> None:
        jvm = spark.sparkContext._jvm
        conf = spark.sparkContext._jsc.hadoopConfiguration()
        uri = jvm.java.net.URI("file:///")
        assert jvm.org.apache.hadoop.fs.FileSystem.get(uri, conf).getClass().getName() == FILE_SYSTEM
        context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(uri, conf)
        assert context.getDefaultFileSystem().getClass().getName() == ABSTRACT_FILE_SYSTEM

    @pytest.mark.parametrize("mode", [0o600, 0o644, 0o640, 0o750, 0o755, 0o705, 0o777, 0o000])
    def test_set_permission_sets_exactly_the_mode(self, spark, tmp_path: Path, mode: int) -> None:
        jvm = spark.sparkContext._jvm
        target = tmp_path / "f"
        target.write_text("x")
        hadoop = jvm.org.apache.hadoop
        fs = hadoop.fs.FileSystem.get(jvm.java.net.URI("file:///"), spark.sparkContext._jsc.hadoopConfiguration())
        fs.setPermission(hadoop.fs.Path(target.as_uri()), hadoop.fs.permission.FsPermission(mode))
        assert stat.S_IMODE(target.stat().st_mode) == mode
        target.chmod(0o600)

    def test_a_partitioned_delta_append_writes_the_usual_modes_and_checksums(self, spark, tmp_path: Path) -> None:
        from pyspark.sql import functions as F

        umask = os.umask(0)
        os.umask(umask)
        uri = str(tmp_path / "t")
        df = spark.range(300).select(
            F.col("id"), F.date_add(F.lit("2026-01-01").cast("date"), (F.col("id") % 30).cast("int")).alias("d")
        )
        df.repartition("d").write.format("delta").partitionBy("d").save(uri)
        parquet = list((tmp_path / "t").rglob("*.parquet"))
        dirs = [p for p in (tmp_path / "t").iterdir() if p.name.startswith("d=")]
        assert len(dirs) == 30
        assert len(parquet) == 30
        assert {stat.S_IMODE(p.stat().st_mode) for p in parquet} == {0o666 & ~umask}
        assert {stat.S_IMODE(p.stat().st_mode) for p in dirs} == {0o777 & ~umask}
        assert all(p.with_name(f".{p.name}.crc").is_file() for p in parquet)  # still checksummed
        log = list((tmp_path / "t" / "_delta_log").glob("*.json"))
        assert log
        assert all(p.with_name(f".{p.name}.crc").is_file() for p in log)
        assert spark.read.format("delta").load(uri).agg(F.sum("id")).first()[0] == sum(range(300))
