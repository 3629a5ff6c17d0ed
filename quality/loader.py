"""Load and validate contract files. A broken file is a `ContractError` naming the file, the line and what is
wrong, never a stack trace."""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from quality.contract import (
    DEFAULT_EVENT_TYPE,
    CompiledContract,
    CompiledRule,
    Contract,
    RuleEntry,
    compile_rule,
    schema_rules,
)
from quality.exceptions import ContractError, DuplicateRuleError, QualityError
from quality.registry import Registry
from quality.rules import CATALOG
from quality.rules.base import RuleKind

# A rule param that names a file (`in_reference`'s `file`): in a contract file, relative to that file's directory.
FILE_PARAM = "file"

Path_ = tuple[str | int, ...]


def _scalar(node: yaml.Node) -> Any:
    """A scalar node's value, typed as yaml.safe_load would type it."""
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _to_python(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                raise ContractError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
            out[key] = _to_python(value_node, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _line(lines: dict[Path_, int], loc: Iterable[Any]) -> int:
    path: Path_ = ()
    best = lines.get((), 1)
    for part in loc:
        path = (*path, part)
        if path in lines:
            best = lines[path]
    return best


def _where(loc: Iterable[Any]) -> str:
    return ".".join(str(p) for p in loc)


def parse_contract(text: str, source: str = "<string>", base_dir: Path | None = None) -> CompiledContract:
    """Parse, validate and compile one contract's YAML text. A relative `file` param (`in_reference`) is resolved
    against `base_dir` (`load_contract` passes the contract file's directory), else the current directory."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContractError(f"{source}{line}: not valid YAML: {problem}") from None
    if node is None:
        raise ContractError(f"{source}: the file is empty")
    lines: dict[Path_, int] = {}
    try:
        data = _to_python(node, (), lines)
    except ContractError as exc:
        raise ContractError(f"{source}:{str(exc).removeprefix('line ')}") from None
    if not isinstance(data, dict):
        raise ContractError(f"{source}:1: a contract is a mapping (event_type:, fields:, rules:, …)")
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{source}:{_line(lines, e['loc'])}: {_where(e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        ]
        raise ContractError("\n".join(problems)) from None
    return _compile(contract, lines, source, base_dir)


def _anchored(entry: RuleEntry, base_dir: Path | None) -> RuleEntry:
    """`entry` with a relative `file` param made relative to `base_dir` (the rule's own validation reads it)."""
    file = entry.params.get(FILE_PARAM)
    if base_dir is None or not isinstance(file, str) or not file or Path(file).is_absolute():
        return entry
    if entry.rule not in CATALOG or FILE_PARAM not in CATALOG.get(entry.rule).params.model_fields:
        return entry
    return entry.model_copy(update={"params": {**entry.params, FILE_PARAM: str(base_dir / file)}})


def _compile(contract: Contract, lines: dict[Path_, int], source: str, base_dir: Path | None) -> CompiledContract:
    ids: Registry[str] = Registry("rule id")
    compiled: dict[RuleKind, list[CompiledRule]] = {RuleKind.ROW: [], RuleKind.DATASET: []}
    try:
        derived = schema_rules(contract)
    except (QualityError, ValueError, ValidationError) as exc:
        raise ContractError(f"{source}:{_line(lines, ('fields',))}: fields: {exc}") from None
    for rule in derived:
        ids.register(rule.id, rule.id)
        compiled[RuleKind.ROW].append(rule)
    for section, kind in (("rules", RuleKind.ROW), ("dataset_rules", RuleKind.DATASET)):
        for i, entry in enumerate(getattr(contract, section)):
            loc: Path_ = (section, i)
            try:
                ids.register(entry.id, entry.id)
            except DuplicateRuleError:
                raise ContractError(
                    f"{source}:{_line(lines, (*loc, 'id'))}: {section}.{i}.id: duplicate rule id {entry.id!r}"
                ) from None
            try:
                compiled[kind].append(compile_rule(_anchored(entry, base_dir), kind))
            except ValidationError as exc:
                problems = [
                    f"{source}:{_line(lines, (*loc, 'params', *e['loc']))}: {section}.{i} ({entry.rule}): "
                    f"params.{_where(e['loc'])}: {e['msg']}"
                    for e in exc.errors(include_url=False)
                ]
                raise ContractError("\n".join(problems)) from None
            except (QualityError, ValueError) as exc:
                raise ContractError(f"{source}:{_line(lines, loc)}: {section}.{i} ({entry.rule}): {exc}") from None
    return CompiledContract(
        event_type=contract.event_type,
        schema_versions=tuple(contract.schema_versions),
        edge_validation=contract.edge_validation,
        row_rules=tuple(compiled[RuleKind.ROW]),
        dataset_rules=tuple(compiled[RuleKind.DATASET]),
        source=source,
    )


def load_contract(path: Path) -> CompiledContract:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path}: cannot read: {exc}") from None
    contract = parse_contract(text, str(path), base_dir=path.parent.absolute())
    if path.stem != contract.event_type:
        raise ContractError(
            f"{path}:1: the file of event type {contract.event_type!r} must be named {contract.event_type}.yaml"
        )
    return contract


def load_contracts(directory: Path) -> dict[str, CompiledContract]:
    """Every `*.yaml` in `directory`, by event type (the default contract under `_default`). All files are
    checked; the error lists every broken one."""
    if not directory.is_dir():
        raise ContractError(f"{directory}: no such contracts directory")
    contracts: dict[str, CompiledContract] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            contract = load_contract(path)
        except ContractError as exc:
            problems.append(str(exc))
            continue
        contracts[contract.event_type] = contract
    if problems:
        raise ContractError("\n".join(problems))
    return contracts


def contract_for(contracts: dict[str, CompiledContract], event_type: str) -> CompiledContract | None:
    return contracts.get(event_type) or contracts.get(DEFAULT_EVENT_TYPE)
