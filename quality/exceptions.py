"""Errors raised by the quality package."""


class QualityError(Exception):
    """Base class for every error the quality package raises."""


class ContractError(QualityError):
    """A contract file is unreadable or invalid; the message names the file and what is wrong."""
