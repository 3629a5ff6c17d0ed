"""Python implementations of `quality.rules.structure`."""
