"""The local stack: JVM jars from Maven Central, a KRaft broker from those jars, and the gateway and
streaming processes, all recorded (pids, logs) under `$WEIR_HOME`."""
