"""`gateway.body.parse_json` / `parse_items`: the colon-count fast path and the tokenizer agree on what is refused."""

import orjson
import pytest

from gateway.body import InvalidJSON, parse_items, parse_json

REFUSED = {
    "duplicate key": b'{"a": 1, "a": 2}',
    "duplicate with colons in its value": b'{"a": "x:y", "b": {"a": "1:2", "a": "3"}}',
    "duplicate with a colon in its key": b'{"a:b": 1, "a:b": 2}',
    "duplicate spelled with an escaped colon": b'{"a:b": 1, "a\\u003ab": 2}',
    "duplicate next to a long digit run": b'{"s": "1234567890123456789012", "a": 1, "a": 2}',
    "duplicate past the re-encoding depth": b'{"a": 1, "a": 2, "d": ' + b"[" * 210 + b"]" * 210 + b"}",
    "huge integer": b'{"n": 123456789012345678901234567890}',
    "just over int64": b'{"n": -9223372036854775809}',
}
ACCEPTED = {
    "colons inside strings": b'{"url": "http://x:80/a:b", "k:": ":"}',
    "an escaped colon, no duplicate": b'{"a\\u003ab": 1, "a": "\\u003a"}',
    "a long digit run inside a string": b'{"s": "12345678901234567890123", "n": 9223372036854775807}',
    "int64 bounds": b'{"lo": -9223372036854775808, "hi": 9223372036854775807}',
    "deep but under the limit": b'{"d": ' + b"[" * 210 + b"]" * 210 + b"}",
}


@pytest.mark.parametrize("body", REFUSED.values(), ids=REFUSED.keys())
def test_refused_bodies(body):
    with pytest.raises(InvalidJSON):
        parse_json(body, 512)


@pytest.mark.parametrize("body", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_bodies(body):
    assert parse_json(body, 512) == orjson.loads(body)


def test_parse_items_gives_each_elements_depth_and_checks_the_whole_array():
    items, depths = parse_items(b'[{"a": {"b": 1}}, 3, [], {"a": [[1]]}]', 8)
    assert len(items) == 4
    assert depths == [2, 0, 1, 3]
    assert parse_items(b'{"a": 1}', 8) == ({"a": 1}, None)
    with pytest.raises(InvalidJSON, match="duplicate"):
        parse_items(b'[{"a": 1}, {"b": 1, "b": 2}]', 8)
    with pytest.raises(InvalidJSON, match="nests 4 levels"):
        parse_items(b'[{"a": {"b": [1]}}]', 3)
