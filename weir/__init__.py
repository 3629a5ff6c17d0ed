"""The `weir` command line: a thin dispatcher over the packages' entry points, plus the local-stack runner
(`weir.stack`: JVM jars, a local KRaft broker, and the gateway and streaming processes under `$WEIR_HOME`).
"""
