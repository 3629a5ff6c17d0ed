"""Format rules, in both engines; the IPv6 pattern against Python's `ipaddress`."""

import ipaddress
import random
from datetime import date
from typing import Any

import pytest

from quality.engines.python.values import full
from quality.exceptions import ContractError
from quality.rules import format_patterns as patterns
from quality.rules.iso_codes import COUNTRIES, CURRENCIES
from tests.quality.support import assert_verdicts, one_rule, typed_verdicts

F = "payload.x"
integration = pytest.mark.integration
COMMON = [({}, True), ({"x": None}, True), ({"x": 1}, False), ({"x": True}, False), ({"x": []}, False)]


def cases(passing: list[Any], failing: list[Any]) -> list[tuple[Any, bool]]:
    """String cases, then the null and wrong-kind cases every format rule shares ("" always fails)."""
    return [({"x": v}, True) for v in passing] + [({"x": v}, False) for v in [*failing, ""]] + COMMON


@integration
def test_email(spark):
    passing = [
        "x@example.com", "first.last+tag@sub.example.org", "o'brien@example.ie", "a_b-c@ex-ample.co.uk",
        "UPPER@EXAMPLE.COM", "1234@123.io", "!#$%&'*+/=?^_`{|}~-@example.com", "a" * 64 + "@example.com",
    ]  # fmt: skip
    failing = [
        "no-at.example.com", "a@b", "a@@b.com", "a@b@c.com", ".a@example.com", "a.@example.com", "a..b@example.com",
        "a b@example.com", "a@exa mple.com", "a@-example.com", "a@example-.com", "a@example.c", "a@example.c0m",
        "a@example..com", "é@example.com", "a@exämple.com", "a@example.com ", " a@example.com", "a@example.com\n",
        "a" * 65 + "@example.com", "@example.com", "a@", "a@[127.0.0.1]", '"a b"@example.com',
    ]  # fmt: skip
    assert_verdicts(spark, {"rule": "email", "field": F}, cases(passing, failing))


@integration
def test_uuid(spark):
    u = "0b7c2e4e-5d2f-4a53-9d1e-8f6c1c2b9a10"
    passing = [u, u.upper(), "0" * 8 + "-0000" * 3 + "-" + "0" * 12]
    failing = [u.replace("-", ""), "{" + u + "}", u[:-1], u + "0", "g" + u[1:], u + "\n", "urn:uuid:" + u, u[:-1] + "é"]
    assert_verdicts(spark, {"rule": "uuid", "field": F}, cases(passing, failing))


@integration
def test_url_default_schemes(spark):
    passing = [
        "https://example.com", "http://localhost:8080/a?b=c#d", "HTTPS://EXAMPLE.COM", "https://example.com:65535",
        "https://[::1]:8080/", "https://[2001:db8::ffff:1.2.3.4]", "https://192.168.0.1/x", "https://example.com?x=1",
        "https://example.com#frag", "https://example.com/ü/日本", "https://a.b/%20?q=a+b&c=%E2%82%AC", "http://x:0",
    ]  # fmt: skip
    failing = [
        "ftp://x.org", "https://", "https:///path", "https://exa mple.com", "https://example.com/a b",
        "https://example.com:65536", "https://example.com:", "https://-bad.com", "example.com", "//example.com",
        "https://user@example.com", "https://example.com\t", "https://example.com/\x7f", "https://example.com/\n",
        "https:/example.com", "https://[::1", "https://[1.2.3.4]", "https://exa_mple.com", "mailto:a@example.com",
    ]  # fmt: skip
    assert_verdicts(spark, {"rule": "url", "field": F}, cases(passing, failing))


