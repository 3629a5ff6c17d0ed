"""Spark implementations of `quality.rules.formats`."""

from collections.abc import Callable
from typing import Any

from pyspark.sql import Column

from quality.engines.spark.matchers import url_matcher
from quality.engines.spark.registry import spark_check
from quality.engines.spark.values import Fields, check_string
from quality.rules import format_patterns as patterns
from quality.rules import formats as rules
from quality.rules.iso_codes import COUNTRIES, CURRENCIES


def _matches(pattern: str) -> Callable[[Any, Fields, str | None], Column]:
    def check(_p: Any, fields: Fields, field: str | None) -> Column:
        f = fields(field)
        return check_string(f, lambda _s: f.full_matches(pattern))

    return check


def _one_of(codes: frozenset[str]) -> Callable[[Any, Fields, str | None], Column]:
    items = sorted(codes)

    def check(_p: Any, fields: Fields, field: str | None) -> Column:
        return check_string(fields(field), lambda s: s.isin(*items))

    return check


spark_check("email")(_matches(patterns.EMAIL))
spark_check("uuid")(_matches(patterns.UUID))
spark_check("ipv4")(_matches(patterns.IPV4))
spark_check("ipv6")(_matches(patterns.IPV6))
spark_check("e164_phone")(_matches(patterns.E164_PHONE))
spark_check("hostname")(_matches(patterns.HOSTNAME))
spark_check("mac_address")(_matches(patterns.MAC_ADDRESS))
spark_check("iso_country")(_one_of(COUNTRIES))
spark_check("iso_currency")(_one_of(CURRENCIES))


@spark_check("url")
def url(p: rules.UrlParams, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    by_matcher = url_matcher(f.string, p.schemes)
    if by_matcher is None:
        pattern = patterns.url(p.schemes)
        return check_string(f, lambda _s: f.full_matches(pattern))
    return check_string(f, lambda _s: f.shared("url:" + ",".join(p.schemes), lambda: by_matcher))


@spark_check("iso_date")
def iso_date(_p: Any, fields: Fields, field: str | None) -> Column:
    f = fields(field)
    return f.is_null | (f.is_kind("date")) | f.date.isNotNull()
