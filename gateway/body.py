"""Request bodies under limits: read (size cap), decompress (gzip, incrementally, with a cap: a gzip bomb is
refused without being inflated), check the content type, and parse JSON strictly.

orjson is strict RFC 8259 (invalid UTF-8, lone surrogates, NaN/Infinity, floats that overflow are refused) but
silently accepts duplicate keys and turns integers beyond 64 bits into floats. A walk over the parsed value
measures the nesting depth; duplicates are found by comparing the colons of the text with those of the parsed
value re-encoded (a lost duplicate key loses its colon). A body with a run of 19 digits (a possible huge
integer) or a `\\u` escape (a possible escaped colon) goes through a regex tokenizer instead, which counts the
object keys and finds integer literals beyond 64 bits. So duplicates, huge integers and deep nesting are
refused.
"""

import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.exceptions import BadRequest, PayloadTooLarge, UnsupportedMediaType

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})
_INT64 = 2**63

# A JSON string (with an optional following colon: then it is an object key), or an integer literal of 19+
# digits. Strings are consumed whole, so a quote or colon inside one is never mistaken for structure.
_TOKENS = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"(\s*:)?|(?<![\w.+-])(-?[0-9]{19,})(?![0-9.eE])', re.DOTALL)
# The fast path's tests, at memchr speed: a run of 19 digits (a possible integer beyond 64 bits), and a `\u`
# escape (the only way a colon can be spelled other than as itself).
_DIGITS = bytes.maketrans(b"0123456789", b"9999999999")
_LONG_RUN = b"9" * 19
_DUMPS_DEPTH = 200  # orjson.dumps refuses deeper values (255); past this, the tokenizer counts the keys


class InvalidJSON(ValueError):
    """A document that is not acceptable JSON; the message says why (no input echoed), `reason` names the kind
    (`too_deep` for the nesting limit, else `json`) for per-event results and metrics."""

    def __init__(self, message: str, reason: str = "json") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    max_decompressed_bytes: int
    max_depth: int


def media_type(content_type: str | None, allowed: frozenset[str]) -> str:
    """The request's media type if allowed (no Content-Type means JSON); charset must be UTF-8."""
    if content_type is None or not content_type.strip():
        return "application/json"
    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    if kind not in allowed:
        raise UnsupportedMediaType(f"Content-Type {kind!r} is not accepted here; send {' or '.join(sorted(allowed))}")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType("only charset=utf-8 is accepted")
    return kind


