"""String rules, in both engines; the regex dialect against the JVM's own `java.util.regex`."""

import json
import random
import re
from typing import Any

import pytest

from quality.engines.python import evaluate
from quality.engines.python.strings import _parse, _scan, is_json
from quality.exceptions import ContractError
from quality.rules.strings import dialects
from tests.quality.support import assert_verdicts, one_rule, verdicts

F = "payload.x"
integration = pytest.mark.integration
WRONG_KINDS = [({"x": 1}, False), ({"x": 1.5}, False), ({"x": True}, False), ({"x": ["a"]}, False), ({"x": {}}, False)]
NULLS = [({}, True), ({"x": None}, True)]


def cases(passing: list[Any], failing: list[Any]) -> list[tuple[Any, bool]]:
    """String cases, then the null and wrong-kind cases every string rule shares."""
    return [({"x": v}, True) for v in passing] + [({"x": v}, False) for v in failing] + NULLS + WRONG_KINDS


def python_passes(entry: dict[str, Any], value: Any) -> bool:
    return not evaluate({"payload": {"x": value}}, one_rule(entry))


@integration
def test_regex_match(spark):
    entry = {"rule": "regex_match", "field": F, "params": {"pattern": r"^[A-Z]{3}-\d{4}$"}}
    passing = ["ABC-1234", "ABC-1234\n"]  # $ matches before a final \n in both dialects
    failing = [
        "ABC-1234\r",
        "ABC-1234\n\n",
        "abc-1234",
        "xABC-1234",
        "ABC-12345",
        "",
        "ÀBC-1234",
        "ABC-\u0661\u0662\u0663\u0664",
    ]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_regex_match_case_insensitive_with_word_boundaries(spark):
    entry = {"rule": "regex_match", "field": F, "params": {"pattern": r"\bcat\b", "case_sensitive": False}}
    # Java 17's own \b sees é as a word character; the translated pattern reads \w as ASCII, like Python.
    passing = ["the Cat sat", "CAT", "écat", "caté", "ǅcat", "\u212acat", "cat.", "a-cat-b"]
    failing = ["concat", "cats", "cat_", "_cat", "", "c4t", "1cat"]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_regex_not_match(spark):
    entry = {"rule": "regex_not_match", "field": F, "params": {"pattern": r"<\s*script\b", "case_sensitive": False}}
    passing = ["hello", "", "<scripts>", "script", "<\u00a0script>", "< \u017fcript>"]
    failing = ["<script>", "a < SCRIPT src=x>", "<\tScRiPt>", "x<script"]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_length_between(spark):
    entry = {"rule": "length_between", "field": F, "params": {"min": 2, "max": 4}}
    passing = ["ab", "abcd", "😀😀", "e\u0301", "日本語", "  ", "a\x00b"]
    failing = ["a", "abcde", "", "😀", "😀😀😀😀😀"]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_starts_with(spark):
    entry = {"rule": "starts_with", "field": F, "params": {"prefix": "Ord_"}}
    assert_verdicts(spark, entry, cases(["Ord_1", "Ord_"], ["ord_1", "ORD_1", "Ord", "", " Ord_1", "xOrd_"]))


@integration
def test_ends_with_case_insensitive(spark):
    entry = {"rule": "ends_with", "field": F, "params": {"suffix": ".PNG", "case_sensitive": False}}
    passing = ["a.png", "A.PNG", ".png", "photo.Png", "ÉTÉ.png"]
    failing = ["a.png ", "png", "", "a.jpg", "a.png\n"]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_contains(spark):
    entry = {"rule": "contains", "field": F, "params": {"substring": "utm_source="}}
    passing = ["https://x.org/?utm_source=a", "utm_source=", "ü utm_source=ü"]
    failing = ["utm_source", "UTM_SOURCE=", "", "utm source="]
    assert_verdicts(spark, entry, cases(passing, failing))


def test_case_sensitivity_of_affixes():
    insensitive = {"case_sensitive": False}
    assert python_passes({"rule": "starts_with", "field": F, "params": {"prefix": "ab", **insensitive}}, "ABc")
    assert not python_passes({"rule": "ends_with", "field": F, "params": {"suffix": "BC"}}, "abc")
    assert python_passes({"rule": "ends_with", "field": F, "params": {"suffix": "BC", **insensitive}}, "abc")
    assert python_passes({"rule": "contains", "field": F, "params": {"substring": "B", **insensitive}}, "abc")


