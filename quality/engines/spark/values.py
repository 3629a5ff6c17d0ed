"""How the Spark engine reads a row: a field path becomes typed Spark expressions with the same JSON-kind
semantics as the pure-Python engine (`quality.engines.python.values`).

Two sources of fields:
- typed columns (a table row): the kind is known from the Spark type, statically;
- `payload.<path>` on a DataFrame whose `payload` column is JSON text (the event stream): the payload is
  parsed once per row into a VARIANT (`try_parse_json`), and each field's kind comes from
  `schema_of_variant` of its sub-value. JSON `1` is an integer; `1.0` and `1e3` are numbers.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegralType,
    MapType,
    StringType,
    StructType,
    TimestampNTZType,
    TimestampType,
)

from quality.engines.spark.matchers import matcher
from quality.rules import patterns
from quality.rules.strings import WHITESPACE

PAYLOAD = "payload"
PAYLOAD_VARIANT = "__weir_payload_v"


def full_match(value: Column, pattern: str) -> Column:
    """`value` matches `pattern` as a whole (Java regex; `\\z` is the absolute end): by Weir's JVM matcher
    when the pattern has one and the session registered them (`quality.engines.spark.matchers`), else `rlike`."""
    by_matcher = matcher(value, pattern)
    if by_matcher is not None:
        return by_matcher
    return value.rlike("^(?:" + pattern + ")\\z")


# Java patterns (as `quality.rules.strings.dialects` writes them) that match one character of a small set:
# searching them is "contains one of these characters". Java's `\s` without UNICODE_CHARACTER_CLASS is exactly
# [ \t\n\x0B\f\r]; `(?d)` (UNIX_LINES) changes only `.`, `^` and `$`.
_ONE_OF: dict[str, str] = {"(?d)\\s": WHITESPACE, "\\s": WHITESPACE}


def _contains_any(value: Column, chars: str) -> Column:
    """`value` contains one of `chars` (null for a null value, like `rlike`): `UTF8String.contains` byte
    searches, no conversion to a Java String and no regex matcher."""
    out = value.contains(chars[0])
    for c in chars[1:]:
        out = out | value.contains(c)
    return out


Share = Callable[[tuple[str, ...], Callable[[], Column]], Column]


def _unshared(_key: tuple[str, ...], build: Callable[[], Column]) -> Column:
    return build()


@dataclass(frozen=True)
class Field:
    """Expressions for one field path. `kind` is a string Column: null, boolean, integer, number, string,
    array, object, timestamp, date or unknown."""

    path: str
    is_null: Column
    kind: Column
    number: Column  # DOUBLE when kind is integer or number
    string: Column  # STRING when kind is string
    boolean: Column  # BOOLEAN when kind is boolean
    array: Column  # ARRAY<VARIANT> (payload) or the typed array, when kind is array
    object_empty: Column  # true for an object without keys
    native_timestamp: Column | None  # TIMESTAMP when the column is typed as one
    native_date: Column | None = None  # DATE when the column is typed as one
    static_kind: str | None = None  # a typed column's kind when not null, known when the plan is built
    share: Share = field(default=_unshared, repr=False, compare=False)

    def shared(self, name: str, build: Callable[[], Column]) -> Column:
        """`build()` for this field, computed once per row however many rules use it (`Fields.shared`)."""
        return self.share((self.path, name), build)

    def matches(self, pattern: str) -> Column:
        """The string value matches the Java regex `pattern` (search semantics), evaluated once per row. A
        pattern that is one character of a small set (`\\s`) is a few byte searches instead (no regex)."""
        chars = _ONE_OF.get(pattern)
        if chars is not None:
            return self.shared("rlike:" + pattern, lambda: _contains_any(self.string, chars))
        return self.shared("rlike:" + pattern, lambda: self.string.rlike(pattern))

    def full_matches(self, pattern: str) -> Column:
        """The string value matches `pattern` as a whole, evaluated once per row."""
        return self.shared("full:" + pattern, lambda: full_match(self.string, pattern))

    def is_kind(self, *kinds: str) -> Column:
        """The value is not null and of one of `kinds`. For a typed column this folds to `col IS NOT NULL` or
        false when the plan is built, instead of a string comparison per row."""
        if self.static_kind is not None:
            return ~self.is_null if self.static_kind in kinds else F.lit(False)
        return self.kind.isin(*kinds)

    @property
    def timestamp(self) -> Column:
        """TIMESTAMP for a typed timestamp, or for an RFC 3339 string (parsed once per row); else null."""
        if self.static_kind == "timestamp" and self.native_timestamp is not None:
            return self.native_timestamp
        if self.static_kind is not None and self.static_kind != "string":
            return F.lit(None).cast("timestamp")

        def parse() -> Column:
            parsed = F.when(full_match(self.string, patterns.RFC3339), F.try_to_timestamp(self.string))
            return F.when(self.is_kind("string"), parsed)

        return self.shared("timestamp", parse)

    @property
    def date(self) -> Column:
        """DATE for a typed date, or for an ISO date string (parsed once per row); else null."""
        if self.static_kind == "date" and self.native_date is not None:
            return self.native_date
        if self.static_kind is not None and self.static_kind != "string":
            return F.lit(None).cast("date")

        def parse() -> Column:
            parsed = F.when(
                full_match(self.string, patterns.ISO_DATE),
                F.try_to_timestamp(self.string, F.lit("yyyy-MM-dd")).cast("date"),
            )
            return F.when(self.is_kind("string"), parsed)

        return self.shared("date", parse)


def _kind_of_type(dtype: DataType) -> str:
    if isinstance(dtype, BooleanType):
        return "boolean"
    if isinstance(dtype, IntegralType):
        return "integer"
    if isinstance(dtype, DoubleType | FloatType | DecimalType):
        return "number"
    if isinstance(dtype, StringType):
        return "string"
    if isinstance(dtype, ArrayType):
        return "array"
    if isinstance(dtype, StructType | MapType):
        return "object"
    if isinstance(dtype, TimestampType | TimestampNTZType):
        return "timestamp"
    if isinstance(dtype, DateType):
        return "date"
    return "unknown"


class Fields:
    """Resolves field paths against one DataFrame's schema."""

    def __init__(self, df: DataFrame, now: Column | None = None, payload_variant: str | None = None) -> None:
        self._types = {f.name: f.dataType for f in df.schema.fields}
        self.now = now if now is not None else F.current_timestamp()
        # A VARIANT column already holding the parsed payload (the stream parses it with the envelope), else None:
        # the JSON text in `payload` is parsed here.
        self._payload_variant = payload_variant
        # Payload fields in use: JSON path -> helper column index. Each gets two helper columns, computed
        # once per row before the rules run: its sub-VARIANT and its kind.
        self._payload_paths: dict[str, int] = {}
        # Values several rules need (a field's parsed timestamp, a regex verdict): key -> (column, expression).
        self._shared: dict[tuple[str, ...], tuple[str, Column]] = {}

    def shared(self, key: tuple[str, ...], build: Callable[[], Column]) -> Column:
        """A helper column holding `build()`, one per `key`: computed once per row, before the rules, however
        many rules read it. (Spark's optimizer keeps such a projection apart instead of inlining an
        expensive expression into each use, and common-subexpression elimination does not reach
        expressions inside `CASE WHEN` branches.) Under `with_contract_failures` it is computed for every row,
        whatever its event type (cheap where the field is null)."""
        if key not in self._shared:
            self._shared[key] = (f"__weir_s{len(self._shared)}", build())
        return F.col(self._shared[key][0])

    @property
    def uses_payload(self) -> bool:
        return bool(self._payload_paths)

    def helper_steps(self) -> list[dict[str, Column]]:
        """The projections to run before the rules: the payload VARIANT, each field's sub-VARIANT, its kind, its
        typed values; then the shared values (which may read the field helpers)."""
        steps: list[dict[str, Column]] = []
        if self._payload_paths:
            v = F.col(PAYLOAD_VARIANT)
            subs = {f"__weir_f{i}": F.try_variant_get(v, path, "variant") for path, i in self._payload_paths.items()}
            kinds = {f"__weir_f{i}_kind": _variant_kind(F.col(f"__weir_f{i}")) for i in self._payload_paths.values()}
            values = {name: value for i in self._payload_paths.values() for name, value in _variant_values(i).items()}
            parsed = F.col(self._payload_variant) if self._payload_variant else F.try_parse_json(F.col(PAYLOAD))
            steps += [{PAYLOAD_VARIANT: parsed}, subs, kinds, values]
        if self._shared:
            steps.append(dict(self._shared.values()))
        return steps

    def helper_columns(self) -> list[str]:
        return [name for step in self.helper_steps() for name in step]

    def __call__(self, path: str | None) -> Field:
        if path is None:
            raise ValueError("this rule needs a field")
        head, _, rest = path.partition(".")
        if head == PAYLOAD and (self._payload_variant or isinstance(self._types.get(PAYLOAD), StringType)):
            return self._variant(path, "$." + rest if rest else "$")
        return self._typed(path)

    def _typed(self, path: str) -> Field:
        dtype = self._resolve_type(path)
        col = F.col(path)
        kind = _kind_of_type(dtype)
        kind_col = F.when(col.isNull(), F.lit("null")).otherwise(F.lit(kind))
        return Field(
            path=path,
            is_null=col.isNull(),
            kind=kind_col,
            number=col.cast("double") if kind in ("integer", "number") else F.lit(None).cast("double"),
            string=col if kind == "string" else F.lit(None).cast("string"),
            boolean=col if kind == "boolean" else F.lit(None).cast("boolean"),
            array=col if kind == "array" else F.lit(None),
            object_empty=(F.size(col) == 0) if isinstance(dtype, MapType) else F.lit(False),
            native_timestamp=col.cast("timestamp") if kind == "timestamp" else None,
            native_date=col if kind == "date" else None,
            static_kind=kind,
            share=self.shared,
        )

    def _resolve_type(self, path: str) -> DataType:
        parts = path.split(".")
        if parts[0] not in self._types:
            raise KeyError(f"no column {parts[0]!r} for field {path!r} (columns: {sorted(self._types)})")
        dtype = self._types[parts[0]]
        for part in parts[1:]:
            if not isinstance(dtype, StructType) or part not in dtype.names:
                raise KeyError(f"no field {path!r} in the DataFrame's schema")
            dtype = dtype[part].dataType
        return dtype

    def _variant(self, path: str, json_path: str) -> Field:
        i = self._payload_paths.setdefault(json_path, len(self._payload_paths))
        sub = F.col(f"__weir_f{i}")
        kind = F.col(f"__weir_f{i}_kind")
        return Field(
            path=path,
            is_null=kind == "null",
            kind=kind,
            number=F.col(f"__weir_f{i}_number"),
            string=F.col(f"__weir_f{i}_string"),
            boolean=F.col(f"__weir_f{i}_boolean"),
            array=F.col(f"__weir_f{i}_array"),
            object_empty=F.schema_of_variant(sub) == "OBJECT<>",
            native_timestamp=None,
            share=self.shared,
        )


