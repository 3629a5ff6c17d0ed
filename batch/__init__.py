"""Weir's batch jobs over the Delta tables: compaction (`batch.compact`), backfill and quarantine replay
(`batch.backfill`, `batch.replay`), import of historical files (`batch.imports`) and full-table quality sweeps
with their metric history and the reconciliation ledger (`batch.sweep`). They build on `lake` (tables, layout,
write primitives, the pure transforms the stream applies) and never import `gateway` or `streaming`. Settings
(`batch.settings`), progress on a terminal (`batch.progress`) and pushed metrics (`observability.batch`) are
shared by every job; the `weir` CLI is their entry point."""
