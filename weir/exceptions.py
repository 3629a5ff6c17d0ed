"""Errors raised by the CLI and the local-stack runner; the CLI prints them without a traceback."""


class WeirError(Exception):
    """Base class: a message meant for the person at the terminal."""


class StackError(WeirError):
    """The local stack could not be started, stopped or reached."""


class JarsError(WeirError):
    """The JVM artifacts could not be fetched with Maven."""
