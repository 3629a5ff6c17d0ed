"""Rule suggestion: profile real data and draft a contract for a person to review (what Deequ offers and the
others lack). Two Spark jobs at most: one aggregation for every field's profile, one for the small value sets.

For each top-level payload field: its JSON kind (when one kind covers every non-null value), `required` when it
was never null or absent, the observed range of numbers, the observed lengths of strings, the value set when
there are at most `max_set` distinct values, and every format rule of the catalog that all its non-null values
pass.
"""

from dataclasses import dataclass
from typing import Any

import yaml
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from quality.contract import RuleEntry, compile_rule
from quality.engines.spark.registry import SPARK_ROW_CHECKS
from quality.engines.spark.values import Fields
from quality.rules import CATALOG
from quality.rules.base import RuleKind

KINDS = ("string", "integer", "number", "boolean", "array", "object")
FORMAT_RULES = (
    "uuid",
    "email",
    "url",
    "ipv4",
    "ipv6",
    "iso_country",
    "iso_currency",
    "e164_phone",
    "iso_date",
    "is_timestamp",
)


@dataclass(frozen=True)
class FieldProfile:
    name: str
    rows: int
    present: int
    kinds: dict[str, int]
    num_min: float | None
    num_max: float | None
    len_min: int | None
    len_max: int | None
    distinct: int
    formats: list[str]


def _payload_keys(df: DataFrame, limit: int) -> list[str]:
    keys = df.select(F.explode(F.json_object_keys(F.col("payload"))).alias("k")).distinct().limit(limit)
    return sorted(r.k for r in keys.collect())


def _profile_columns(fields: Fields, key: str, i: int) -> dict[str, Column]:
    f = fields(f"payload.{key}")
    cols = {
        f"{i}_present": F.sum((~f.is_null).cast("long")),
        f"{i}_nmin": F.min(f.number),
        f"{i}_nmax": F.max(f.number),
        f"{i}_lmin": F.min(F.length(f.string)),
        f"{i}_lmax": F.max(F.length(f.string)),
        f"{i}_distinct": F.approx_count_distinct(f.string),
    }
    for kind in KINDS:
        cols[f"{i}_k_{kind}"] = F.sum((f.kind == kind).cast("long"))
    for name in FORMAT_RULES:
        if name not in CATALOG or name not in SPARK_ROW_CHECKS:
            continue
        rule = compile_rule(RuleEntry(id="s", rule=name, field=f"payload.{key}"), RuleKind.ROW)
        passes = SPARK_ROW_CHECKS.get(name)(rule.params, fields, rule.field)
        cols[f"{i}_fmt_{name}"] = F.sum(F.when(~f.is_null & (f.kind == "string") & ~passes, 1).otherwise(0))
    return cols


def profile(df: DataFrame, *, max_fields: int = 200) -> list[FieldProfile]:
    """Profile the payload fields of `df` (a `payload` column of JSON text)."""
    keys = _payload_keys(df, max_fields)
    fields = Fields(df)
    aggs: dict[str, Column] = {"rows": F.count(F.lit(1))}
    for i, key in enumerate(keys):
        aggs.update(_profile_columns(fields, key, i))
    prepared = df
    for step in fields.helper_steps():
        prepared = prepared.withColumns(step)
    row = prepared.agg(*[c.alias(n) for n, c in aggs.items()]).first()
    values: dict[str, Any] = row.asDict() if row else {}
    out = []
    for i, key in enumerate(keys):
        kinds = {k: int(values.get(f"{i}_k_{k}") or 0) for k in KINDS}
        strings = kinds["string"]
        formats = [
            name
            for name in FORMAT_RULES
            if f"{i}_fmt_{name}" in values and strings > 0 and int(values[f"{i}_fmt_{name}"] or 0) == 0
        ]
        out.append(
            FieldProfile(
                name=key,
                rows=int(values["rows"]),
                present=int(values.get(f"{i}_present") or 0),
                kinds=kinds,
                num_min=values.get(f"{i}_nmin"),
                num_max=values.get(f"{i}_nmax"),
                len_min=values.get(f"{i}_lmin"),
                len_max=values.get(f"{i}_lmax"),
                distinct=int(values.get(f"{i}_distinct") or 0),
                formats=formats,
            )
        )
    return out


def _value_sets(df: DataFrame, keys: list[str], max_set: int) -> dict[str, list[str]]:
    if not keys:
        return {}
    fields = Fields(df)
    aggs = [F.slice(F.array_sort(F.collect_set(fields(f"payload.{k}").string)), 1, max_set + 1).alias(k) for k in keys]
    prepared = df
    for step in fields.helper_steps():
        prepared = prepared.withColumns(step)
    row = prepared.agg(*aggs).first()
    sets = row.asDict() if row else {}
    return {k: v for k, v in sets.items() if v and len(v) <= max_set}


def _field_type(p: FieldProfile) -> str | None:
    seen = {k: n for k, n in p.kinds.items() if n}
    if len(seen) == 1:
        return next(iter(seen))
    if set(seen) == {"integer", "number"}:
        return "number"
    return None


def suggest_contract(df: DataFrame, event_type: str, *, max_set: int = 20) -> str:
    """A draft contract (YAML text) for `event_type` from the events in `df`."""
    profiles = profile(df)
    small = [p.name for p in profiles if _field_type(p) == "string" and 0 < p.distinct <= max_set * 2]
    sets = _value_sets(df, small, max_set)
    fields: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    for p in profiles:
        ftype = _field_type(p)
        spec: dict[str, Any] = {}
        if ftype:
            spec["type"] = ftype
        if p.present == p.rows and p.rows > 0:
            spec["required"] = True
        spec["description"] = f"seen in {p.present} of {p.rows} events"
        fields[p.name] = spec
        path = f"payload.{p.name}"
        if ftype in ("integer", "number") and p.num_min is not None and p.num_max is not None:
            rules.append(
                {
                    "id": f"{p.name}-range",
                    "rule": "between",
                    "field": path,
                    "params": {"min": p.num_min, "max": p.num_max},
                    "severity": "warn",
                }
            )
        if ftype == "string":
            if p.name in sets:
                rules.append(
                    {
                        "id": f"{p.name}-values",
                        "rule": "in_set",
                        "field": path,
                        "params": {"values": sets[p.name]},
                        "severity": "warn",
                    }
                )
            elif p.formats:
                rules.append({"id": f"{p.name}-format", "rule": p.formats[0], "field": path, "severity": "warn"})
            elif p.len_min is not None and p.len_max is not None and "length_between" in CATALOG:
                rules.append(
                    {
                        "id": f"{p.name}-length",
                        "rule": "length_between",
                        "field": path,
                        "params": {"min": p.len_min, "max": p.len_max},
                        "severity": "warn",
                    }
                )
    contract = {
        "event_type": event_type,
        "description": f"DRAFT suggested by `weir rules suggest` from {profiles[0].rows if profiles else 0} events: "
        "review every rule before use.",
        "schema_versions": [1],
        "fields": fields,
        "rules": [r for r in rules if r["rule"] in CATALOG],
    }
    return yaml.safe_dump(contract, sort_keys=False, allow_unicode=True, width=110)
