"""`weir`: one command line over the packages' entry points and the local stack."""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from batch.exceptions import BatchError
from gateway.exceptions import ConfigError
from ingest.exceptions import IngestError
from ingest.topics import DQ_FAILURES_TOPIC
from quality.exceptions import QualityError
from streaming.exceptions import StreamingError
from weir.commands.batch import add_parsers as add_batch_parsers
from weir.exceptions import WeirError
from weir.stack.paths import REPO_ROOT

if TYPE_CHECKING:
    from ingest.failures import FailureRecord


def _up(args: argparse.Namespace) -> int:
    from weir.stack.local import Stack

    Stack.from_env().up(airflow=args.airflow)
    return 0


def _down(_: argparse.Namespace) -> int:
    from weir.stack.local import Stack

    Stack.from_env().down()
    return 0


def _print_status(status: dict[str, str], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(status))
    else:
        for name, value in status.items():
            print(f"{name:<22} {value}")


def _status(args: argparse.Namespace) -> int:
    from weir.stack.local import Stack

    _print_status(Stack.from_env().status(), as_json=args.json)
    return 0


def _airflow_up(_: argparse.Namespace) -> int:
    from weir.stack.local import Stack

    stack = Stack.from_env()
    stack.home.ensure()
    stack.airflow.up(stack.child_env())
    return 0


def _airflow_down(_: argparse.Namespace) -> int:
    from weir.stack.local import Stack

    Stack.from_env().airflow.down()
    return 0


def _airflow_status(args: argparse.Namespace) -> int:
    from weir.stack.local import Stack

    _print_status(Stack.from_env().airflow.status(), as_json=args.json)
    return 0


def _add_airflow_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    airflow = sub.add_parser(
        "airflow", help="a local Airflow 3 with Weir's DAGs (api-server, scheduler, dag-processor)"
    ).add_subparsers(dest="airflow_cmd", required=True)
    airflow.add_parser(
        "up",
        help="start Airflow from .venv-airflow (home $WEIR_HOME/airflow), unpause Weir's DAGs, print the UI's login",
    ).set_defaults(fn=_airflow_up)
    airflow.add_parser("down", help="stop the Airflow that `weir airflow up` started").set_defaults(fn=_airflow_down)
    p = airflow.add_parser("status", help="what of Airflow runs, and where")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(fn=_airflow_status)


def _demo(_: argparse.Namespace) -> int:
    from weir import demo

    return demo.run()


def _share_home() -> None:
    """The services read `WEIR_HOME` (their settings' own default is `.weir` in the current directory): give them
    the CLI's home (`weir.stack.paths.default_home()` unless set), so that `weir gateway`, `weir stream` and
    `weir rules suggest` use the same `.weir` as `weir up` wherever they are started."""
    from weir.stack.paths import Home

    os.environ["WEIR_HOME"] = str(Home.from_env().root)


def _gateway(args: argparse.Namespace) -> int:
    from gateway.main import run

    _share_home()
    run(host=args.host, port=args.port, workers=args.workers)
    return 0


