"""`weir compact | dedupe | backfill | replay | import | sweep`: CONTRACT.md's batch commands. Each parses its flags,
runs its job (`batch.<job>.run`, through `batch.entry.run_job`: a session, metrics pushed), and prints the
report as text for a person or, with `--json`, one JSON object on stdout and nothing else there."""

import argparse
import datetime as dt
import json
import os
from collections.abc import Callable
from typing import Any

from weir.exceptions import WeirError

Sub = "argparse._SubParsersAction[argparse.ArgumentParser]"
TABLES = ("bronze/events", "silver/events", "quarantine/events")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _settings() -> Any:
    from pydantic import ValidationError

    from batch.settings import BatchSettings
    from weir.stack.paths import Home

    os.environ["WEIR_HOME"] = str(Home.from_env().root)
    try:
        return BatchSettings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise WeirError(f"bad batch settings: {problems}") from exc


def _check_range(args: argparse.Namespace) -> None:
    lo, hi = getattr(args, "date_from", None), getattr(args, "date_to", None)
    if lo is not None and hi is not None and lo > hi:
        raise WeirError(f"--from {lo} is after --to {hi}")


def _execute(job: str, args: argparse.Namespace, work: Callable[[Any, Any, Any], Any]) -> int:
    from batch.entry import run_job

    _check_range(args)
    settings = _settings()
    report = run_job(job, settings, lambda spark, metrics: work(spark, settings, metrics))
    if args.json:
        print(json.dumps(report.as_json(), default=str))
    else:
        print(report.text())
    code: int = report.exit_code
    return code


def _compact(args: argparse.Namespace) -> int:
    from batch import compact

    return _execute(
        "compact",
        args,
        lambda spark, settings, metrics: compact.run(
            spark,
            settings,
            metrics,
            tables=args.table or None,
            date_from=args.date_from,
            date_to=args.date_to,
            vacuum=args.vacuum,
            retention_hours=args.retention_hours,
            allow_short_retention=args.allow_short_retention,
            dry_run=args.dry_run,
        ),
    )


def _dedupe(args: argparse.Namespace) -> int:
    from batch import dedupe

    return _execute(
        "dedupe", args, lambda spark, settings, metrics: dedupe.run(spark, settings, metrics, dry_run=args.dry_run)
    )


def _backfill(args: argparse.Namespace) -> int:
    from batch import backfill

    return _execute(
        "backfill",
        args,
        lambda spark, settings, metrics: backfill.run(
            spark, settings, metrics, date_from=args.date_from, date_to=args.date_to, event_types=args.event_type
        ),
    )


def _replay(args: argparse.Namespace) -> int:
    from batch import replay

    if not args.rule and not args.event_type:
        raise WeirError("say what to replay: --rule R and/or --event-type T")
    return _execute(
        "replay",
        args,
        lambda spark, settings, metrics: replay.run(
            spark,
            settings,
            metrics,
            rules=args.rule,
            event_types=args.event_type,
            date_from=args.date_from,
            date_to=args.date_to,
        ),
    )


def _import(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from batch import imports

    with tempfile.TemporaryDirectory(prefix="weir-import-") as staging:
        # Every file is checked before a Spark session starts: a malformed one is refused in a moment.
        checked = imports.check(args.paths, args.format, args.tenant, Path(staging))
        return _execute(
            "import",
            args,
            lambda spark, settings, metrics: imports.run(
                spark, settings, metrics, paths=args.paths, fmt=args.format, tenant=args.tenant, checked=checked
            ),
        )


def _sweep(args: argparse.Namespace) -> int:
    from batch import sweep

    return _execute(
        "sweep",
        args,
        lambda spark, settings, metrics: sweep.run(
            spark,
            settings,
            metrics,
            tables=args.table or None,
            event_types=args.event_type,
            date_from=args.date_from,
            date_to=args.date_to,
        ),
    )


def _range(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    p.add_argument("--from", dest="date_from", type=_date, required=required, metavar="D", help="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=_date, required=required, metavar="D", help="YYYY-MM-DD, inclusive")


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object on stdout (CONTRACT.md)")


def add_parsers(sub: Sub) -> None:  # type: ignore[valid-type]
    p = sub.add_parser(  # type: ignore[attr-defined]
        "compact",
        help="compact closed partitions to the target file size; optionally VACUUM",
        description="Bin-packing compaction of closed partitions (those the stream is not writing) of bronze, "
        "silver and quarantine. Safe beside the running stream; a second run compacts nothing.",
    )
    p.add_argument("--table", action="append", choices=TABLES, default=[], help="default: all three")
    _range(p)
    p.add_argument("--vacuum", action="store_true", help="then VACUUM files unreferenced for --retention-hours")
    p.add_argument("--retention-hours", type=float, default=168.0, help="VACUUM retention (default 168 = 7 days)")
    p.add_argument(
        "--allow-short-retention",
        action="store_true",
        help="permit --retention-hours below 168 (readers of older snapshots may then fail)",
    )
    p.add_argument("--dry-run", action="store_true", help="say what would be compacted; change nothing")
    _json(p)
    p.set_defaults(fn=_compact)

    p = sub.add_parser(  # type: ignore[attr-defined]
        "dedupe",
        help="remove later copies of an event from silver and quarantine (received after the stream's window)",
        description="Find every event_id held more than once across silver and quarantine, keep the first copy "
        "received and delete the others. Safe beside the running stream; a second run removes nothing.",
    )
    p.add_argument("--dry-run", action="store_true", help="say what would be removed; change nothing")
    _json(p)
    p.set_defaults(fn=_dedupe)

    p = sub.add_parser(  # type: ignore[attr-defined]
        "backfill",
        help="rebuild silver and quarantine for a date range from bronze with today's contracts",
        description="Re-evaluate every event of those event_dates from bronze with today's contracts and rewrite "
        "each partition of silver and quarantine in one commit; failures are published with stage backfill.",
    )
    _range(p, required=True)
    p.add_argument("--event-type", action="append", default=[], metavar="T", help="only these types")
    _json(p)
    p.set_defaults(fn=_backfill)

    p = sub.add_parser(  # type: ignore[attr-defined]
        "replay",
        help="re-evaluate quarantined events; those that pass now move to silver, exactly once",
    )
    p.add_argument("--rule", action="append", default=[], metavar="R", help="events quarantined by this rule")
    p.add_argument("--event-type", action="append", default=[], metavar="T", help="events of this type")
    _range(p)
    _json(p)
    p.set_defaults(fn=_replay)

    p = sub.add_parser(  # type: ignore[attr-defined]
        "import",
        help="bring historical NDJSON, CSV or Parquet files through the envelope and contracts",
        description="Each file is checked whole before anything is written: a malformed one is refused with its "
        "file and line. Importing a file again writes nothing new.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=["ndjson", "csv", "parquet"], default=None, help="default: from the suffix")
    p.add_argument("--tenant", default="import", help="the tenant stamped on imported events (default: import)")
    _json(p)
    p.set_defaults(fn=_import)

    p = sub.add_parser(  # type: ignore[attr-defined]
        "sweep",
        help="every dataset rule over the tables in one scan each, metric history, reconciliation; exit 1 on fail",
    )
    p.add_argument("--table", action="append", choices=TABLES, default=[], help="default: all")
    p.add_argument("--event-type", action="append", default=[], metavar="T", help="only these types")
    _range(p)
    _json(p)
    p.set_defaults(fn=_sweep)