def _variant_values(i: int) -> dict[str, Column]:
    """Payload field `i`'s value as each type it can have, extracted once per row (only for its own kind) however
    many rules read it; the optimizer drops the helpers no rule uses. (`try_variant_get` with a type other than
    the value's own builds a Spark `Cast` per call: ~0.7 us for a decimal read as a double.)"""
    sub, kind = F.col(f"__weir_f{i}"), F.col(f"__weir_f{i}_kind")
    return {
        f"__weir_f{i}_number": F.when(kind.isin("integer", "number"), F.try_variant_get(sub, "$", "double")),
        f"__weir_f{i}_string": F.when(kind == "string", F.try_variant_get(sub, "$", "string")),
        f"__weir_f{i}_boolean": F.when(kind == "boolean", F.try_variant_get(sub, "$", "boolean")),
        f"__weir_f{i}_array": F.when(kind == "array", F.try_variant_get(sub, "$", "array<variant>")),
    }


def _variant_kind(sub: Column) -> Column:
    schema = F.schema_of_variant(sub)
    return (
        F.when(sub.isNull() | (schema == "VOID"), F.lit("null"))
        .when(schema == "BOOLEAN", F.lit("boolean"))
        .when(schema.isin("TINYINT", "SMALLINT", "INT", "BIGINT"), F.lit("integer"))
        .when(schema.startswith("DECIMAL") | schema.isin("DOUBLE", "FLOAT"), F.lit("number"))
        .when(schema == "STRING", F.lit("string"))
        .when(schema.startswith("ARRAY"), F.lit("array"))
        .when(schema.startswith("OBJECT"), F.lit("object"))
        .otherwise(F.lit("unknown"))
    )


Cond = Callable[[Column], Column]


def check_number(f: Field, cond: Cond) -> Column:
    """null passes; a non-number or NaN fails; else `cond`."""
    ok = f.is_kind("integer", "number") & ~F.isnan(f.number)
    return F.when(f.is_null, True).when(ok, cond(f.number)).otherwise(False)


def check_string(f: Field, cond: Cond) -> Column:
    return F.when(f.is_null, True).when(f.is_kind("string"), cond(f.string)).otherwise(False)


def check_timestamp(f: Field, cond: Cond) -> Column:
    ts = f.timestamp
    return F.when(f.is_null, True).when(ts.isNotNull(), cond(ts)).otherwise(False)


def check_array(f: Field, cond: Cond) -> Column:
    return F.when(f.is_null, True).when(f.is_kind("array"), cond(f.array)).otherwise(False)