def _stream(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from streaming.runner import run
    from streaming.settings import StreamSettings

    _share_home()
    flags = {
        "trigger_seconds": args.trigger_seconds,
        "max_offsets_per_trigger": args.max_offsets_per_trigger,
        "shuffle_partitions": args.shuffle_partitions,
        "stream_profile": args.profile,
    }
    try:
        settings = StreamSettings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise WeirError(f"bad streaming settings: {problems}") from exc
    return run(settings, available_now=args.available_now)


def _jars(_: argparse.Namespace) -> int:
    from lake.localfs import find_jar
    from weir.stack import jars
    from weir.stack.paths import Home

    home = Home.from_env().ensure()
    for name, fetched in jars.fetch_all(home).items():
        print(f"{name:<6} {home.jars / name} ({'fetched' if fetched else 'cached'})")
    localfs = find_jar(home.jars / "spark")  # built by the Spark folder's fetch above, unless there is no javac
    what = "Weir's local file system classes and format matchers"
    print(f"{'file:':<6} {localfs} ({what})" if localfs else f"file:  {jars.NO_JAVAC}")
    return 0


def _tools(_: argparse.Namespace) -> int:
    from weir.stack import tools

    tools.ensure_all()
    return 0


def _topics_create(args: argparse.Namespace) -> int:
    from ingest.admin import create_topics, wait_for_cluster
    from ingest.topics import default_topics
    from weir.stack.local import Stack

    bootstrap = args.bootstrap or Stack.from_env().bootstrap
    wait_for_cluster(bootstrap, timeout_s=args.timeout)
    specs = default_topics(args.partitions, args.replication_factor)
    for topic, outcome in create_topics(bootstrap, specs).items():
        print(f"{topic:<24} {outcome}")
    return 0


def _failures_tail(args: argparse.Namespace) -> int:
    from ingest.failures import FailureSubscriber
    from weir.stack.local import Stack

    bootstrap = args.bootstrap or Stack.from_env().bootstrap
    subscriber = FailureSubscriber(
        bootstrap,
        topic=args.topic,
        event_types=args.event_type,
        rules=args.rule,
        tenants=args.tenant,
        min_severity=args.severity,
        from_beginning=args.from_beginning,
        on_malformed=lambda exc: print(f"weir failures tail: skipped {exc}", file=sys.stderr),
    )
    try:
        with subscriber:
            start = "the beginning" if args.from_beginning else "now"
            print(f"tailing {args.topic} on {bootstrap} from {start} (Ctrl-C stops)", file=sys.stderr, flush=True)
            for record in subscriber.records(timeout_s=args.timeout, max_records=args.max):
                print(_failure_line(record, as_json=args.json), flush=True)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `weir failures tail | head`: the reader left; no error at exit flushing stdout
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _failure_line(record: "FailureRecord", *, as_json: bool) -> str:
    if as_json:
        return json.dumps(record.as_message(), ensure_ascii=False, separators=(",", ":"))
    rules = "; ".join(f"{r.rule} [{r.severity}] {r.message}" for r in record.failed_rules) or "passes now"
    when = record.detected_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    where = f"{record.event_type or '-'} {record.event_id or '-'} tenant={record.tenant or '-'}"
    if record.table is not None:  # a sweep's dataset rule: no single event
        where = f"{record.table} {record.event_type or '-'}"
    raw = f" raw={record.raw[:80]!r}" if record.raw is not None else ""
    return f"{when} {record.stage:<8} {where}  {rules}{raw}"


def _contracts_dir(arg: str | None) -> Path:
    return Path(arg or os.environ.get("WEIR_CONTRACTS_DIR") or REPO_ROOT / "contracts")


def _rules_list(args: argparse.Namespace) -> int:
    from quality import CATALOG
    from quality.catalog_docs import catalog_markdown

    if args.markdown:
        print(catalog_markdown())
        return 0
    for name, rule in CATALOG.items():
        spark_only = "" if rule.python or rule.kind.value == "dataset" else "  (Spark only)"
        print(f"{name:<26} {rule.kind.value:<8} {rule.family:<20} {rule.summary}{spark_only}")
    print(f"\n{len(CATALOG)} rule types; docs/rules.md has each with its params and an example")
    return 0


def _rules_check(args: argparse.Namespace) -> int:
    from quality import load_contracts

    directory = _contracts_dir(args.directory)
    contracts = load_contracts(directory)
    for event_type, contract in sorted(contracts.items()):
        print(
            f"ok  {contract.source}: {event_type}, {len(contract.row_rules)} row rules, "
            f"{len(contract.dataset_rules)} dataset rules"
        )
    print(f"{len(contracts)} contracts in {directory} are valid")
    return 0


def _rules_suggest(args: argparse.Namespace) -> int:
    from pyspark.sql import functions as F

    from lake.session import build_session
    from quality.suggest import suggest_contract
    from streaming.settings import StreamSettings

    _share_home()
    settings = StreamSettings()
    uri = args.table if "://" in args.table or args.table.startswith("/") else f"{settings.lake}/{args.table}"
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.force:
        raise WeirError(f"{out} exists: pass --force to overwrite it")
    spark = build_session(settings.jars, app_name="weir-rules-suggest", driver_memory=settings.spark_driver_memory)
    try:
        df = spark.read.format("delta").load(uri).where(F.col("event_type") == args.event_type)
        if args.limit:
            df = df.limit(args.limit)
        text = suggest_contract(df, args.event_type)
    finally:
        spark.stop()
    if out is None:
        print(text, end="")
    else:
        out.write_text(text)
        print(f"wrote a draft contract to {out}: review it, then `weir rules check`", file=sys.stderr)
    return 0


def _add_failures_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    failures = sub.add_parser("failures", help="data-quality failures (the DQ-failure topic)").add_subparsers(
        dest="failures_cmd", required=True
    )
    p = failures.add_parser(
        "tail",
        help="print failures as they are published, one line each",
        description="Print DQ failures from the failure topic, one line each (JSON lines with --json). Filters "
        "combine with AND; a filter's values are alternatives. Redelivered duplicates (same event_id) are dropped.",
    )
    p.add_argument("--bootstrap", default=None, help="default: WEIR_KAFKA_BOOTSTRAP or the local broker")
    p.add_argument("--topic", default=DQ_FAILURES_TOPIC, help=f"default: {DQ_FAILURES_TOPIC}")
    p.add_argument(
        "--event-type", action="extend", nargs="+", default=[], metavar="T", help="only these types (`order.*` ok)"
    )
    p.add_argument(
        "--rule",
        action="extend",
        nargs="+",
        default=[],
        metavar="R",
        help="only events that broke one of these rules (`envelope.*` ok)",
    )
    p.add_argument("--tenant", action="extend", nargs="+", default=[], metavar="T", help="only these tenants")
    p.add_argument(
        "--severity", choices=["warn", "quarantine", "fail"], default=None, help="only rules of at least this severity"
    )
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest retained failure, not now")
    p.add_argument("--json", action="store_true", help="one JSON object per line, in the topic's format")
    p.add_argument("--max", type=_positive_int, default=None, metavar="N", help="exit after N failures")
    p.add_argument("--timeout", type=_positive_float, default=None, metavar="S", help="exit after S seconds idle")
    p.set_defaults(fn=_failures_tail)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="weir", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")

    p = sub.add_parser("up", help="start the local stack (Kafka, gateway, streaming job)")
    p.add_argument("--airflow", action="store_true", help="also a real Airflow with Weir's DAGs (`weir airflow up`)")
    p.set_defaults(fn=_up)
    sub.add_parser("down", help="stop everything `weir up` started (Airflow included)").set_defaults(fn=_down)
    p = sub.add_parser("status", help="what runs where")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(fn=_status)
    sub.add_parser("demo", help="start the stack, post demo events, print what happened").set_defaults(fn=_demo)
    p = sub.add_parser("gateway", help="run the HTTP ingest gateway in the foreground")
    p.add_argument("--host", default=None, help="bind address (default WEIR_GATEWAY_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default WEIR_GATEWAY_PORT or 8000)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes, each with its own producer (default WEIR_GATEWAY_WORKERS or 1)",
    )
    p.set_defaults(fn=_gateway)
    p = sub.add_parser("stream", help="run the streaming job in the foreground")
    p.add_argument("--available-now", action="store_true", help="process what is in Kafka now, then exit")
    p.add_argument(
        "--profile",
        choices=["latency", "throughput"],
        default=None,
        help="latency: 0.5 s triggers of at most 20,000 records; throughput: 10 s triggers of up to 1,000,000 "
        "(WEIR_STREAM_PROFILE; an explicit flag or variable wins)",
    )
    p.add_argument("--trigger-seconds", type=float, default=None, help="micro-batch interval (WEIR_TRIGGER_SECONDS, 2)")
    p.add_argument(
        "--max-offsets-per-trigger",
        type=int,
        default=None,
        help="most Kafka records per micro-batch (WEIR_MAX_OFFSETS_PER_TRIGGER, 500000)",
    )
    p.add_argument(
        "--shuffle-partitions", type=int, default=None, help="Spark shuffle partitions (WEIR_SHUFFLE_PARTITIONS, 2)"
    )
    p.set_defaults(fn=_stream)
    sub.add_parser("jars", help="fetch the JVM jars with Maven into $WEIR_HOME/jars (cached)").set_defaults(fn=_jars)
    sub.add_parser(
        "tools", help="find the command-line tools the tests run (promtool), installing what is missing"
    ).set_defaults(fn=_tools)
    topics = sub.add_parser("topics", help="Kafka topics").add_subparsers(dest="topics_cmd", required=True)
    p = topics.add_parser("create", help="create Weir's topics (idempotent)")
    p.add_argument("--bootstrap", default=None, help="default: WEIR_KAFKA_BOOTSTRAP or the local broker")
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--replication-factor", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the cluster")
    p.set_defaults(fn=_topics_create)

    _add_failures_parser(sub)
    _add_airflow_parser(sub)
    add_batch_parsers(sub)

    rules = sub.add_parser("rules", help="the data-quality rule catalog and contracts").add_subparsers(
        dest="rules_cmd", required=True
    )
    p = rules.add_parser("list", help="every rule type")
    p.add_argument("--markdown", action="store_true", help="the catalog as Markdown (docs/rules.md)")
    p.set_defaults(fn=_rules_list)
    p = rules.add_parser("check", help="validate every contract file")
    p.add_argument("directory", nargs="?", default=None, help="default: WEIR_CONTRACTS_DIR or contracts/")
    p.set_defaults(fn=_rules_check)
    p = rules.add_parser("suggest", help="profile a table and draft a contract for review")
    p.add_argument("--table", default="silver/events", help="a table under the lake, or a path/URI")
    p.add_argument("--event-type", required=True)
    p.add_argument("--limit", type=int, default=None, help="profile at most this many events")
    p.add_argument("--out", default=None, help="write the draft here instead of stdout")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    p.set_defaults(fn=_rules_suggest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.fn(args)
    except (WeirError, IngestError, ConfigError, StreamingError, QualityError, BatchError) as exc:
        print(f"weir {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
