"""Spark implementations of `quality.rules.structure`."""
