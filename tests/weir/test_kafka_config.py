import base64

from weir.stack.kafka import new_cluster_id, server_properties


def test_cluster_ids_are_16_byte_uuids_that_never_look_like_an_option():
    for _ in range(2000):
        cluster_id = new_cluster_id()
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_server_properties_are_a_combined_kraft_node_on_loopback(tmp_path):
    props = dict(line.split("=", 1) for line in server_properties(tmp_path, 19092, 19093).splitlines() if "=" in line)
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"] == str(tmp_path / "logs")
