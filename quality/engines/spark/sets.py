"""Spark implementations of `quality.rules.sets`."""
