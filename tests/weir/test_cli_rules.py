import subprocess
import sys
from pathlib import Path

from quality import CATALOG
from quality.catalog_docs import catalog_markdown
from weir.stack.paths import REPO_ROOT


def weir(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "weir", *args], capture_output=True, text=True, check=False, cwd=REPO_ROOT, env=env
    )


def test_rules_list_names_every_rule_type():
    out = weir("rules", "list")
    assert out.returncode == 0
    for name in CATALOG:
        assert name in out.stdout
    assert f"{len(CATALOG)} rule types" in out.stdout


def test_docs_rules_md_is_the_generated_catalog():
    assert (REPO_ROOT / "docs" / "rules.md").read_text() == catalog_markdown() + "\n", (
        "docs/rules.md is stale: run `.venv/bin/weir rules list --markdown > docs/rules.md`"
    )


def test_rules_check_accepts_the_repository_contracts():
    out = weir("rules", "check")
    assert out.returncode == 0, out.stderr
    assert "contracts in" in out.stdout


def test_rules_check_reports_a_broken_contract_with_file_and_line(tmp_path: Path):
    (tmp_path / "a.b.yaml").write_text("event_type: a.b\nrules:\n  - id: x\n    rule: nope\n    field: payload.x\n")
    out = weir("rules", "check", str(tmp_path))
    assert out.returncode == 1
    assert f"{tmp_path / 'a.b.yaml'}:3: rules.0 (nope): unknown rule type 'nope'" in out.stderr
    assert "Traceback" not in out.stderr
