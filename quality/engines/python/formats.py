"""Python implementations of `quality.rules.formats`."""
