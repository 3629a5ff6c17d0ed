import pytest

from quality import CATALOG
from quality.engines.python.registry import PYTHON_ROW_CHECKS
from quality.engines.spark.registry import SPARK_ROW_CHECKS
from quality.exceptions import DuplicateRuleError, UnknownRuleError
from quality.loader import parse_contract
from quality.registry import Registry
from quality.rules.base import RuleKind


def test_a_registry_refuses_duplicates_and_names_unknowns():
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(DuplicateRuleError, match="'a' is already registered"):
        reg.register("a", 2)
    with pytest.raises(UnknownRuleError, match="unknown thing 'b'"):
        reg.get("b")
    assert list(reg) == ["a"]


def test_every_row_rule_has_a_spark_check_and_a_python_check_unless_declared_spark_only():
    for name, rule in CATALOG.items():
        if rule.kind is not RuleKind.ROW:
            continue
        assert name in SPARK_ROW_CHECKS, name
        assert (name in PYTHON_ROW_CHECKS) == rule.python, name


def test_no_engine_implements_a_rule_the_catalog_does_not_declare():
    assert set(SPARK_ROW_CHECKS) <= set(CATALOG)
    assert set(PYTHON_ROW_CHECKS) <= set(CATALOG)


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_example_is_a_valid_contract_entry(name):
    rule = CATALOG.get(name)
    section = "rules" if rule.kind is RuleKind.ROW else "dataset_rules"
    entry = {"id": "example", **rule.example}
    assert entry["rule"] == name
    import orjson

    contract = parse_contract(orjson.dumps({"event_type": "x.y", section: [entry]}).decode())
    compiled = contract.row_rules if rule.kind is RuleKind.ROW else contract.dataset_rules
    assert compiled[0].message
    assert rule.summary.endswith(".")


def test_every_dataset_rule_has_a_spark_check():
    from quality.engines.spark import SPARK_DATASET_CHECKS

    for name, rule in CATALOG.items():
        if rule.kind is RuleKind.DATASET:
            assert name in SPARK_DATASET_CHECKS, name
    assert set(SPARK_DATASET_CHECKS) <= set(CATALOG)