@integration
def test_no_control_chars(spark):
    entry = {"rule": "no_control_chars", "field": F}
    passing = ["abc", "", "\u00a0", "é", "😀", "\u200b", "\u00a0x\u2028"]
    failing = ["a\x00b", "tab\t", "line\nbreak", "\r", "\x1f", "\x7f", "\u0085", "\u009f", "\x1b[0m"]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_trimmed(spark):
    entry = {"rule": "trimmed", "field": F}
    passing = ["a", "", "a b", "\u00a0a", "a\u3000", "\x1ca", "é"]
    failing = [" a", "a ", "a\n", "\ta", "\x0ba", "a\x0c", "\ra", " ", "\n"]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_lowercase(spark):
    entry = {"rule": "lowercase", "field": F}
    passing = ["abc", "", "ß", "straße", "123", "σς", "日本", "a-b_c!", "ﬁ"]
    failing = ["Abc", "İ", "ǅ", "ΑΣ", "ABC", "É"]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_uppercase(spark):
    entry = {"rule": "uppercase", "field": F}
    passing = ["ABC", "", "SS", "123", "Ǆ", "ΑΣ", "日本", "A-B_C!", "ẞ"]
    failing = ["Abc", "ß", "ǅ", "ﬁ", "é", "ŉ"]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_numeric_string(spark):
    entry = {"rule": "numeric_string", "field": F}
    passing = ["0", "-12.5", "1.5e3", "1E-3", "00012", "3", "-0"]
    failing = [
        "+1",
        "1.",
        ".5",
        "1,000",
        " 1",
        "1 ",
        "\u0661\u0662",
        "",
        "NaN",
        "0x10",
        "-",
        "1e",
        "1e+",
        "1.5.5",
        "Infinity",
    ]
    assert_verdicts(spark, entry, cases(passing, failing))


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# (text, valid JSON for both engines). The limits were measured on Spark's try_parse_json.
JSON_CASES = [
    ("1", True), (" 1 ", True), ("\t1\r\n", True), ("null", True), ("true", True), ('"x"', True), ("-0", True),
    ("1E+2", True), ("0e0", True), ("1e999", True), ("-1e999", True), ("[]", True), ("{}", True),
    ('{"a": [1, {"b": null}], "c": "d"}', True), ('"\\ud83d\\ude00"', True), ('"\\u0000"', True),
    ('"\\/"', True), ('["\u2028"]', True), ("12345678901234567890123456789012345678901234567890", True),
    ("", False), (" ", False), ("NaN", False), ("Infinity", False), ("-Infinity", False), ("01", False),
    ("True", False), ("nul", False), ('"\\ud800"', False), ('"\\udc00\\ud800"', False), ('{"\\ud800": 1}', False),
    ('{"a": 1, "a": 2}', False), ('{"a": 1, "\\u0061": 2}', False), ('[{"a": 1, "a": 1}]', False),
    ("[1, 2", False), ("1 2", False), ("{} x", False), ("{}x", False), ("[]]", False), ("1]", False),
    ("1}", False), ("1],[2", False), ("1,2", False), ("]", False), ('"a\tb"', False), ('"a\x01b"', False),
    ("'a'", False), ("[1,]", False), ('{"a": 1,}', False), ("/*c*/1", False), ("\ufeff1", False),
    ("\u00a01", False), ("\u0661", False), ("[1, \u0662]", False),
    ("\x0b1", False), ("1.", False), (".5", False), ("+1", False), ("0x10", False),
    ('"\\a"', False), ('"\\x41"', False), ('{"a"}', False), ("{1: 2}", False), ("-", False), ("1e", False),
    ('"abc', False),
    # Spark's limits: 999 levels, 1000 digits a number, 50000 UTF-16 units a key.
    (_deep(999), True), (_deep(1000), False), ('{"a":' * 999 + "1" + "}" * 999, True),
    ("1" * 1000, True), ("1" * 1001, False), ("-" + "1" * 1000, True), ("1e-" + "1" * 999, True),
    ("1e-" + "1" * 1000, False), ("1" * 998 + ".5e1", True), ("1" * 999 + ".5e1", False),
    ('{"%s": 1}' % ("k" * 50000), True), ('{"%s": 1}' % ("k" * 50001), False),
    ('{"%s": 1}' % ("é" * 50000), True), ('{"%s": 1}' % ("😀" * 25000), True), ('{"%s": 1}' % ("😀" * 25001), False),
]  # fmt: skip


