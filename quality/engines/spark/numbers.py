"""Spark implementations of `quality.rules.numbers`."""
