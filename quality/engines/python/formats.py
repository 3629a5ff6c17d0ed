"""Python implementations of `quality.rules.formats`."""

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from quality.engines.python.registry import RowTest, python_check
from quality.engines.python.row import getter
from quality.engines.python.strings import string_test
from quality.engines.python.values import as_date, full, is_null
from quality.rules import format_patterns as patterns
from quality.rules import formats as rules
from quality.rules.iso_codes import COUNTRIES, CURRENCIES


def _matches(pattern: str) -> Callable[[Any, str | None], RowTest]:
    fullmatch = full(pattern).fullmatch

    def compile_(_p: Any, field: str | None) -> RowTest:
        return string_test(field, lambda s: fullmatch(s) is not None)

    return compile_


def _one_of(codes: frozenset[str]) -> Callable[[Any, str | None], RowTest]:
    def compile_(_p: Any, field: str | None) -> RowTest:
        return string_test(field, codes.__contains__)

    return compile_


python_check("email")(_matches(patterns.EMAIL))
python_check("uuid")(_matches(patterns.UUID))
python_check("ipv4")(_matches(patterns.IPV4))
python_check("ipv6")(_matches(patterns.IPV6))
python_check("e164_phone")(_matches(patterns.E164_PHONE))
python_check("hostname")(_matches(patterns.HOSTNAME))
python_check("mac_address")(_matches(patterns.MAC_ADDRESS))
python_check("iso_country")(_one_of(COUNTRIES))
python_check("iso_currency")(_one_of(CURRENCIES))


@lru_cache(maxsize=64)
def _url(schemes: tuple[str, ...]) -> "re.Pattern[str]":
    return full(patterns.url(schemes))


@python_check("url")
def url(p: rules.UrlParams, field: str | None) -> RowTest:
    fullmatch = _url(tuple(p.schemes)).fullmatch
    return string_test(field, lambda s: fullmatch(s) is not None)


@python_check("iso_date")
def iso_date(_p: Any, field: str | None) -> RowTest:
    get = getter(field)
    return lambda row: is_null(value := get(row)) or as_date(value) is not None
