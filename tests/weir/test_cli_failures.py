"""`weir failures tail` against the session broker: pretty and JSON lines, filters, exits, Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from tests.ingest.test_failures import failure_message, new_topic, produce
from weir.cli import build_parser, main
from weir.stack.paths import REPO_ROOT

pytestmark = pytest.mark.integration


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:
    return new_topic(kafka_bootstrap)


@pytest.fixture
def producer(producer_factory: Callable[..., Producer]) -> Producer:
    return producer_factory()


def tail(bootstrap: str, topic: str, *args: str) -> int:
    return main(["failures", "tail", "--bootstrap", bootstrap, "--topic", topic, *args])


def test_pretty_prints_one_line_per_failure(kafka_bootstrap, topic, producer, capsys):
    first = failure_message(rules=(("amount-positive", "quarantine"), ("currency-known", "warn")), tenant="acme")
    second = failure_message(raw="{oops", event_type=None, rules=(("envelope.unparseable", "fail"),))
    produce(producer, topic, first, second, partition=0)

    assert tail(kafka_bootstrap, topic, "--from-beginning", "--max", "2") == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0] == (
        f"2026-11-25T10:00:00Z stream   order.created {first['event_id']} tenant=acme  "
        "amount-positive [quarantine] amount-positive is broken; currency-known [warn] currency-known is broken"
    )
    assert lines[1].startswith("2026-11-25T10:00:00Z stream   - - tenant=acme  envelope.unparseable [fail]")
    assert lines[1].endswith("raw='{oops'")
    assert f"tailing {topic} on {kafka_bootstrap} from the beginning" in err


def test_json_prints_the_topic_format_one_object_per_line(kafka_bootstrap, topic, producer, capsys):
    messages = [failure_message(), failure_message(raw="}", event_type=None, rules=(("envelope.unparseable", "fail"),))]
    produce(producer, topic, *messages, partition=1)

    assert tail(kafka_bootstrap, topic, "--from-beginning", "--json", "--timeout", "2") == 0
    got = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert got == messages


def test_filters_and_a_malformed_message(kafka_bootstrap, topic, producer, capsys):
    wanted = failure_message(event_type="refund.issued", tenant="globex", rules=(("amount-positive", "fail"),))
    produce(
        producer,
        topic,
        failure_message(tenant="globex", rules=(("amount-positive", "warn"),)),
        b"not json",
        wanted,
        failure_message(event_type="refund.issued", rules=(("amount-positive", "fail"),)),
        partition=0,
    )
    args = ["--from-beginning", "--json", "--timeout", "2", "--severity", "quarantine", "--tenant", "globex"]
    assert tail(kafka_bootstrap, topic, *args, "--event-type", "refund.*", "order.*", "--rule", "amount-*") == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["event_id"] for line in out.splitlines()] == [wanted["event_id"]]
    assert f"skipped {topic}/0@1: not a failure record: Invalid JSON" in err


def test_timeout_ends_an_idle_tail_with_success(kafka_bootstrap, topic, producer, capsys):
    produce(producer, topic, failure_message())  # already there: not "now"
    assert tail(kafka_bootstrap, topic, "--timeout", "1") == 0
    assert capsys.readouterr().out == ""


def test_a_missing_topic_is_an_error_without_a_traceback(kafka_bootstrap, capsys):
    assert tail(kafka_bootstrap, "weir.no-such-topic", "--timeout", "1") == 1
    err = capsys.readouterr().err
    assert "weir failures: topic weir.no-such-topic does not exist" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("bad", [["--severity", "error"], ["--max", "0"], ["--timeout", "-1"], ["--max", "x"]])
def test_bad_arguments_are_usage_errors(bad, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["failures", "tail", *bad])
    assert info.value.code == 2
    assert f"error: argument {bad[0]}" in capsys.readouterr().err


def test_tail_from_now_follows_new_failures_until_ctrl_c(kafka_bootstrap, topic, producer):
    produce(producer, topic, failure_message())  # before the tail starts: not shown
    env = {**os.environ, "WEIR_KAFKA_BOOTSTRAP": kafka_bootstrap}  # the default bootstrap
    proc = subprocess.Popen(
        [sys.executable, "-m", "weir", "failures", "tail", "--topic", topic, "--timeout", "30"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert proc.stdout is not None
        assert f"tailing {topic} on {kafka_bootstrap} from now" in proc.stderr.readline()
        new = failure_message(event_type="order.paid")
        produce(producer, topic, new)
        line = proc.stdout.readline()
        assert f"order.paid {new['event_id']} tenant=acme" in line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
