from ingest.topics import DQ_FAILURES_TOPIC, EVENTS_TOPIC, default_topics


def test_contract_topic_names():
    assert [t.name for t in default_topics()] == [EVENTS_TOPIC, DQ_FAILURES_TOPIC]
    assert EVENTS_TOPIC == "weir.events.v1"
    assert DQ_FAILURES_TOPIC == "weir.dq-failures.v1"


def test_min_insync_replicas_follows_replication():
    assert {t.config["min.insync.replicas"] for t in default_topics(replication_factor=1)} == {"1"}
    assert {t.config["min.insync.replicas"] for t in default_topics(replication_factor=3)} == {"2"}
