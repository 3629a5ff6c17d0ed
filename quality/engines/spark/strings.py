"""Spark implementations of `quality.rules.strings`."""

from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from quality.engines.spark.registry import spark_check
from quality.engines.spark.values import Fields, check_string
from quality.rules import strings as rules


def trim_whitespace(s: Column) -> Column:
    """`s` without Java's `\\s` characters (`rules.WHITESPACE`) at either end: `UTF8String.trim`, no regex."""
    return F.trim(s, F.lit(rules.WHITESPACE))


def _fold(col: Column, case_sensitive: bool) -> Column:
    return col if case_sensitive else F.lower(col)


def _text(value: str, case_sensitive: bool) -> str:
    return value if case_sensitive else value.lower()


@spark_check("regex_match")
def regex_match(p: rules.RegexParams, fields: Fields, field: str | None) -> Column:
    _, java = rules.dialects(p.pattern, p.case_sensitive)
    f = fields(field)
    return check_string(f, lambda _s: f.matches(java))


@spark_check("regex_not_match")
def regex_not_match(p: rules.RegexParams, fields: Fields, field: str | None) -> Column:
    _, java = rules.dialects(p.pattern, p.case_sensitive)
    f = fields(field)
    return check_string(f, lambda _s: ~f.matches(java))


@spark_check("length_between")
def length_between(p: rules.LengthParams, fields: Fields, field: str | None) -> Column:
    def cond(s: Column) -> Column:
        length = F.length(s)  # Unicode code points, like Python's len
        ok = length >= F.lit(p.min)
        return ok if p.max is None else ok & (length <= F.lit(p.max))

    return check_string(fields(field), cond)


@spark_check("starts_with")
def starts_with(p: rules.PrefixParams, fields: Fields, field: str | None) -> Column:
    prefix = F.lit(_text(p.prefix, p.case_sensitive))
    return check_string(fields(field), lambda s: _fold(s, p.case_sensitive).startswith(prefix))


@spark_check("ends_with")
def ends_with(p: rules.SuffixParams, fields: Fields, field: str | None) -> Column:
    suffix = F.lit(_text(p.suffix, p.case_sensitive))
    return check_string(fields(field), lambda s: _fold(s, p.case_sensitive).endswith(suffix))


@spark_check("contains")
def contains(p: rules.SubstringParams, fields: Fields, field: str | None) -> Column:
    substring = F.lit(_text(p.substring, p.case_sensitive))
    return check_string(fields(field), lambda s: _fold(s, p.case_sensitive).contains(substring))


@spark_check("no_control_chars")
def no_control_chars(_p: Any, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    return check_string(f, lambda _s: ~f.matches(rules.CONTROL_CHARS))


@spark_check("trimmed")
def trimmed(_p: Any, fields: Fields, field: str | None) -> Column:
    """No whitespace at either end: trimming changes nothing."""
    return check_string(fields(field), lambda s: F.octet_length(trim_whitespace(s)) == F.octet_length(s))


@spark_check("lowercase")
def lowercase(_p: Any, fields: Fields, field: str | None) -> Column:
    return check_string(fields(field), lambda s: s == F.lower(s))


@spark_check("uppercase")
def uppercase(_p: Any, fields: Fields, field: str | None) -> Column:
    return check_string(fields(field), lambda s: s == F.upper(s))


@spark_check("numeric_string")
def numeric_string(_p: Any, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    return check_string(f, lambda _s: f.full_matches(rules.NUMERIC_STRING))


@spark_check("json_parseable")
def json_parseable(_p: Any, fields: Fields, field: str | None) -> Column:
    """`try_parse_json` ignores text after the first value ('1 2' parses), so the string is parsed wrapped
    twice: in `[...]` it must be an array of exactly one element, and in `{"v":...}` it must parse. Text
    after a value can only continue a one-element array with `]` and an object with `}`: one wrapper
    refuses what the other lets through."""

    def cond(s: Column) -> Column:
        in_array = F.try_parse_json(F.concat(F.lit("["), s, F.lit("]")))
        in_object = F.try_parse_json(F.concat(F.lit('{"v":'), s, F.lit("}")))
        one = F.size(F.try_variant_get(in_array, "$", "array<variant>")) == 1
        return F.coalesce(one & in_object.isNotNull(), F.lit(False))

    return check_string(fields(field), cond)
