"""The two lanes of a micro-batch, and how the stream finds first copies without reading the tables.

Each micro-batch reaches `foreachBatch` as one DataFrame of two lanes (column `LANE`):
- `RECEIVED`: every record as bronze keeps it (`lake.transforms.to_bronze`), duplicates included;
- `ROUTED`: the first copy of each `record_id`, parsed and checked by its contract (`lake.routing.route`), with
  `is_first` true.

`state_lanes` builds them on the streaming DataFrame. The first copies come from Spark's streaming
deduplication state (`dropDuplicatesWithinWatermark` on `record_id`, RocksDB, kept in the checkpoint), whose
event time is the micro-batch's timestamp (`batch_ts`, recorded in the offset log): a key is kept for at least
`window_s` of the stream's clock after its first copy, so a copy received within the window is dropped there,
in a replayed batch exactly as in the first run, whatever the size of the tables. The watermark delay is half
the window: Spark evicts a key only once the watermark (the newest batch timestamp minus the delay) passes the
key's first timestamp plus the delay. Rows are never late for it: batch timestamps only grow. The two lanes read
the Kafka source twice (Spark shares the offsets, not the rows); the rules run once, on the routed lane.

`batch_lanes` builds the same two lanes from a batch of routed rows with `is_first` (`lake.transforms.mark_first`):
the write path of a static batch (tests, seeding, the `table` mode's replays).
"""

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lake.transforms import to_bronze

LANE = "_lane"
RECEIVED, ROUTED = "received", "routed"
# How many times the `state` mode's plan reads the Kafka source per batch (one per lane): Spark's progress
# reports count each read's rows.
SOURCE_READS = 2


def batch_timestamp() -> Column:
    """The micro-batch's timestamp as a column of Kafka source rows: `current_timestamp()`, which Spark fixes per
    micro-batch and keeps in the offset log (a replayed batch sees the same instant, so time rules give the same
    verdicts and the deduplication drops the same copies).

    Written so that Spark's code generator never sees it as a constant. Spark turns `current_timestamp()` into a
    TIMESTAMP literal per batch, constant folding carries it into every rule that reads it, and a TIMESTAMP
    literal is inlined into the generated Java source: each batch's plan was new code, compiled again by Janino
    (~0.7 s for the 50-rule stage) and run cold by the JIT. Here the instant is folded to a STRING literal (which
    generated code reads from its references, not its source) and turned back into the timestamp through the
    row's `topic` (a Kafka topic name has no `|`), which the optimizer cannot fold: the same code for every
    batch, one cheap parse per row. docs/performance.md, issue #12, has what it gained: 2x on static batches of
    parse and rules, ~10% on the stream's 20,000-event batches, nothing measurable on 100,000-event ones."""
    micros = F.unix_micros(F.current_timestamp()).cast("string")
    opaque = F.substring_index(F.concat(micros, F.lit("|"), F.col("topic")), "|", 1)
    return F.timestamp_micros(opaque.cast("bigint"))


def batch_lanes(marked: DataFrame) -> DataFrame:
    """Routed rows of a static batch, `is_first` set (`mark_first`) -> the two lanes."""
    received = to_bronze(marked).withColumn(LANE, F.lit(RECEIVED))
    routed = marked.where(F.col("is_first")).withColumn(LANE, F.lit(ROUTED))
    return received.unionByName(routed, allowMissingColumns=True)


def first_copies(parsed: DataFrame, window_s: int) -> DataFrame:
    """The first copy of each `record_id` in a stream of parsed records, by streaming state: a later copy whose
    batch timestamp is within `window_s` of the first's is dropped (see the module docstring)."""
    delay_s = max(1, window_s // 2)
    return parsed.withWatermark("batch_ts", f"{delay_s} seconds").dropDuplicatesWithinWatermark(["record_id"])


def state_lanes(parsed: DataFrame, routed_firsts: DataFrame) -> DataFrame:
    """The streaming DataFrame of the two lanes: every record of `parsed` (for bronze) and `routed_firsts`
    (`route(first_copies(parsed, ...))`), the one that carries the rules' verdicts."""
    received = to_bronze(parsed).withColumn(LANE, F.lit(RECEIVED))
    routed = routed_firsts.withColumn("is_first", F.lit(True)).withColumn(LANE, F.lit(ROUTED))
    return received.unionByName(routed, allowMissingColumns=True)
