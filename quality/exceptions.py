"""Errors raised by the quality package."""


class QualityError(Exception):
    """Base class for every error the quality package raises."""


class ContractError(QualityError):
    """A contract file is unreadable or invalid; the message names the file, the line and what is wrong."""


class DuplicateRuleError(QualityError):
    """A rule type, rule implementation or rule id was registered twice."""


class UnknownRuleError(QualityError):
    """A contract names a rule type that the catalog does not have."""


class UnsupportedRuleError(QualityError):
    """An engine was asked to evaluate a rule type it does not implement (for example, a custom SQL
    expression in the pure-Python engine)."""


class RuleFailedError(QualityError):
    """A rule of severity `fail` was broken: the job must stop. Names the rule and the event."""