@integration
def test_url_custom_schemes(spark):
    entry = {"rule": "url", "field": F, "params": {"schemes": ["S3", "git+ssh", "a.b-c"]}}
    passing = ["s3://bucket/key", "S3://bucket", "git+ssh://github.com/a/b.git", "a.b-c://host"]
    failing = ["https://example.com", "gitXssh://github.com", "aXb-c://host", "s3:/bucket"]
    assert_verdicts(spark, entry, cases(passing, failing))


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"schemes": []}, "at least 1 item"),
        ({"schemes": ["ht tp"]}, "should match pattern"),
        ({"schemes": ["1x"]}, "pattern"),
    ],
)
def test_bad_url_params_are_refused_at_load_time(params, problem):
    with pytest.raises(ContractError, match=problem):
        one_rule({"rule": "url", "field": F, "params": params})


@integration
def test_ipv4(spark):
    passing = [
        "0.0.0.0",  # noqa: S104 (samples, not bind addresses)
        "255.255.255.255",
        "10.0.0.1",
        "192.168.1.255",
        "1.2.3.4",
        "249.250.199.100",
    ]
    failing = [
        "256.1.1.1", "01.2.3.4", "1.2.3.04", "1.2.3.00", "1.2.3", "1.2.3.4.5", " 1.2.3.4", "1.2.3.4\n", "\u0661.2.3.4",
        "1..2.3", "1.2.3.-1", "300.1.1.1", "1.2.3.4/24", "::1", "0x1.2.3.4",
    ]  # fmt: skip
    assert_verdicts(spark, {"rule": "ipv4", "field": F}, cases(passing, failing))


@integration
def test_ipv6(spark):
    passing = [
        "::", "::1", "1::", "2001:db8::8a2e:370:7334", "2001:DB8:0:0:0:0:0:1", "fe80::1", "::ffff:1.2.3.4",
        "64:ff9b::192.0.2.33", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "1::2:3:4:5:6:7", "1:2:3:4:5:6:7::",
        "0000:0000:0000:0000:0000:0000:0000:0000", "::1.2.3.4",
    ]  # fmt: skip
    failing = [
        "fe80::1::2", ":::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "g::1", "::ffff:256.1.1.1",
        "::ffff:01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "fe80::1%eth0", "[::1]", "::1 ", "1.2.3.4", ":1::", "1::2:",
    ]  # fmt: skip
    assert_verdicts(spark, {"rule": "ipv6", "field": F}, cases(passing, failing))


def _ipv6_samples(rng: random.Random) -> list[str]:
    """Valid addresses in every written form (zero runs everywhere, IPv4 tails, any case, leading zeros), and
    mutations of them, most of which are invalid."""
    out: list[str] = []
    for _ in range(400):
        groups = [rng.choice([0, 0, 1, 0xFFFF, rng.randrange(0x10000)]) for _ in range(8)]
        start, length = rng.randrange(8), rng.randrange(9)
        groups[start : start + length] = [0] * len(groups[start : start + length])
        address = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups))
        forms = [address.compressed, address.exploded, ":".join(f"{g:x}" for g in groups)]
        v4 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        forms.append(address.exploded.rsplit(":", 2)[0] + ":" + str(v4))
        forms.append(ipaddress.IPv6Address(int(address) >> 32 << 32).compressed.removesuffix("::") + "::" + str(v4))
        for written in forms:
            form = "".join(c.upper() if rng.random() < 0.3 else c for c in written)
            out.append(form)
            chars = list(form)
            i = rng.randrange(len(chars))
            mutation = rng.choice(["drop", "colon", "dot", "digit", "hex", "g", "dup"])
            if mutation == "drop":
                del chars[i]
            elif mutation == "dup":
                chars.insert(i, chars[i])
            else:
                chars.insert(i, {"colon": ":", "dot": ".", "digit": "0", "hex": "f", "g": "g"}[mutation])
            out.append("".join(chars))
    return out


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def test_the_ipv6_pattern_agrees_with_ipaddress():
    samples = [s for s in _ipv6_samples(random.Random(20261125)) if "%" not in s]
    compiled = full(patterns.IPV6)
    wrong = [s for s in samples if (compiled.fullmatch(s) is not None) != _is_ipv6(s)]
    assert not wrong
    valid = sum(map(_is_ipv6, samples))
    assert 0.4 * len(samples) < valid < 0.9 * len(samples)  # both sides are well represented


