"""Rule engines: `spark` (streams and batch, one projection) and `python` (the gateway's edge, unit tests).
Both implement the semantics documented in `quality.rules.base`."""
