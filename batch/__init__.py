"""Weir's batch jobs over the Delta tables: nightly compaction, backfills over date ranges, and full-table
quality sweeps. They reuse `streaming`'s pure transforms' counterparts through `quality` and never import
`gateway` or `streaming`. No job exists yet: they arrive with the batch issues."""
