"""String rules: they apply to JSON strings (another kind fails, null passes).

`pattern` params are checked at load time to be in the regex dialect both engines read alike (`dialects`):
Python's `re` with `re.ASCII`, and Java's `java.util.regex` as Spark's `rlike` runs it with the `(?d)` flag
(UNIX_LINES: only `\\n` ends a line for `.`, `^` and `$`, as in Python).
"""

import re
import string
from functools import lru_cache
from typing import Annotated

from pydantic import Field, NonNegativeInt, field_validator, model_validator

from quality.rules.base import NoParams, Params, RuleType, row_rule

FAMILY = "strings"

# Java 17's `\b` counts non-ASCII letters as word characters; Python's (with re.ASCII) does not. Both read
# these lookarounds over the ASCII `\w` alike.
_JAVA_WORD_BOUNDARY = r"(?:(?<=\w)(?!\w)|(?<!\w)(?=\w))"
_JAVA_NOT_WORD_BOUNDARY = r"(?:(?<=\w)(?=\w)|(?<!\w)(?!\w))"
# Escapes both dialects read alike (a letter), besides escaped punctuation and \1-\9 backreferences.
_SAME_ESCAPES = frozenset("dDwWsStnrfaxA")
_GROUP = re.compile(r"\(\?(?:[:=!>]|<[=!]|[ims]+(?:-[ims]*)?[:)]|-[ims]+[:)])")
_REPEAT = re.compile(r"\{\d+(?:,\d*)?\}")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, str]:
    """The escape at `pattern[i]` (a backslash): its text and its Java translation."""
    esc = pattern[i + 1 : i + 2]
    token = "\\" + esc
    if esc.isdigit() and esc.isascii():
        if in_class or esc == "0" or pattern[i + 2 : i + 3].isdigit():
            raise ValueError(f"{token}...: only the backreferences \\1 to \\9 are supported (Java reads octal apart)")
        return token, token
    if esc in ("b", "B"):
        if in_class:
            raise ValueError(r"\b inside [...] is not supported (Java rejects it; write \x08)")
        return token, _JAVA_WORD_BOUNDARY if esc == "b" else _JAVA_NOT_WORD_BOUNDARY
    if esc == "Z":
        return token, "\\z"
    if esc == "u":
        hex4 = pattern[i + 2 : i + 6]
        if _HEX4.fullmatch(hex4) and 0xD800 <= int(hex4, 16) <= 0xDFFF:
            raise ValueError(f"\\u{hex4}: surrogate escapes are not supported (write the character itself)")
        return token + hex4, token + hex4
    if esc in _SAME_ESCAPES or (esc in string.punctuation or esc == " "):
        return token, token
    raise ValueError(f"{token} is not supported (Python and Java read it differently, or one rejects it)")


def _translate(pattern: str) -> str:
    """The Java version of a pattern, or ValueError for a construct the two dialects read differently."""
    java: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            token, translated = _escape(pattern, i, in_class)
            java.append(translated)
            i += len(token)
            continue
        token = c
        if in_class:
            if c == "[":
                raise ValueError("[ inside [...] must be escaped as \\[ (Java reads a nested class)")
            if pattern.startswith(("&&", "--", "||", "~~"), i):
                raise ValueError(f"{pattern[i : i + 2]} inside [...] is not supported (a class intersection in Java)")
            in_class = c != "]"
        elif c == "[":
            in_class = True
            token = "[^" if pattern.startswith("[^", i) else "["
            if pattern.startswith("]", i + len(token)):
                token += "]"  # a leading ] is a literal in both dialects
        elif c == "(" and pattern.startswith("(?", i):
            group = _GROUP.match(pattern, i)
            if group is None:
                raise ValueError(
                    "unsupported group syntax at (?: use (?:...), lookarounds, (?>...) or the flags i, m, s "
                    "(no named groups, comments, conditionals, or the flags a, L, u, x)"
                )
            token = group.group()
        elif c == "{":
            repeat = _REPEAT.match(pattern, i)
            if repeat is None:
                raise ValueError("a literal { must be escaped as \\{ (Java reads it as a repetition)")
            token = repeat.group()
        java.append(token)
        i += len(token)
    return "".join(java)


@lru_cache(maxsize=1024)
def dialects(pattern: str, case_sensitive: bool = True) -> tuple["re.Pattern[str]", str]:
    """The compiled Python pattern and the Java pattern for Spark's `rlike` (with its flags), for a pattern
    with "search" semantics. Raises ValueError when the pattern is not in the shared dialect."""
    java = _translate(pattern)  # first: it refuses what Python would only warn about ([[, &&)
    try:
        compiled = re.compile(pattern, re.ASCII | (0 if case_sensitive else re.IGNORECASE))
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    java_flags = "(?d)" if case_sensitive else "(?di)"  # (?i) alone is ASCII-only in Java, as in Python
    return compiled, java_flags + java


