"""Set membership rules, in both engines."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from quality.engines.python import evaluate
from quality.exceptions import ContractError
from quality.rules.sets import SetParams, read_reference
from tests.quality.support import assert_verdicts, one_rule, typed_verdicts

F = "payload.x"
integration = pytest.mark.integration
NULLS = [({}, True), ({"x": None}, True)]


def cases(passing: list[Any], failing: list[Any]) -> list[tuple[Any, bool]]:
    return [({"x": v}, True) for v in passing] + [({"x": v}, False) for v in failing] + NULLS


def python_passes(entry: dict[str, Any], value: Any) -> bool:
    return not evaluate({"payload": {"x": value}}, one_rule(entry))


@integration
def test_in_set_matches_kind_by_kind(spark):
    values = ["paid", "PENDING", "1", "3", "true", 0, 1, 2.5, True]
    entry = {"rule": "in_set", "field": F, "params": {"values": values}}
    passing = ["paid", "PENDING", "1", "3", "true", 0, 0.0, -0.0, 1, 1.0, 2.5, True]
    failing = ["Paid", "pending", "", "paid ", "0", "2.5", "True", 2, 3, 3.0, 2.4999, False]
    failing += [[], {}, ["paid"], {"paid": 1}]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_in_set_case_insensitive(spark):
    entry = {"rule": "in_set", "field": F, "params": {"values": ["Paid", "ÉTÉ", "ß"], "case_sensitive": False}}
    passing = ["paid", "PAID", "pAiD", "été", "ÉTÉ", "ß"]
    failing = ["pai", "ete", "SS", "", 1, True]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_in_set_with_many_values_is_a_hash_lookup_with_the_same_verdicts(spark):
    values = [f"v{i}" for i in range(50)] + list(range(50)) + [0.5]
    entry = {"rule": "in_set", "field": F, "params": {"values": values}}
    passing = ["v0", "v49", 0, -0.0, 49, 49.0, 0.5]
    failing = ["v50", "V1", 50, 0.25, "0", True, False]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_not_in_set(spark):
    entry = {
        "rule": "not_in_set",
        "field": F,
        "params": {"values": ["mailinator.com", 0, False], "case_sensitive": False},
    }
    passing = ["gmail.com", "", "mailinator.co", "0", 1, -1.5, True, "false", [], {}, ["mailinator.com"]]
    failing = ["mailinator.com", "MAILINATOR.COM", 0, 0.0, -0.0, False]
    assert_verdicts(spark, entry, cases(passing, failing))


@pytest.fixture
def reference_file(tmp_path: Path) -> Path:
    path = tmp_path / "warehouses.txt"
    path.write_text(
        "\ufeff# warehouse codes\nAMS1\n\n  FRA2  \r\nZürich\n#LHR1\nMAD1 # not a comment\n", encoding="utf-8"
    )
    return path


@integration
def test_in_reference_file(spark, reference_file):
    entry = {"rule": "in_reference", "field": F, "params": {"file": str(reference_file)}}
    passing = ["AMS1", "FRA2", "Zürich", "MAD1 # not a comment"]
    failing = ["ams1", " AMS1", "LHR1", "#LHR1", "# warehouse codes", "", "MAD1", 1, True, ["AMS1"], {}]
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_in_reference_inline_values_case_insensitive(spark):
    entry = {"rule": "in_reference", "field": F, "params": {"values": ["AMS1", "Fra2"], "case_sensitive": False}}
    assert_verdicts(spark, entry, cases(["ams1", "AMS1", "FRA2", "fra2"], ["AMS", "LHR1", "", 1]))


def test_in_reference_resolves_a_relative_file_against_the_current_directory(reference_file, monkeypatch):
    monkeypatch.chdir(reference_file.parent)
    entry = {"rule": "in_reference", "field": F, "params": {"file": reference_file.name}}
    assert one_rule(entry)[0].params.file == str(reference_file)
    assert python_passes(entry, "AMS1")
    assert not python_passes(entry, "BER1")


def test_a_reference_file_is_read_once_per_process(tmp_path):
    path = tmp_path / "codes.txt"
    path.write_text("A\nB\n", encoding="utf-8")
    entry = {"rule": "in_reference", "field": F, "params": {"file": str(path)}}
    assert python_passes(entry, "B")
    path.write_text("A\n", encoding="utf-8")  # not seen: the first read is cached
    assert python_passes(entry, "B")
    assert read_reference(str(path)) == frozenset({"A", "B"})


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"file": "no/such/file.txt"}, "does not exist"),
        ({"file": "codes.txt", "values": ["A"]}, "exactly one of `file` and `values`"),
        ({}, "exactly one of `file` and `values`"),
        ({"values": []}, "at least 1 item"),
        ({"values": [1]}, "valid string"),
        ({"file": "empty.txt"}, "has no value"),
        ({"file": "latin1.txt"}, "cannot read"),
    ],
)
def test_bad_reference_params_are_refused_at_load_time(params, problem, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "codes.txt").write_text("A\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("# nothing\n\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Zürich\n".encode("latin-1"))
    with pytest.raises(ContractError, match=problem):
        one_rule({"rule": "in_reference", "field": F, "params": params})


@pytest.mark.parametrize(
    ("rule", "params", "problem"),
    [
        ("in_set", {"values": []}, "at least 1 item"),
        ("in_set", {}, "Field required"),
        ("in_set", {"values": [None]}, "values.0"),
        ("in_set", {"values": [[1]]}, "values.0"),
        ("not_in_set", {"values": ["a"], "other": 1}, "Extra inputs"),
        ("array_elements_in_set", {"values": [1]}, "valid string"),
        ("array_elements_in_set", {"values": []}, "at least 1 item"),
    ],
)
def test_bad_set_params_are_refused_at_load_time(rule, params, problem):
    with pytest.raises(ContractError, match=problem):
        one_rule({"rule": rule, "field": F, "params": params})


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf"), 10**400])
def test_set_values_must_be_finite_numbers(number):
    with pytest.raises(ValidationError, match="not a finite number"):
        SetParams.model_validate({"values": ["a", number]})


@integration
def test_array_elements_in_set(spark):
    entry = {"rule": "array_elements_in_set", "field": F, "params": {"values": ["gift", "sale"]}}
    passing = [[], ["gift"], ["gift", "sale", "gift"]]
    failing = [
        ["gift", "x"], ["GIFT"], [None], ["gift", None], [1], [True], [["gift"]], [{"a": "gift"}], "gift", {}, 1,
        {"gift": "sale"},
    ]  # fmt: skip
    assert_verdicts(spark, entry, cases(passing, failing))


@integration
def test_array_elements_in_set_case_insensitive_on_a_typed_column(spark):
    entry = {"rule": "array_elements_in_set", "field": "tags", "params": {"values": ["Gift"], "case_sensitive": False}}
    rows = [{"tags": ["gift", "GIFT"]}, {"tags": ["x"]}, {"tags": None}, {"tags": []}, {"tags": ["gift", None]}]
    expected = [True, False, True, True, False]
    assert typed_verdicts(spark, entry, rows, "tags array<string>") == (expected, expected)
