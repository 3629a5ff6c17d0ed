"""The batch commands' flags as CONTRACT.md writes them, and the bad ones refused before any Spark starts."""

import pytest

from weir.cli import build_parser, main


@pytest.mark.parametrize(
    "argv",
    [
        ["compact", "--table", "silver/events", "--from", "2026-01-01", "--to", "2026-01-31", "--vacuum", "--json"],
        ["compact", "--dry-run"],
        ["backfill", "--from", "2026-11-01", "--to", "2026-11-03", "--event-type", "order.created", "--json"],
        ["replay", "--rule", "amount-in-range", "--from", "2026-11-01", "--json"],
        ["replay", "--event-type", "order.created"],
        ["import", "a.ndjson", "b.csv", "--format", "csv", "--json"],
        ["sweep", "--table", "silver/events", "--event-type", "order.created", "--from", "2026-11-01", "--json"],
    ],
)
def test_contract_md_s_batch_commands_parse(argv):
    args = build_parser().parse_args(argv)
    assert callable(args.fn)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["backfill", "--from", "2026-11-03", "--to", "2026-11-01"], "--from 2026-11-03 is after --to 2026-11-01"),
        (["replay"], "say what to replay: --rule R and/or --event-type T"),
    ],
)
def test_a_bad_range_or_an_empty_replay_is_refused_with_one_clear_line(argv, said, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert said in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["backfill", "--from", "2026-11-01"],
        ["backfill", "--from", "11/01/2026", "--to", "2026-11-02"],
        ["compact", "--table", "gold/events"],
        ["import"],
    ],
)
def test_missing_or_malformed_flags_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    assert "usage: weir" in capsys.readouterr().err