async def read_body(
    chunks: AsyncIterator[bytes], content_length: str | None, content_encoding: str | None, limits: Limits
) -> bytes:
    """The body, decompressed; 413 past `max_body_bytes` on the wire or `max_decompressed_bytes` inflated."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported; use gzip or none")
    if content_length is not None and content_length.strip().isdigit():
        declared = int(content_length)
        if declared > limits.max_body_bytes:
            raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limits.max_body_bytes}")
    inflater = _Inflater(limits.max_decompressed_bytes) if encoding != "identity" else None
    parts: list[bytes] = []
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limits.max_body_bytes:
            raise PayloadTooLarge(f"the body is over the limit of {limits.max_body_bytes} bytes")
        parts.append(inflater.feed(chunk) if inflater is not None else chunk)
    if inflater is not None:
        inflater.finish()
    elif received > limits.max_decompressed_bytes:
        raise PayloadTooLarge(f"the body is over the limit of {limits.max_decompressed_bytes} bytes")
    return b"".join(parts)


class _Inflater:
    """gzip decompression with an output cap, a bounded slice at a time."""

    def __init__(self, cap: int) -> None:
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._cap = cap
        self._out = 0

    def feed(self, data: bytes) -> bytes:
        if self._d.eof:
            if data:
                raise BadRequest("the body has data after the end of the gzip stream")
            return b""
        try:
            out = self._d.decompress(data, self._cap - self._out + 1)
        except zlib.error:
            raise BadRequest("the body is not valid gzip") from None
        self._out += len(out)
        if self._out > self._cap or self._d.unconsumed_tail:
            raise PayloadTooLarge(f"the decompressed body is over the limit of {self._cap} bytes")
        if self._d.unused_data:
            raise BadRequest("the body has data after the end of the gzip stream")
        return out

    def finish(self) -> None:
        if not self._d.eof:
            raise BadRequest("the gzip stream is truncated")


def parse_json(data: bytes, max_depth: int) -> Any:
    """One JSON document, strictly; `InvalidJSON` says what is wrong."""
    return _parse(data, max_depth, per_item=False)[0]


def parse_items(data: bytes, max_depth: int) -> tuple[Any, list[int] | None]:
    """`parse_json`, plus, when the document is an array, the nesting depth of each element (one walk)."""
    return _parse(data, max_depth, per_item=True)


def _parse(data: bytes, max_depth: int, *, per_item: bool) -> tuple[Any, list[int] | None]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        message = str(exc)
        if "depth limit" in message or "recursion" in message:
            raise InvalidJSON(f"the JSON nests deeper than {max_depth} levels", "too_deep") from None
        raise InvalidJSON(f"not valid JSON: {message}") from None
    # A colon outside strings starts an object key's value, and orjson re-encodes every string with its colons as
    # they are: re-encoding the parsed value loses colons only when it lost a duplicate key. Unless a long
    # digit run (maybe a huge integer) or a \u escape (maybe a colon) needs the tokenizer.
    slow = data.translate(_DIGITS).find(_LONG_RUN) >= 0 or b"\\u" in data
    text_keys = _text_keys(data) if slow else 0
    depths: list[int] | None = None
    if per_item and type(value) is list:
        keys = 0
        depths = []
        for item in value:
            item_keys, item_depth = _shape(item)
            keys += item_keys
            depths.append(item_depth)
        depth = 1 + max(depths, default=0)
    else:
        keys, depth = _shape(value)
    if depth > max_depth:
        raise InvalidJSON(f"the JSON nests {depth} levels deep; the limit is {max_depth}", "too_deep")
    if not slow and depth > _DUMPS_DEPTH:
        slow, text_keys = True, _text_keys(data)
    duplicate = keys != text_keys if slow else data.count(b":") != orjson.dumps(value).count(b":")
    if duplicate:
        raise InvalidJSON("an object has a duplicate key")
    return value, depths


def _text_keys(data: bytes) -> int:
    """The object keys in the text (duplicates counted), after refusing integer literals beyond 64 bits."""
    text_keys = 0
    for key_colon, integer in _TOKENS.findall(data):
        if key_colon:
            text_keys += 1
        elif integer and not -_INT64 <= int(integer) < _INT64:
            raise InvalidJSON("an integer is out of the 64-bit range; send it as a string")
    return text_keys


def _shape(value: Any) -> tuple[int, int]:
    """(object keys, nesting depth) of a parsed JSON value (0 for a scalar), iteratively. orjson decodes to
    exact dicts and lists, so `type() is` suffices."""
    kind = type(value)
    if kind is not dict and kind is not list:
        return 0, 0
    keys = 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if type(item) is dict:
            keys += len(item)
            children = item.values()
        else:
            children = item
        deepest = max(deepest, depth)
        below = depth + 1
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                push((child, below))
    return keys, deepest


def depth_of(value: Any) -> int:
    return _shape(value)[1]


def ndjson_lines(data: bytes) -> list[bytes]:
    """The non-blank lines of an NDJSON body."""
    return [line for line in data.split(b"\n") if line.strip()]


def parse_or_400(data: bytes, max_depth: int) -> Any:
    try:
        return parse_json(data, max_depth)
    except InvalidJSON as exc:
        raise BadRequest(f"the body is not acceptable JSON: {exc}") from None
