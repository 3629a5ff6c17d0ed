"""`weir`: one command line over the packages' entry points and the local stack."""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway.exceptions import ConfigError
from ingest.exceptions import IngestError
from quality.exceptions import QualityError
from streaming.exceptions import StreamingError
from weir.exceptions import WeirError
from weir.stack.paths import REPO_ROOT


def _up(_: argparse.Namespace) -> int:
    from weir.stack.local import Stack

    Stack.from_env().up()
    return 0


def _down(_: argparse.Namespace) -> int:
    from weir.stack.local import Stack

    Stack.from_env().down()
    return 0


def _status(args: argparse.Namespace) -> int:
    from weir.stack.local import Stack

    status = Stack.from_env().status()
    if args.json:
        print(json.dumps(status))
    else:
        for name, value in status.items():
            print(f"{name:<16} {value}")
    return 0


def _demo(_: argparse.Namespace) -> int:
    from weir import demo

    return demo.run()


def _gateway(args: argparse.Namespace) -> int:
    from gateway.main import run

    run(host=args.host, port=args.port, workers=args.workers)
    return 0


def _stream(args: argparse.Namespace) -> int:
    from streaming.runner import run

    return run(available_now=args.available_now)


def _jars(_: argparse.Namespace) -> int:
    from weir.stack import jars
    from weir.stack.paths import Home

    home = Home.from_env().ensure()
    for name, fetched in jars.fetch_all(home).items():
        print(f"{name:<6} {home.jars / name} ({'fetched' if fetched else 'cached'})")
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

    from quality.suggest import suggest_contract
    from streaming.session import build_session
    from streaming.settings import get_settings

    settings = get_settings()
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="weir", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")

    sub.add_parser("up", help="start the local stack (Kafka, gateway, streaming job)").set_defaults(fn=_up)
    sub.add_parser("down", help="stop everything `weir up` started").set_defaults(fn=_down)
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
    p.set_defaults(fn=_stream)
    sub.add_parser("jars", help="fetch the JVM jars with Maven into $WEIR_HOME/jars (cached)").set_defaults(fn=_jars)
    topics = sub.add_parser("topics", help="Kafka topics").add_subparsers(dest="topics_cmd", required=True)
    p = topics.add_parser("create", help="create Weir's topics (idempotent)")
    p.add_argument("--bootstrap", default=None, help="default: WEIR_KAFKA_BOOTSTRAP or the local broker")
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--replication-factor", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the cluster")
    p.set_defaults(fn=_topics_create)

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
    except (WeirError, IngestError, ConfigError, StreamingError, QualityError) as exc:
        print(f"weir {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
