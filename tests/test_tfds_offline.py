"""Without a route to a dataset's download server, loading or preparing an unprepared tfds
dataset fails within seconds with what to do, instead of minutes of download retries; a slow
server still works. Servers here are on loopback: one that refuses, one that never answers, one
that answers late."""

import http.server
import socket
import threading
import time

import pytest
import tensorflow_datasets as tfds

from ttur_tf.data.images import load_image_data
from ttur_tf.data.tfds_sources import check_download_servers, prepare_tfds


@pytest.fixture
def probing(monkeypatch, tmp_path):
    """The probe on (conftest turns it off for mock data), and an empty data directory."""
    monkeypatch.delenv("TTUR_SKIP_DOWNLOAD_PROBE")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tensorflow_datasets"))


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once it is closed


def with_urls(monkeypatch, name, urls):
    monkeypatch.setattr(tfds.builder_cls(name), "url_infos", {url: None for url in urls})
    return tfds.builder(name)


def test_an_unreachable_server_fails_a_cifar10_training_source_at_once(probing, monkeypatch):
    url = f"http://127.0.0.1:{closed_port()}/cifar-10-binary.tar.gz"
    with_urls(monkeypatch, "cifar10", [url])
    started = time.monotonic()
    with pytest.raises(ValueError) as refused:
        load_image_data("cifar10")
    assert time.monotonic() - started < 10
    message = str(refused.value)
    assert "'cifar10' is not prepared" in message and "cannot be reached from here" in message
    assert "TFDS_DATA_DIR=DIR python scripts/prepare_data.py --dataset=tfds:cifar10" in message


def test_preparing_fails_at_once_too(probing, monkeypatch):
    with_urls(monkeypatch, "cifar10", [f"http://127.0.0.1:{closed_port()}/data.tar.gz"])
    with pytest.raises(ValueError, match="cannot be reached from here"):
        prepare_tfds("cifar10")


def test_a_server_that_never_answers_is_given_up_after_the_probe_time(probing, monkeypatch):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections, never answers
    try:
        builder = with_urls(monkeypatch, "cifar10",
                            [f"http://127.0.0.1:{silent.getsockname()[1]}/data.tar.gz"])
        started = time.monotonic()
        with pytest.raises(ValueError, match=r"\(no answer within 1 s\)|timed out"):
            check_download_servers("cifar10", builder, seconds=1)
        assert time.monotonic() - started < 5
    finally:
        silent.close()


class SlowHandler(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        time.sleep(1.5)
        self.send_response(405)  # a server that refuses HEAD still counts as reachable
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_slow_server_is_reachable(probing, monkeypatch):
    server = http.server.HTTPServer(("127.0.0.1", 0), SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        builder = with_urls(monkeypatch, "cifar10",
                            [f"http://127.0.0.1:{server.server_port}/data.tar.gz"])
        check_download_servers("cifar10", builder, seconds=5)
    finally:
        server.shutdown()
        server.server_close()
