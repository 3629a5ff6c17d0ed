"""`weir`: one command line over the packages' entry points and the local stack."""

import argparse
import json
import sys
from collections.abc import Sequence

from gateway.exceptions import ConfigError
from ingest.exceptions import IngestError
from streaming.exceptions import StreamingError
from weir.exceptions import WeirError


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

    run(host=args.host, port=args.port)
    return 0


def _stream(args: argparse.Namespace) -> int:
    from streaming.job import run

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.fn(args)
    except (WeirError, IngestError, ConfigError, StreamingError) as exc:
        print(f"weir {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
