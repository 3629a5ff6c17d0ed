"""Python implementations of `quality.rules.sets`."""
