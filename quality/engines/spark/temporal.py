"""Spark implementations of `quality.rules.temporal`."""
