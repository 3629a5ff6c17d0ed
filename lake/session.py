"""The Spark session every Weir job uses: Delta enabled, the Kafka and Delta jars from local paths
(`spark.jars`, never `spark.jars.packages`), `file:` without a process per file (`lake.localfs`), the rules'
format matchers (`quality.engines.spark.matchers`), UTC everywhere."""

from pathlib import Path

from pyspark.sql import SparkSession

from lake.exceptions import MissingJarsError
from lake.localfs import find_jar, hadoop_settings, is_localfs_jar
from quality.engines.spark import matchers

JIT_OPTIONS = "-XX:-DontCompileHugeMethods"


def spark_jars(jars_dir: Path) -> list[str]:
    jars = sorted(str(p.resolve()) for p in jars_dir.glob("*.jar") if not is_localfs_jar(p))
    if not any("delta-spark" in j for j in jars) or not any("spark-sql-kafka" in j for j in jars):
        raise MissingJarsError(
            f"the Spark Kafka and Delta jars are not in {jars_dir}: run `weir jars` (or `make jars`)"
        )
    return jars


def build_session(
    jars_dir: Path,
    *,
    app_name: str = "weir",
    master: str = "local[2]",
    shuffle_partitions: int = 2,
    driver_memory: str = "2g",
) -> SparkSession:
    jars = spark_jars(jars_dir)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.jars", ",".join(jars))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        .config("spark.driver.memory", driver_memory)
        # Data-quality projections generate one large method per stage; HotSpot refuses to JIT-compile methods
        # over 8,000 bytecodes by default and interprets them instead (bench/quality.py: 50 rules ran ~1.7x
        # slower without this flag).
        .config("spark.driver.extraJavaOptions", JIT_OPTIONS)
        .config("spark.executor.extraJavaOptions", JIT_OPTIONS)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
        # Generated classes are cached by their source; with the default 100 entries a stream's micro-batch
        # (~25 classes: its stages, Delta's stats and snapshot projections) evicted the 50-rule stage's before the
        # next batch asked for it, so every batch compiled it again (~0.6-0.8 s of Janino for 10,000 lines) and
        # ran it cold (with `streaming.lanes.batch_timestamp`; docs/performance.md, issue #12).
        .config("spark.sql.codegen.cache.maxEntries", "1000")
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.databricks.delta.properties.defaults.enableChangeDataFeed", "false")
    )
    # `file:` without a `chmod` process per new file, when `weir jars` could compile the classes (lake.localfs).
    for key, value in hadoop_settings(find_jar(jars_dir)).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    if find_jar(jars_dir) is not None:  # the rules' format checks without java.util.regex
        matchers.register(spark)
    return spark
