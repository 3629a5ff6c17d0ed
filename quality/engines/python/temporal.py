"""Python implementations of `quality.rules.temporal`."""
