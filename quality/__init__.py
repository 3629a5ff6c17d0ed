"""Weir's data-quality layer: event contracts and their rules (declarations), and the engines that
evaluate them (Spark for streams and batch, pure Python for the gateway's edge).

It imports no other Weir package. The rule catalog and engines arrive with issue #3; today the package
holds the contract loader's error types only, so that every other package can already depend on it.
"""
