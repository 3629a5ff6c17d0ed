"""What reading `payload` as a VARIANT costs the stream's envelope parse, side by side with the string read it
replaced (a JSON string that looks like an object passed that one).

    .venv/bin/python bench/envelope.py [--events 300000] [--repeats 5]

Both variants parse the same gateway-shaped records (`_stream_data.dataset`: order events, ~7% breaking rules,
~1% duplicates) with the envelope's other fields, then give what the stream needs of the payload: its JSON text
(for the tables), the object check (`envelope.payload`), and a parsed VARIANT from which the rules read 12
fields. `text`: `payload` read as a string (the raw object text), then `try_parse_json` of it (what the rules
engine did). `variant`: `payload` read as a VARIANT in the same `from_json` (what `parse_events` does now), its
text by `to_json`. One warm-up round each, then `--repeats` alternating rounds on the cached input; medians.
Progress on stderr; the last stdout line is one JSON object.
"""

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from pyspark.sql import Column, DataFrame  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from bench._stream_data import dataset  # noqa: E402
from lake.session import build_session  # noqa: E402
from weir.stack.jars import fetch  # noqa: E402
from weir.stack.paths import Home  # noqa: E402

FIELDS = ["order_id", "customer_id", "email", "amount", "subtotal", "tax", "currency", "country", "status"]
FIELDS += ["channel", "created_at", "quantity"]
OTHERS = "event_id string, event_type string, schema_version long, occurred_at string, source string, key string"
OTHERS += ", tenant string, received_at string, _corrupt_record string"
OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt_record"}


def _read(parsed: DataFrame, text: Column, variant: Column) -> DataFrame:
    fields = [F.try_variant_get(variant, f"$.{name}", "string").alias(name) for name in FIELDS]
    out = parsed.select(text.alias("t"), *fields)
    return out.agg(
        F.count(F.lit(1)),
        F.sum(F.length("t")),
        F.sum(F.col("t").startswith("{").cast("int")),
        *(F.count(name) for name in FIELDS),
    )


def as_text(raw: DataFrame) -> DataFrame:
    parsed = raw.select(F.from_json("raw", "payload string, " + OTHERS, OPTIONS).alias("e")).select("e.*")
    return _read(parsed, F.col("payload"), F.try_parse_json("payload"))


def as_variant(raw: DataFrame) -> DataFrame:
    parsed = raw.select(F.from_json("raw", "payload variant, " + OTHERS, OPTIONS).alias("e")).select("e.*")
    return _read(parsed, F.to_json("payload"), F.col("payload"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    home = Home.from_env().ensure()
    fetch("spark", home)
    spark = build_session(home.jars / "spark", app_name="weir-bench-envelope", driver_memory="2g")
    data = dataset(args.events)
    raw = spark.createDataFrame([(value.decode(),) for _, value in data.records], "raw string").repartition(2)
    raw = raw.cache()
    raw.count()
    variants: dict[str, Callable[[DataFrame], DataFrame]] = {"text": as_text, "variant": as_variant}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    results: dict[str, object] = {}
    for round_ in range(args.repeats + 1):
        for name, build in variants.items():
            started = time.perf_counter()
            row = build(raw).first()
            took = time.perf_counter() - started
            if round_:
                seconds[name].append(took)
            results[name] = list(row or [])
            print(f"round {round_} {name}: {took:.2f} s", file=sys.stderr)
    # The same payloads, read either way: every field found as often, every payload an object.
    text, variant = results["text"], results["variant"]
    assert isinstance(text, list)
    assert isinstance(variant, list)
    assert text[0] == variant[0] == text[2] == variant[2] == len(data.records), (text, variant)
    assert text[3:] == variant[3:], (text, variant)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    spark.stop()
    print(
        json.dumps(
            {
                "bench": "envelope",
                "events": len(data.records),
                "payload_fields_read": len(FIELDS),
                "text_s": round(medians["text"], 3),
                "variant_s": round(medians["variant"], 3),
                "variant_over_text": round(medians["variant"] / medians["text"], 3),
                "text_us_per_event": round(medians["text"] / len(data.records) * 1e6, 2),
                "variant_us_per_event": round(medians["variant"] / len(data.records) * 1e6, 2),
                "machine": f"{platform.machine()} {platform.python_version()}",
            }
        )
    )


if __name__ == "__main__":
    main()
