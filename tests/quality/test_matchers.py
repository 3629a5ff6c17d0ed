"""quality.engines.spark.matchers: Weir's JVM format matchers give every verdict the regexes give (Java's through
`rlike`, Python's `re.fullmatch` with `re.ASCII`: the pure-Python engine's), on edge cases and on strings
mutated from them; the session the tests share has them; without them `full_match` is `rlike`."""

import random
import re
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pyspark.sql import functions as F

from quality.engines.spark import matchers
from quality.engines.spark.values import full_match
from quality.rules import format_patterns as fp
from quality.rules import patterns

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("javac") is None, reason="no javac on PATH: no matchers to compare"),
]

SCHEMES = ["http", "https", "s3+x.y"]
SEEDS = [
    "123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000", "order.created", "a",
    "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-4fff-bfff-ffffffffffff",
    "+14155550123", "+1", "+012", "00:1A:2b:3c:4D:5e", "00-1a-2b-3c-4d-5e", "00:1a-2b:3c:4d:5e",
    "192.168.0.1", "0.0.0.0", "255.255.255.255",  # noqa: S104
    "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5",
    "::", "::1", "1::", "2001:db8::1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "::ffff:10.0.0.1",
    "1:2:3:4:5:6:7::", "1::2:3:4:5:6:7", "1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "1:::2", "12345::",
    "example.com", "a-b.c", "a" * 63 + ".com", "a" * 64 + ".com", ".".join(["a" * 63] * 4), "-a.com", "a..b",
    "user@example.com", "first.last+tag@sub.example.co", "a@b.cd", ".a@b.cd", "a.@b.cd", "x" * 64 + "@a.io",
    "x" * 65 + "@a.io", "a@b@c.de", "a@b.c0", "a.b@com",
    "2024-02-29", "0000-01-01", "2024-13-01", "2024-00-10", "2024-01-32", "2024-01-01T12:34:56Z",
    "2024-01-01 12:34:56.123456+05:30", "2024-01-01T23:59:59.1234567Z", "2024-01-01T24:00:00Z",
    "2024-01-01t00:00:00z", "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00.Z",
    "http://example.com", "HTTPS://a.b:443/x?y#z", "http://[::1]:8080/", "http://1.2.3.4:0", "http://a:65535",
    "http://a:65536", "http://a:080", "S3+X.Y://h/p", "http://a/ b", "http://a/\x7f", "http://", "http://a:",
    "http://[1::2:3:4:5:6:7:8]", "ftp://a.b", "http://a.b?q", "http://a.b#", "http://-a.b",
]  # fmt: skip
# Characters the patterns treat apart, and ones no dialect counts as such (non-ASCII letters, Kelvin sign, long s).
ALPHABET = "0123456789abcdefABCDEFxyzXYZ:.-@+/?#[]_ %\n\r\t\x0b\x7f\x00é\u212a\u017f~!'*=^`{|}TZ"
PATTERNS = {
    "uuid": fp.UUID,
    "canonical uuid": patterns.CANONICAL_UUID,
    "event type": patterns.EVENT_TYPE,
    "e164": fp.E164_PHONE,
    "mac": fp.MAC_ADDRESS,
    "ipv4": fp.IPV4,
    "ipv6": fp.IPV6,
    "hostname": fp.HOSTNAME,
    "email": fp.EMAIL,
    "iso date": patterns.ISO_DATE,
    "rfc3339": patterns.RFC3339,
}


def _mutate(rng: random.Random, s: str) -> str:
    chars = list(s)
    for _ in range(rng.randint(1, 3)):
        op, i = rng.random(), rng.randint(0, len(chars))
        if op < 0.35 and chars:
            chars[min(i, len(chars) - 1)] = rng.choice(ALPHABET)
        elif op < 0.65:
            chars.insert(i, rng.choice(ALPHABET))
        elif op < 0.85 and chars:
            del chars[min(i, len(chars) - 1)]
        else:
            chars[i:i] = list(rng.choice(SEEDS))[: rng.randint(1, 8)]
    return "".join(chars)