@integration
def test_json_parseable(spark):
    entry = {"rule": "json_parseable", "field": F}
    assert_verdicts(spark, entry, [({"x": text}, ok) for text, ok in JSON_CASES] + NULLS + WRONG_KINDS)


def _json_texts(rng: random.Random, count: int) -> list[str]:
    """JSON documents with random spacing, and mutations of them (a character inserted, dropped or doubled;
    two documents run together; a cut): mostly invalid, in every way a parser can stop."""

    def value(depth: int) -> Any:
        pick = rng.randrange(9 if depth < 3 else 6)
        scalars = [
            None,
            True,
            rng.randint(-1000, 10**20),
            rng.random() * 10 ** rng.randint(-5, 30),
            "",
            'a\u00e9"\\/\n😀',
        ]
        if pick < 6:
            return scalars[pick]
        if pick < 8:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {rng.choice("abc"): value(depth + 1) for _ in range(rng.randrange(4))}

    out: list[str] = []
    significant = '[]{},:"\\ 0-+.eE\t\nx'
    while len(out) < count:
        text = json.dumps(value(0), ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1]))
        out.append(text)
        i = rng.randrange(len(text) + 1)
        out.append(text[:i] + rng.choice(significant) + text[i:])
        out.append(text[:i] + text[i + 1 :])
        out.append(text + rng.choice(["", " ", ",", "]", "}"]) + json.dumps(value(2)))
        out.append(text[:i])
    return out


@integration
def test_json_parseable_engines_agree_on_random_documents(spark):
    texts = _json_texts(random.Random(20261125), 600)
    python, spark_ = verdicts(spark, {"rule": "json_parseable", "field": F}, [{"x": t} for t in texts])
    assert [t for t, p, s in zip(texts, python, spark_, strict=True) if p != s] == []
    assert 0.2 < sum(python) / len(texts) < 0.8  # valid and invalid documents are both well represented


# Inputs with at least 400 brackets take the iterative path: the same verdicts as the stdlib parser.
DEEP_CASES = [
    ("[" * 450 + "1" + "]" * 450, True),
    ("[" * 450 + "1," + "]" * 450, False),
    ("[" * 450 + "]" * 449, False),
    ("[" * 450 + "]" * 451, False),
    ("[" * 450 + "}" + "]" * 449, False),
    ("[" * 450 + '{"a":1,"a":2}' + "]" * 450, False),
    ("[" * 450 + '"\\ud800"' + "]" * 450, False),
    ("[" * 450 + '{"a":[1,"\\u00e9",null]}' + "]" * 450, True),
    ("[" * 450 + "]" * 450 + " x", False),
    ("[" * 450 + "1 2" + "]" * 450, False),
    ("[" * 450 + "NaN" + "]" * 450, False),
    ('["' + "[" * 500 + '"]', True),
    ("[" + "[]," * 500 + "1]", True),
    ("[" + "[]," * 500 + "]", False),
]


@pytest.mark.parametrize(("text", "ok"), [c for c in JSON_CASES if len(c[0]) < 5000] + DEEP_CASES)
def test_the_iterative_json_path_agrees_with_the_stdlib_path(text, ok):
    assert is_json(text) is ok
    assert _scan(text) is ok
    if text.count("[") + text.count("{") < 400:
        assert _parse(text) is ok


@integration
def test_json_parseable_on_the_iterative_path(spark):
    entry = {"rule": "json_parseable", "field": F}
    assert_verdicts(spark, entry, [({"x": text}, ok) for text, ok in DEEP_CASES])


