"""Weir's format matchers on the JVM: hand-written Java (`jvm/io/weir/quality/Formats.java`) for the fixed
patterns of `quality.rules.format_patterns` and `quality.rules.patterns` (UUID, e-mail, IPv4, IPv6, host name,
URL, E.164, MAC, ISO date, RFC 3339, the envelope's event type and id), registered in a session as Spark
functions (`register`). `full_match` calls them instead of a `java.util.regex` matcher when the session has
them: the same verdicts (tests/quality/test_matchers.py compares them with both regex dialects on generated
strings), a fraction of the cost. A session without them (no `javac` when the jar was built, a session Weir did
not build) runs the regexes.

The Java is compiled into Weir's jar with `lake/jvm` (`lake.localfs.build_jar`); this module only names the
classes and registers them.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pyspark.errors import AnalysisException
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType

from quality.rules import format_patterns as fp
from quality.rules import patterns

SOURCES = Path(__file__).parent / "jvm"
_UDFS = "io.weir.quality.FormatUdfs$"
# Set by `register` in the session's conf: its functions are there.
REGISTERED_CONF = "spark.weir.quality.matchers"

# pattern -> (function name, UDF class)
MATCHERS: dict[str, tuple[str, str]] = {
    fp.UUID: ("weir_is_uuid", "Uuid"),
    patterns.CANONICAL_UUID: ("weir_is_canonical_uuid", "CanonicalUuid"),
    patterns.EVENT_TYPE: ("weir_is_event_type", "EventType"),
    fp.E164_PHONE: ("weir_is_e164", "E164"),
    fp.MAC_ADDRESS: ("weir_is_mac", "Mac"),
    fp.IPV4: ("weir_is_ipv4", "Ipv4"),
    fp.IPV6: ("weir_is_ipv6", "Ipv6"),
    fp.HOSTNAME: ("weir_is_hostname", "Hostname"),
    fp.EMAIL: ("weir_is_email", "Email"),
    patterns.ISO_DATE: ("weir_is_iso_date", "IsoDate"),
    patterns.RFC3339: ("weir_is_rfc3339", "Rfc3339"),
}
URL = ("weir_is_url", "Url")
# What Spark 4.2 raises for a UDF class not on the class path ("Can not load class ... please make sure it is on
# the classpath"), and its newer name.
NOT_LOADABLE = ("_LEGACY_ERROR_TEMP_1329", "CANNOT_LOAD_FUNCTION_CLASS")


def register(spark: SparkSession) -> bool:
    """Register every matcher in `spark`; False (and nothing registered) when the JVM does not have the
    classes. Any other error is raised."""
    try:
        for name, cls in [*MATCHERS.values(), URL]:
            spark.udf.registerJavaFunction(name, _UDFS + cls, BooleanType())
    except AnalysisException as exc:
        if exc.getCondition() not in NOT_LOADABLE:
            raise
        return False
    spark.conf.set(REGISTERED_CONF, "true")
    return True


def registered() -> bool:
    """The session expressions are built for has the matchers: the thread's active session, else the default
    one (a thread py4j started for a callback, such as `foreachBatch`'s, may have no active session)."""
    try:
        spark = SparkSession.active()
    except Exception:  # no session at all: nothing registered
        return False
    return spark.conf.get(REGISTERED_CONF, "false") == "true"


@contextmanager
def off(spark: SparkSession) -> Iterator[None]:
    """Rules built inside use regexes even where the matchers are registered (a benchmark's or a test's
    comparison); the session's setting is restored after."""
    before = spark.conf.get(REGISTERED_CONF, "false") or "false"
    spark.conf.set(REGISTERED_CONF, "false")
    try:
        yield
    finally:
        spark.conf.set(REGISTERED_CONF, before)


def matcher(value: Column, pattern: str) -> Column | None:
    """`value` fully matches `pattern`, by its JVM matcher; None when `pattern` has none or the active session
    does not have them."""
    known = MATCHERS.get(pattern)
    if known is None or not registered():
        return None
    return F.call_function(known[0], value)


def url_matcher(value: Column, schemes: Sequence[str]) -> Column | None:
    """`value` fully matches `format_patterns.url(schemes)` (schemes lowercase, as `UrlParams` keeps them), by
    its JVM matcher; None when the active session does not have it."""
    if not registered() or any("," in s for s in schemes):
        return None
    return F.call_function(URL[0], value, F.lit(",".join(schemes)))
