"""Python implementations of `quality.rules.strings`."""

import json
import re
from collections.abc import Callable
from typing import Any

from quality.engines.python.registry import RowTest, python_check
from quality.engines.python.row import PyRow, getter
from quality.engines.python.values import check_string, full
from quality.rules import strings as rules

_CONTROL = re.compile(rules.CONTROL_CHARS)
_NUMERIC = full(rules.NUMERIC_STRING)


def string_test(field: str | None, cond: Callable[[str], bool]) -> RowTest:
    """`check_string` on the field: null passes, a non-string fails, else `cond`."""
    get = getter(field)

    def test(row: PyRow) -> bool:
        value = get(row)
        if type(value) is str:
            return cond(value)
        return check_string(value, cond)

    return test


def _fold(case_sensitive: bool) -> Callable[[str], str]:
    return (lambda s: s) if case_sensitive else str.lower


@python_check("regex_match")
def regex_match(p: rules.RegexParams, field: str | None) -> RowTest:
    search = rules.dialects(p.pattern, p.case_sensitive)[0].search
    return string_test(field, lambda s: search(s) is not None)


@python_check("regex_not_match")
def regex_not_match(p: rules.RegexParams, field: str | None) -> RowTest:
    search = rules.dialects(p.pattern, p.case_sensitive)[0].search
    return string_test(field, lambda s: search(s) is None)


@python_check("length_between")
def length_between(p: rules.LengthParams, field: str | None) -> RowTest:
    lo, hi = p.min, p.max
    return string_test(field, lambda s: lo <= len(s) and (hi is None or len(s) <= hi))


@python_check("starts_with")
def starts_with(p: rules.PrefixParams, field: str | None) -> RowTest:
    fold = _fold(p.case_sensitive)
    prefix = fold(p.prefix)
    if p.case_sensitive:
        return string_test(field, lambda s: s.startswith(prefix))
    return string_test(field, lambda s: fold(s).startswith(prefix))


@python_check("ends_with")
def ends_with(p: rules.SuffixParams, field: str | None) -> RowTest:
    fold = _fold(p.case_sensitive)
    suffix = fold(p.suffix)
    return string_test(field, lambda s: fold(s).endswith(suffix))


@python_check("contains")
def contains(p: rules.SubstringParams, field: str | None) -> RowTest:
    fold = _fold(p.case_sensitive)
    substring = fold(p.substring)
    return string_test(field, lambda s: substring in fold(s))


@python_check("no_control_chars")
def no_control_chars(_p: Any, field: str | None) -> RowTest:
    search = _CONTROL.search
    return string_test(field, lambda s: search(s) is None)


@python_check("trimmed")
def trimmed(_p: Any, field: str | None) -> RowTest:
    return string_test(field, lambda s: s == s.strip(rules.WHITESPACE))


@python_check("lowercase")
def lowercase(_p: Any, field: str | None) -> RowTest:
    return string_test(field, lambda s: s == s.lower())


@python_check("uppercase")
def uppercase(_p: Any, field: str | None) -> RowTest:
    return string_test(field, lambda s: s == s.upper())


@python_check("numeric_string")
def numeric_string(_p: Any, field: str | None) -> RowTest:
    fullmatch = _NUMERIC.fullmatch
    return string_test(field, lambda s: fullmatch(s) is not None)


@python_check("json_parseable")
def json_parseable(_p: Any, field: str | None) -> RowTest:
    return string_test(field, is_json)


# json_parseable: exactly what Spark's `try_parse_json` accepts (Jackson under Spark's settings), minus the
# trailing text it ignores. The limits are Spark's, measured with the same wrapping the Spark check uses.
MAX_DEPTH = 999  # nesting levels
MAX_DIGITS = 1000  # digits in one number (integer, fraction and exponent together)
MAX_KEY = 50_000  # UTF-16 code units in one object key
_SHALLOW = 400  # below this many brackets, the recursive C parser cannot hit Python's recursion limit
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOKEN = re.compile(
    r"[ \t\n\r]*(?:(?P<open>[\[{])|(?P<close>[\]}])|(?P<comma>,)|(?P<colon>:)"
    r'|(?P<string>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9A-Fa-f]{4})*")'
    r"|(?P<number>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<literal>true|false|null))",
    re.ASCII,
)


class _Invalid(ValueError):
    pass


def is_json(text: str) -> bool:
    """Whether `text` is one JSON value both engines accept (see `quality.rules.strings`)."""
    if _SURROGATE.search(text):
        return False
    if text.count("[") + text.count("{") < _SHALLOW:
        return _parse(text)
    return _scan(text)


def _refuse(_token: str) -> Any:
    raise _Invalid("NaN and Infinity are not JSON")


def _number(token: str) -> int:
    if len(token) > MAX_DIGITS and sum(ch.isdigit() for ch in token) > MAX_DIGITS:
        raise _Invalid("too many digits")
    return 0  # the value is not needed (and int() would refuse more than 4300 digits)


def _key_ok(key: str) -> bool:
    return len(key) <= MAX_KEY // 2 or len(key.encode("utf-16-le")) // 2 <= MAX_KEY


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out or not _key_ok(key):
            raise _Invalid("duplicate or too long key")
        out[key] = value
    return out


def _no_surrogates(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return False
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
    return True


def _parse(text: str) -> bool:
    """The fast path: the stdlib's C parser, with hooks for Spark's refusals."""
    try:
        value = json.loads(
            text, parse_constant=_refuse, parse_int=_number, parse_float=_number, object_pairs_hook=_object
        )
    except (ValueError, RecursionError):
        return False
    return "\\u" not in text or _no_surrogates(value)


def _scan(text: str) -> bool:
    """The deep path: an iterative JSON validator (no recursion limit), same verdicts as `_parse`."""
    stack: list[set[str] | None] = []  # per open container: its keys (object) or None (array)
    state = "value"  # value | first_value | first_key | key | colon | after | end | bad
    pos = 0
    while state != "bad" and (m := _TOKEN.match(text, pos)) is not None:
        pos = m.end()
        state = _step(state, stack, m.lastgroup or "", m.group(m.lastgroup or 0))
    return state == "end" and not text[pos:].strip(" \t\n\r")


def _step(state: str, stack: list[set[str] | None], kind: str, lexeme: str) -> str:
    """The state after one token."""
    in_array = bool(stack) and stack[-1] is None
    if kind == "open" and state in ("value", "first_value"):
        stack.append(None if lexeme == "[" else set())
        if len(stack) > MAX_DEPTH:
            return "bad"
        return "first_value" if lexeme == "[" else "first_key"
    if kind == "close" and state in ("after", "first_value" if in_array else "first_key"):
        if in_array != (lexeme == "]"):
            return "bad"
        stack.pop()
        return "after" if stack else "end"
    if kind == "comma" and state == "after" and stack:
        return "value" if in_array else "key"
    if kind == "colon" and state == "colon":
        return "value"
    if kind == "string" and state in ("key", "first_key"):
        key, keys = json.loads(lexeme), stack[-1]
        if keys is None or key in keys or not _key_ok(key) or _SURROGATE.search(key):
            return "bad"
        keys.add(key)
        return "colon"
    if kind in ("string", "number", "literal") and state in ("value", "first_value"):
        if kind == "string" and _SURROGATE.search(json.loads(lexeme)):
            return "bad"
        if kind == "number" and sum(ch.isdigit() for ch in lexeme) > MAX_DIGITS:
            return "bad"
        return "after" if stack else "end"
    return "bad"