def cases(n: int = 30_000, seed: int = 12) -> list[str]:
    """The seeds, each with a trailing newline (Java's `$` would pass it; `\\z` does not), and `n` mutants."""
    rng = random.Random(seed)
    return [*SEEDS, *(s + "\n" for s in SEEDS), "", *(_mutate(rng, rng.choice(SEEDS)) for _ in range(n))]


@pytest.fixture(scope="module")
def values(spark: Any) -> Iterator[Any]:
    rows = [(i, s) for i, s in enumerate(cases())]
    df = spark.createDataFrame([*rows, (len(rows), None)], "i long, s string").cache()
    yield df
    df.unpersist()


def test_the_shared_session_has_the_matchers(spark: Any) -> None:
    assert spark.conf.get(matchers.REGISTERED_CONF) == "true"
    plan = spark.range(1).select(full_match(F.lit("x"), fp.UUID)).columns[0]
    assert "weir_is_uuid" in plan


@pytest.mark.parametrize("name", list(PATTERNS))
def test_a_matcher_gives_the_regexes_verdicts(values: Any, name: str) -> None:
    pattern = PATTERNS[name]
    got = values.select(
        "i", "s", full_match(F.col("s"), pattern).alias("matcher"), F.col("s").rlike(f"^(?:{pattern})\\z").alias("rx")
    ).collect()
    python = re.compile(pattern, re.ASCII)
    positives = 0
    for row in got:
        want = None if row["s"] is None else python.fullmatch(row["s"]) is not None
        assert (row["matcher"], row["rx"]) == (want, want), (name, row["s"])
        positives += bool(want)
    assert positives > 10, f"too few strings match {name} to compare anything"


def test_the_url_matcher_gives_the_regexes_verdicts(values: Any) -> None:
    by_matcher = matchers.url_matcher(F.col("s"), SCHEMES)
    assert by_matcher is not None
    pattern = fp.url(SCHEMES)
    got = values.select("s", by_matcher.alias("m"), F.col("s").rlike(f"^(?:{pattern})\\z").alias("rx")).collect()
    python = re.compile(pattern, re.ASCII)
    for row in got:
        want = None if row["s"] is None else python.fullmatch(row["s"]) is not None
        assert (row["m"], row["rx"]) == (want, want), row["s"]
    assert sum(bool(r["m"]) for r in got) > 10


def test_rules_built_in_another_thread_use_them_too(spark: Any) -> None:
    """A thread py4j has not seen (as `foreachBatch`'s callbacks run in) may have no active session."""
    out: dict[str, str] = {}

    def build() -> None:
        out["column"] = spark.range(1).select(full_match(F.lit("x"), fp.UUID)).columns[0]

    thread = threading.Thread(target=build)
    thread.start()
    thread.join()
    assert "weir_is_uuid" in out["column"]


def test_a_pattern_without_a_matcher_is_a_regex(spark: Any) -> None:
    column = spark.range(1).select(full_match(F.lit("A-1"), "A-[0-9]+")).columns[0]
    assert "RLIKE" in column


def test_a_session_without_them_runs_the_regexes(spark: Any) -> None:
    with matchers.off(spark):
        column = spark.range(1).select(full_match(F.lit("x"), fp.UUID)).columns[0]
    assert "RLIKE" in column
    assert spark.conf.get(matchers.REGISTERED_CONF) == "true"  # restored


def test_a_class_spark_cannot_load_is_what_register_expects(spark: Any) -> None:
    """`register` returns False for this error alone (a JVM without Weir's jar) and raises any other."""
    from pyspark.errors import AnalysisException
    from pyspark.sql.types import BooleanType

    with pytest.raises(AnalysisException) as caught:
        spark.udf.registerJavaFunction("weir_test_missing", "io.weir.quality.NoSuchClass", BooleanType())
    assert caught.value.getCondition() in matchers.NOT_LOADABLE
