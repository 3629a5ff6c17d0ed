"""Spark implementations of `quality.rules.strings`."""
