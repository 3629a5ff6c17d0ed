"""Python implementations of `quality.rules.formats`."""

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from quality.engines.python.registry import python_check
from quality.engines.python.row import PyRow
from quality.engines.python.values import as_date, check_string, full, is_null
from quality.rules import format_patterns as patterns
from quality.rules import formats as rules
from quality.rules.iso_codes import COUNTRIES, CURRENCIES


def _matches(pattern: str) -> Callable[[Any, PyRow, str | None], bool]:
    compiled = full(pattern)

    def check(_p: Any, row: PyRow, field: str | None) -> bool:
        return check_string(row.get(field), lambda s: compiled.fullmatch(s) is not None)

    return check


def _one_of(codes: frozenset[str]) -> Callable[[Any, PyRow, str | None], bool]:
    def check(_p: Any, row: PyRow, field: str | None) -> bool:
        return check_string(row.get(field), lambda s: s in codes)

    return check


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
def url(p: rules.UrlParams, row: PyRow, field: str | None) -> bool:
    compiled = _url(tuple(p.schemes))
    return check_string(row.get(field), lambda s: compiled.fullmatch(s) is not None)


@python_check("iso_date")
def iso_date(_p: Any, row: PyRow, field: str | None) -> bool:
    value = row.get(field)
    return is_null(value) or as_date(value) is not None
