"""Python implementations of `quality.rules.strings`."""
