import pytest

from weir.stack import jars
from weir.stack.paths import infra_pom


@pytest.mark.parametrize(
    ("jar", "artifact"),
    [
        ("kafka-clients-3.9.2.jar", "kafka-clients"),
        ("delta-spark_4.2_2.13-4.4.0.jar", "delta-spark_4.2_2.13"),
        ("spark-sql-kafka-0-10_2.13-4.2.0.jar", "spark-sql-kafka-0-10_2.13"),
        ("zstd-jni-1.5.7-3.jar", "zstd-jni"),
        ("jackson-annotations-2.21.jar", "jackson-annotations"),
        ("RoaringBitmap-0.9.25.jar", "RoaringBitmap"),
        ("log4j-slf4j2-impl-2.25.4.jar", "log4j-slf4j2-impl"),
    ],
)
def test_artifact_name(jar, artifact):
    assert jars.artifact_name(jar) == artifact


@pytest.mark.integration  # `jars_home` runs Maven unless the folders are complete: not for `make unit`
def test_fetched_folders_are_complete_and_a_second_fetch_is_a_no_op(jars_home):
    for name in ("kafka", "spark"):
        folder, fetched_now = jars.fetch(name, jars_home)
        assert fetched_now is False
        assert jars.is_complete(folder, infra_pom(name))


@pytest.mark.integration
def test_spark_folder_holds_the_extras_and_nothing_pyspark_ships(jars_home):
    names = {jars.artifact_name(j.name) for j in (jars_home.jars / "spark").glob("*.jar")}
    assert {"delta-spark_4.2_2.13", "spark-sql-kafka-0-10_2.13", "kafka-clients", "delta-storage"} <= names
    shipped = {jars.artifact_name(j.name) for j in jars.pyspark_jars_dir().glob("*.jar")}
    assert not names & shipped


@pytest.mark.integration
def test_kafka_folder_has_the_broker_and_a_log4j2_binding(jars_home):
    names = {jars.artifact_name(j.name) for j in (jars_home.jars / "kafka").glob("*.jar")}
    assert {"kafka_2.13", "kafka-server", "log4j-core", "log4j-slf4j-impl"} <= names


def test_a_changed_pom_invalidates_the_stamp(tmp_path):
    pom = tmp_path / "pom.xml"
    pom.write_text("<project/>")
    folder = tmp_path / "jars"
    folder.mkdir()
    (folder / jars.STAMP).write_text(jars._pom_digest(pom))
    assert jars.is_complete(folder, pom)
    pom.write_text("<project><!-- changed --></project>")
    assert not jars.is_complete(folder, pom)


@pytest.mark.parametrize(
    ("jar", "artifact"),
    [
        ("log4j-1.2-api-2.25.4.jar", "log4j-1.2-api"),
        ("netty-transport-native-epoll-4.1.118.Final-linux-x86_64.jar", "netty-transport-native-epoll"),
        ("json-20231013.jar", "json"),
        ("scala-parallel-collections_2.13-1.2.0.jar", "scala-parallel-collections_2.13"),
    ],
)
def test_artifact_name_tricky_versions(jar, artifact):
    assert jars.artifact_name(jar) == artifact


def test_every_pyspark_jar_has_a_plausible_artifact_name():
    for jar in jars.pyspark_jars_dir().glob("*.jar"):
        name = jars.artifact_name(jar.name)
        assert name, jar.name
        assert name != jar.name.removesuffix(".jar"), jar.name
