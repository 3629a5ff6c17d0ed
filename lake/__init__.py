"""What the stream and the batch jobs share about Weir's Delta tables, below both services: the tables'
names, keys, layout and schemas (`lake.tables`, `lake.schemas`), their creation and the exactly-once write
primitives (`lake.tables`, and a streaming run's appends: `lake.appends`), the Spark session every job uses
(`lake.session`) and its `file:` classes (`lake.localfs`, Java sources in `lake/jvm`), and the pure
`DataFrame -> DataFrame` transforms of records into envelope columns (`lake.transforms`) and of parsed events
into routed rows (`lake.routing`). May use `quality` and `ingest`; never a service, the CLI or orchestration."""