# The regex dialect: patterns the rules accept must mean the same in Python and in Java.
PATTERNS = [
    r"^a$", r"a$", r"a.b", r"(?s)a.b", r"(?m)^b$", r"(?m)a$", r"\bcat\b", r"\Bat", r"cat\Z", r"\Acat", r"[]a]",
    r"[^]a]+", r"\d+", r"\w+", r"\s", r"\S+$", r"[\x00-\x1f]", r"\u00e9", "é", "😀", r"^.$", r"^..$", r"a{2,3}",
    r"a{2}+", r"(?>a+)b", r"(?<=a)b", r"(?<!a)b", r"(a)\1", r"(?i:A)b", r"x*", r"\.", r"\-", r"[\-a]", r"\t",
    r"a|b", r"a}", r"[{}]", r"(?i)straße", r"[a-z]+$", r"^\W", r"^[^\n]*$", r"\$", r"(?:ab)+", r"a*?b", r"a++b",
]  # fmt: skip
SUBJECTS = [
    "", "a", "a\n", "a\r", "a\r\n", "b\na", "a\u0085", "a\u2028", "cat", "écat", "concat", "cat\n", "a\rb", "a\nb",
    "STRASSE", "straße", "ß", "😀", "😀😀", "1٣", "é", "\x1f", "aa", "aaa", "ab", "bb", "Ab", "x}", "{", "$", "K",
    "\u212a", "\u017f", "a-b", "\tx", "_", "x\u00a0",
]  # fmt: skip


@integration
@pytest.mark.parametrize("case_sensitive", [True, False])
def test_accepted_patterns_mean_the_same_in_java(spark, case_sensitive):
    jpattern = spark.sparkContext._jvm.java.util.regex.Pattern
    wrong = []
    for pattern in PATTERNS:
        compiled, java = dialects(pattern, case_sensitive)
        jcompiled = jpattern.compile(java)
        for subject in SUBJECTS:
            python = compiled.search(subject) is not None
            if python != jcompiled.matcher(subject).find():
                wrong.append((pattern, subject, python))
    assert not wrong


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        (r"(?P<id>\d+)", "unsupported group"),
        (r"(?#comment)a", "unsupported group"),
        (r"(a)?(?(1)b|c)", "unsupported group"),
        (r"(?x)a b", "unsupported group"),
        (r"(?a)a", "unsupported group"),
        (r"[[a]]", "nested class"),
        (r"[a&&b]", "intersection"),
        (r"[a--b]", "intersection"),
        (r"(?i", "unsupported group"),
        (r"a)", "not a valid regular expression"),
        (r"a{", "literal {"),
        (r"{x}", "literal {"),
        (r"x{,3}", "literal {"),
        (r"\0", "backreferences"),
        (r"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\10", "backreferences"),
        (r"[\1]", "backreferences"),
        (r"\v", r"\\v is not supported"),
        (r"[\b]", "inside"),
        (r"\ud83d\ude00", "surrogate"),
        (r"\N{EM DASH}", r"\\N is not supported"),
        (r"\U0001F600", r"\\U is not supported"),
        (r"\é", "not supported"),
        (r"(", "not a valid regular expression"),
        (r"\z", r"\\z is not supported"),
        (r"\p{L}", r"\\p is not supported"),
        (r"\Qa\E", r"\\Q is not supported"),
        (r"(?<name>a)", "unsupported group"),
        (r"(?u)a", "unsupported group"),
    ],
)
def test_patterns_outside_the_shared_dialect_are_refused_at_load_time(pattern, problem):
    with pytest.raises(ContractError, match=r"params\.pattern: ") as info:
        one_rule({"rule": "regex_match", "field": F, "params": {"pattern": pattern}})
    assert re.search(problem, str(info.value)), str(info.value)


@pytest.mark.parametrize(
    ("rule", "params", "problem"),
    [
        ("regex_match", {"pattern": ""}, "at least 1 character"),
        ("regex_match", {}, "Field required"),
        ("length_between", {"min": 3, "max": 2}, "max \\(2\\) must be >= min \\(3\\)"),
        ("length_between", {"min": -1}, "greater than or equal to 0"),
        ("starts_with", {"prefix": ""}, "at least 1 character"),
        ("contains", {"substring": "a", "case": True}, "Extra inputs"),
        ("trimmed", {"strip": True}, "Extra inputs"),
    ],
)
def test_bad_params_are_refused_at_load_time(rule, params, problem):
    with pytest.raises(ContractError, match=problem):
        one_rule({"rule": rule, "field": F, "params": params})
