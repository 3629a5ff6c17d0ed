"""Python implementations of `quality.rules.numbers`."""
