"""Spark implementations of `quality.rules.formats`."""
