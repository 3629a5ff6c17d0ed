"""Property: the Spark engine and the pure-Python engine name the same failed rules for every record.

Every row rule type both engines support is configured from its documented example; hypothesis generates
payloads whose fields take values of every JSON kind, biased towards the values the rules care about (the
examples' own parameters, formats, timestamps, boundaries). The Spark side sees the payloads as JSON text, the
way the stream does. Runs derandomized in CI; WEIR_HYPOTHESIS_EXAMPLES=200 explores more.
"""

import os
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quality import CATALOG
from quality.engines.python import evaluate, supports
from quality.engines.spark import with_dq_failures
from quality.loader import parse_contract
from quality.rules.base import RuleKind
from tests.quality.support import NOW

pytestmark = pytest.mark.integration

SAMPLES = [
    "",
    " ",
    "a",
    "A",
    "abc",
    " padded ",
    "é",
    "ß",
    "日本",
    "\u0000",
    "\x7f",
    "\u0085",
    "line\nbreak",
    "tab\t",
    "x@example.com",
    "first.last+tag@sub.example.org",
    "no-at.example.com",
    "a@b",
    "a@@b.com",
    "0b7c2e4e-5d2f-4a53-9d1e-8f6c1c2b9a10",
    "0B7C2E4E-5D2F-4A53-9D1E-8F6C1C2B9A10",
    "0b7c2e4e5d2f4a539d1e8f6c1c2b9a10",
    "https://example.com/a?b=c",
    "http://localhost:8080",
    "ftp://x.org",
    "https://",
    "example.com",
    "192.168.0.1",
    "255.255.255.255",
    "256.1.1.1",
    "01.2.3.4",
    "::1",
    "2001:db8::8a2e:370:7334",
    "::ffff:1.2.3.4",
    "fe80::1::2",
    "US",
    "DE",
    "us",
    "XX",
    "EUR",
    "USD",
    "eur",
    "EURO",
    "+4915123456789",
    "+0123",
    "12345",
    "2026-11-25",
    "2026-02-30",
    "2024-02-29",
    "20261125",
    "2026-11-25T10:00:00Z",
    "2026-11-25T12:00:00Z",
    "2026-11-25T12:04:59Z",
    "2026-11-25T12:05:01Z",
    "2026-11-25 10:00:00.123456+02:00",
    "2026-11-25T10:00:00",
    "1999-01-01T00:00:00Z",
    "2030-01-01T00:00:00-05:00",
    "2026-11-25T24:00:00Z",
    "{}",
    "[1, 2]",
    '{"a": 1}',
    "null",
    "true",
    "01",
    "NaN",
    "1e999",
    "-12.5",
    "3",
    "1.5e3",
    "aa:bb:cc:dd:ee:ff",
    "AA-BB-CC-DD-EE-FF",
    "host.example.com",
    "-bad-.com",
    "UPPER",
    "lower",
    "Mixed",
]


def _scalars(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _scalars(v)
    elif isinstance(value, list):
        for v in value:
            yield from _scalars(v)
    elif value is not None:
        yield value


def _entries() -> list[dict[str, Any]]:
    entries = []
    for name, rule in CATALOG.items():
        if rule.kind is not RuleKind.ROW or not supports(rule):
            continue
        paths = [
            s for s in _scalars(dict(rule.example)) if isinstance(s, str) and "." in s and not s.startswith("payload.")
        ]
        field = rule.example.get("field")
        if (field is not None and not str(field).startswith("payload.")) or any(
            p.split(".")[0] in ("occurred_at", "received_at") for p in paths
        ):
            continue  # an envelope column: the agreement test feeds payloads only
        entries.append({"id": name, **rule.example})
    return entries


ENTRIES = _entries()
FIELDS = sorted(
    {
        s.removeprefix("payload.")
        for e in ENTRIES
        for s in _scalars(e)
        if isinstance(s, str) and s.startswith("payload.")
    }
)
INTERESTING = sorted({s for e in ENTRIES for s in _scalars(e.get("params", {}))} - {True, False}, key=repr)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.integers(min_value=-3, max_value=12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, 1.25, 2.5, 99.99, 100.0, 100.001, 1e-7, 1e20, -1.5]),
    st.sampled_from(SAMPLES),
    st.sampled_from(INTERESTING) if INTERESTING else st.nothing(),
    st.text(max_size=12),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.lists(st.sampled_from(INTERESTING + SAMPLES[:20]) if INTERESTING else st.text(max_size=3), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), scalars, max_size=2),
)
payloads = st.dictionaries(st.sampled_from(FIELDS), values, max_size=len(FIELDS)) if FIELDS else st.just({})

EXAMPLES = int(os.environ.get("WEIR_HYPOTHESIS_EXAMPLES", "8"))


def test_there_is_something_to_compare():
    assert len(ENTRIES) >= 10
    assert FIELDS


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 8,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(payloads, min_size=40, max_size=60))
def test_both_engines_name_the_same_failed_rules(spark, batch):
    rules = parse_contract(orjson.dumps({"event_type": "agreement.test", "rules": ENTRIES}).decode()).row_rules
    expected = [[f.rule for f in evaluate({"payload": p}, rules, now=NOW)] for p in batch]
    rows = [(i, orjson.dumps(p).decode()) for i, p in enumerate(batch)]
    df = spark.createDataFrame(rows, "i int, payload string")
    got = [[f.rule for f in r.dq_failures] for r in with_dq_failures(df, rules, now=NOW).orderBy("i").collect()]
    diffs = [(batch[i], sorted(set(expected[i]) ^ set(got[i]))) for i in range(len(batch)) if expected[i] != got[i]]
    assert not diffs, f"engines disagree (payload, rules that differ): {diffs[:5]}"
