"""Every command the README and docs/ show runs as written, as far as can be checked without running it: each
`weir ...` parses with the CLI's own parser, each `make X` is a Makefile target, each `.venv/bin/python -c`
program compiles, and each package name in backticks (`ingest.failures.FailureSubscriber`) still exists.
(tests/e2e/test_readme.py runs the README's "Using it" commands for real.)"""

import argparse
import importlib
import re
import shlex
from pathlib import Path

import pytest

from weir.cli import build_parser
from weir.stack.paths import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
PACKAGES = ("quality", "ingest", "lake", "gateway", "streaming", "weir", "batch", "observability", "orchestration")
WEIR_PREFIX = re.compile(r"^(?:\$ )?(?:\.venv/bin/|python -m |\.venv/bin/python -m )?weir\s+(?=-|[a-z])")
# Placeholders the docs use for a value: what stands in for them when parsing.
PLACEHOLDERS = {
    "N": "2",
    "T": "order.created",
    "<type>": "order.created",
    "DIR": "contracts",
    "<rule>": "envelope.unparseable",
    "R": "amount-positive",
    "D": "2026-11-01",
    "D0": "2026-11-01",
    "D1": "2026-11-02",
    "<table>": "silver/events",
    "PATH...": "history.ndjson",
    "H": "24",
}
STOP = {"|", "||", "&&", ";", ">", ">>", "2>&1", "2>/dev/null"}


def _code(markdown: str) -> list[str]:
    """Lines of fenced blocks, and inline code spans."""
    lines: list[str] = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```$", markdown, flags=re.S | re.M):
        lines += block.splitlines()
    prose = re.sub(r"^```[a-z]*\n.*?^```$", "", markdown, flags=re.S | re.M)
    return lines + re.findall(r"`([^`\n]+)`", prose)


def _weir_commands() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for code in _code(doc.read_text()):
            line = code.strip()
            if WEIR_PREFIX.match(line) and not re.match(r"^weir [a-z]+:", line):  # not an error it prints
                out.append((doc.name, line))
    return out


def _placeholder(token: str) -> str:
    """A placeholder's value, keeping the `[`/`]` of an optional part around it."""
    core = token.strip("[]")
    return token.replace(core, PLACEHOLDERS[core]) if core in PLACEHOLDERS else token


def _argvs(line: str) -> list[list[str]]:
    """The argument lists a doc line stands for: `[X]` is optional (both forms), placeholders get a value."""
    # `(a \\| b)`, a table cell's alternatives: the first stands for both.
    line = re.sub(r"\(([^()|\\]*?)\s*\\?\|[^()]*\)", r"\1", line)
    line = re.sub(r"([\w.-]+)(?:\\?\|[\w.-]+)+", r"\1", line)  # `ndjson\|csv\|parquet`: one of the values
    tokens = shlex.split(WEIR_PREFIX.sub("", line), comments=True)
    cut = next((i for i, t in enumerate(tokens) if t in STOP or t.startswith(">")), len(tokens))
    tokens = [_placeholder(t) for t in tokens[:cut]]
    # `--table T`: T is a table there, not an event type.
    tokens = [
        t.replace(t.strip("[]"), "silver/events") if i and tokens[i - 1] in ("--table", "[--table") else t
        for i, t in enumerate(tokens)
    ]
    text = " ".join(tokens)
    without = re.sub(r"\s*\[[^]]*\]", "", text)
    with_all = re.sub(r"\[([^]]*)\]", r"\1", text)
    return [shlex.split(without), shlex.split(with_all.replace("/T.", "/order.created."))]


def test_the_docs_show_weir_commands():
    commands = _weir_commands()
    assert len(commands) > 20
    assert ("operations.md", "weir stream --available-now") in commands
    assert ("README.md", "weir --help") in commands


@pytest.mark.parametrize(("doc", "line"), _weir_commands())
def test_each_weir_command_in_the_docs_parses(doc, line):
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for argv in _argvs(line):
        if len(argv) == 1 and not argv[0].startswith("-"):  # a command named in prose (`weir backfill`): it must exist
            assert argv[0] in commands, f"{doc}: `{line}` names no weir command"
            continue
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            if exc.code != 0:
                raise AssertionError(f"{doc}: `{line}` does not parse as {argv}") from None


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (REPO_ROOT / "Makefile").read_text(), flags=re.M))


def test_each_make_command_in_the_docs_is_a_target():
    targets = _make_targets()
    missing = []
    for doc in DOCS:
        for line in _code(doc.read_text()):
            for target in re.findall(r"(?:^|[;&|]\s*)make ([a-z][a-z-]*)", line.strip()):
                if target not in targets:
                    missing.append(f"{doc.name}: make {target}")
    assert not missing


def test_each_python_one_liner_in_the_docs_compiles():
    programs = []
    for doc in DOCS:
        text = doc.read_text()
        for block in re.findall(r"^```bash\n(.*?)^```$", text, flags=re.S | re.M):
            for m in re.finditer(r'python -c "((?:[^"\\]|\\.)*)"', block, flags=re.S):
                programs.append((doc.name, m.group(1).replace('\\"', '"')))
    assert len(programs) >= 2  # the README's silver query, operations.md's quarantine query
    for name, program in programs:
        compile(program, f"<{name}>", "exec")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_each_python_name_the_docs_mention_exists():
    stale = []
    pattern = re.compile(rf"\b(?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
    for doc in DOCS:
        for span in re.findall(r"`([^`\n]+)`", doc.read_text()):
            for m in pattern.finditer(span):
                name, before, after = m.group(0), span[: m.start()][-1:], span[m.end() :][:1]
                if re.search(r"\.(py|md|lock|ya?ml|v1)$", name) or "/" in (before, after) or after == "-":
                    continue  # a file (bench/quality.py) or a topic (weir.dq-failures.v1), not a Python name
                if before == ".":
                    continue  # the tail of a longer dotted name: a Java class (io.weir.fs.NioLocalFs)
                if not _resolves(name):
                    stale.append(f"{doc.name}: {name}")
    assert not stale


@pytest.mark.parametrize(
    ("line", "argvs"),
    [
        ("weir status [--json]", [["status"], ["status", "--json"]]),
        ("weir gateway --workers N", [["gateway", "--workers", "2"]] * 2),
        (
            ".venv/bin/weir failures tail --rule 'envelope.*' --json | jq .raw",
            [["failures", "tail", "--rule", "envelope.*", "--json"]] * 2,
        ),
    ],
)
def test_doc_notation_becomes_argument_lists(line, argvs):
    assert _argvs(line) == argvs


def test_a_command_that_does_not_parse_is_caught():
    with pytest.raises(AssertionError, match="does not parse"):
        test_each_weir_command_in_the_docs_parses("x.md", "weir rules check --strict")
    assert Path(__file__).name == "test_doc_commands.py"