def test_the_iso_code_lists():
    assert len(COUNTRIES) == 249
    assert len(CURRENCIES) == 178
    assert all(len(c) == 2 and c.isupper() and c.isascii() for c in COUNTRIES)
    assert all(len(c) == 3 and c.isupper() and c.isascii() for c in CURRENCIES)
    assert {"US", "DE", "SS", "XK"} & COUNTRIES == {"US", "DE", "SS"}  # XK (Kosovo) is user-assigned
    assert {"XCG", "ZWG", "VED", "XXX"} <= CURRENCIES
    assert not {"HRK", "BGN", "ANG", "CUC", "ZWL", "SLL"} & CURRENCIES


@integration
def test_iso_country(spark):
    passing = ["US", "DE", "GB", "SS", "AQ", "ZW"]
    failing = ["us", "Us", "XX", "UK", "EU", "XK", "USA", "U", " US", "US\n", "ÜS"]
    assert_verdicts(spark, {"rule": "iso_country", "field": F}, cases(passing, failing))


@integration
def test_iso_currency(spark):
    passing = ["EUR", "USD", "XXX", "XCG", "ZWG", "CHE", "XAU"]
    failing = ["eur", "EURO", "EU", "HRK", "BGN", "ANG", "ABC", " EUR", "€"]
    assert_verdicts(spark, {"rule": "iso_currency", "field": F}, cases(passing, failing))


@integration
def test_e164_phone(spark):
    passing = ["+4915123456789", "+12", "+123456789012345", "+19"]
    failing = [
        "+0123",
        "+1",
        "+1234567890123456",
        "4915123456789",
        "+49 151 23456789",
        "+49-151",
        "+\u0661\u0662",
        "++49",
        "+",
    ]
    assert_verdicts(spark, {"rule": "e164_phone", "field": F}, cases(passing, failing))


@integration
def test_iso_date(spark):
    passing = ["2026-11-25", "2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31"]
    failing = [
        "2026-02-30", "2023-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "0000-01-01",
        "20261125", "2026-1-5", "2026-11-25T00:00:00Z", "2026-11-25 ", "26-11-25", "+2026-11-25",
        "\u0662\u0660\u0662\u0666-11-25",
    ]  # fmt: skip
    assert_verdicts(spark, {"rule": "iso_date", "field": F}, cases(passing, failing))


@integration
def test_iso_date_on_typed_columns(spark):
    rows = [{"d": date(2026, 1, 1), "s": "2026-02-29"}, {"d": None, "s": "2024-02-29"}, {"d": None, "s": None}]
    schema = "d date, s string"
    assert typed_verdicts(spark, {"rule": "iso_date", "field": "d"}, rows, schema) == ([True] * 3, [True] * 3)
    expected = [False, True, True]
    assert typed_verdicts(spark, {"rule": "iso_date", "field": "s"}, rows, schema) == (expected, expected)


@integration
def test_hostname(spark):
    label = "x" * 63
    passing = [
        "host.example.com", "localhost", "a-b.c", "1.2.3.4", "xn--bcher-kva.example", label,
        ".".join([label] * 3) + "." + "x" * 61,  # 253 characters
    ]  # fmt: skip
    failing = [
        "-bad-.com", "bad-.com", "-bad.com", "a..b", "a.", ".a", "x" * 64, ".".join([label] * 3) + "." + "x" * 62,
        "exa_mple.com", "ünicode.com", "a b", "host:80", "host/", "host\n",
    ]  # fmt: skip
    assert_verdicts(spark, {"rule": "hostname", "field": F}, cases(passing, failing))


@integration
def test_mac_address(spark):
    passing = ["aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "00:1A:2b:3C:4d:5E"]
    failing = [
        "aa:bb-cc:dd:ee:ff", "aabbccddeeff", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "gg:bb:cc:dd:ee:ff",
        "aabb.ccdd.eeff", "a:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff ", "aa bb cc dd ee ff",
    ]  # fmt: skip
    assert_verdicts(spark, {"rule": "mac_address", "field": F}, cases(passing, failing))
