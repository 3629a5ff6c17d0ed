"""The `weir` subcommands of the batch jobs (`compact`, `backfill`, `replay`, `import`, `sweep`): argument
parsing and output; the jobs are `batch`'s."""