NonEmpty = Annotated[str, Field(min_length=1)]


class RegexParams(Params):
    pattern: NonEmpty
    case_sensitive: bool = True

    @field_validator("pattern")
    @classmethod
    def _dialect(cls, pattern: str) -> str:
        dialects(pattern)
        return pattern


class LengthParams(Params):
    min: NonNegativeInt = 0
    max: NonNegativeInt | None = None

    @model_validator(mode="after")
    def _order(self) -> "LengthParams":
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) must be >= min ({self.min})")
        return self


class PrefixParams(Params):
    prefix: NonEmpty
    case_sensitive: bool = True


class SuffixParams(Params):
    suffix: NonEmpty
    case_sensitive: bool = True


class SubstringParams(Params):
    substring: NonEmpty
    case_sensitive: bool = True


# Pattern of `numeric_string`: a plain-text decimal number, matched in full.
NUMERIC_STRING = r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
# Characters `no_control_chars` refuses: C0 controls, DEL and C1 controls.
CONTROL_CHARS = r"[\x00-\x1f\x7f-\x9f]"
# Whitespace `trimmed` refuses at either end: Java's `\s` (ASCII).
WHITESPACE = " \t\n\x0b\f\r"

RULES: list[RuleType] = [
    row_rule(
        "regex_match",
        FAMILY,
        "The string contains a match of `pattern` (anchor it with ^ and $ to match it whole).",
        RegexParams,
        "{field} must match {pattern}",
        {"rule": "regex_match", "field": "payload.sku", "params": {"pattern": r"^[A-Z]{3}-\d{4}$"}},
    ),
    row_rule(
        "regex_not_match",
        FAMILY,
        "The string contains no match of `pattern`.",
        RegexParams,
        "{field} must not match {pattern}",
        {
            "rule": "regex_not_match",
            "field": "payload.comment",
            "params": {"pattern": r"<\s*script\b", "case_sensitive": False},
        },
    ),
    row_rule(
        "length_between",
        FAMILY,
        "The string has `min` to `max` characters (Unicode code points; no `max`: no upper bound).",
        LengthParams,
        "{field} must have {min} to {max} characters",
        {"rule": "length_between", "field": "payload.customer_name", "params": {"min": 1, "max": 200}},
    ),
    row_rule(
        "starts_with",
        FAMILY,
        "The string starts with `prefix`.",
        PrefixParams,
        "{field} must start with {prefix}",
        {"rule": "starts_with", "field": "payload.order_id", "params": {"prefix": "ord_"}},
    ),
    row_rule(
        "ends_with",
        FAMILY,
        "The string ends with `suffix`.",
        SuffixParams,
        "{field} must end with {suffix}",
        {
            "rule": "ends_with",
            "field": "payload.image_url",
            "params": {"suffix": ".png", "case_sensitive": False},
        },
    ),
    row_rule(
        "contains",
        FAMILY,
        "The string contains `substring`.",
        SubstringParams,
        "{field} must contain {substring}",
        {"rule": "contains", "field": "payload.landing_url", "params": {"substring": "utm_source="}},
    ),
    row_rule(
        "no_control_chars",
        FAMILY,
        "The string has no control character (U+0000-U+001F, U+007F-U+009F).",
        NoParams,
        "{field} must not contain control characters",
        {"rule": "no_control_chars", "field": "payload.customer_name"},
    ),
    row_rule(
        "trimmed",
        FAMILY,
        "The string neither starts nor ends with whitespace (space, \\t, \\n, \\v, \\f, \\r).",
        NoParams,
        "{field} must not start or end with whitespace",
        {"rule": "trimmed", "field": "payload.sku"},
    ),
    row_rule(
        "lowercase",
        FAMILY,
        "The string equals its lower-cased form.",
        NoParams,
        "{field} must be lowercase",
        {"rule": "lowercase", "field": "payload.customer_email"},
    ),
    row_rule(
        "uppercase",
        FAMILY,
        "The string equals its upper-cased form.",
        NoParams,
        "{field} must be uppercase",
        {"rule": "uppercase", "field": "payload.currency"},
    ),
    row_rule(
        "json_parseable",
        FAMILY,
        "The string is one JSON value (no NaN/Infinity, duplicate keys or unpaired surrogates; at most 999 "
        "levels deep, 1000 digits a number and 50000 UTF-16 units a key, as Spark's parser).",
        NoParams,
        "{field} must be valid JSON",
        {"rule": "json_parseable", "field": "payload.metadata_json"},
    ),
    row_rule(
        "numeric_string",
        FAMILY,
        "The string is a plain decimal number such as -12.5 or 1.5e3 (no sign +, spaces or separators).",
        NoParams,
        "{field} must be a number written as text",
        {"rule": "numeric_string", "field": "payload.amount_text"},
    ),
]
