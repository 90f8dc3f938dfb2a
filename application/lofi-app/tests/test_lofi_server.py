"""The HTTP surface: endpoints, readiness, Prometheus text format, JSON request logs, settings."""

from __future__ import annotations

import http.client
import io
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lofi import scene
from lofi.config import Config, ConfigError, from_env
from lofi.metrics import Metrics
from lofi.server import Artwork, configure_logging, make_server


@dataclass
class App:
    port: int
    artwork: Artwork
    log: io.StringIO

    def request(self, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request(method, path, headers={"User-Agent": "pytest"})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.getvalue().splitlines()]

    def request_logs(self, count: int) -> list[dict]:
        """The request log entries, once `count` exist (a line is written after the response is sent)."""
        deadline = time.monotonic() + 5
        while True:
            entries = [entry for entry in self.log_lines() if entry["msg"] == "request"]
            if len(entries) >= count or time.monotonic() > deadline:
                return entries
            time.sleep(0.01)


@pytest.fixture
def app() -> Iterator[App]:
    log = io.StringIO()
    configure_logging("INFO", stream=log)
    config = Config(port=0, host="127.0.0.1", version="1.2.3-test")
    artwork = Artwork()
    server = make_server(config, artwork, Metrics(config.version))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield App(server.server_address[1], artwork, log)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def gif() -> bytes:
    return scene.render_gif()


def test_not_ready_until_the_artwork_exists(app: App, gif: bytes) -> None:
    assert app.request("/healthz")[0] == 200  # alive while still rendering
    status, headers, _ = app.request("/readyz")
    assert status == 503
    status, headers, _ = app.request("/lofi.gif")
    assert (status, headers["retry-after"]) == (503, "1")
    app.artwork.set(gif, source="test")
    assert app.request("/readyz")[:1] == (200,)


def test_artwork_loads_the_file_built_into_the_image(tmp_path: Path) -> None:
    built = tmp_path / "lofi.gif"
    built.write_bytes(b"GIF89a-prebuilt")
    artwork = Artwork()
    artwork.load(built)
    assert (artwork.ready, artwork.data, artwork.source) == (True, b"GIF89a-prebuilt", str(built))


def test_artwork_is_drawn_when_the_image_has_none(tmp_path: Path, gif: bytes) -> None:
    artwork = Artwork()
    assert not artwork.ready
    artwork.load(tmp_path / "absent.gif")
    assert (artwork.ready, artwork.data, artwork.source) == (True, gif, "rendered")


def test_gif_and_page_are_served(app: App, gif: bytes) -> None:
    app.artwork.set(gif, source="test")
    status, headers, body = app.request("/lofi.gif")
    assert (status, headers["content-type"], body) == (200, "image/gif", gif)
    assert headers["etag"] == f'"{scene.digest(gif)[:32]}"'
    assert int(headers["content-length"]) == len(gif)
    status, headers, body = app.request("/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'<img src="/lofi.gif"' in body and b"version 1.2.3-test" in body
    status, headers, body = app.request("/lofi.gif", method="HEAD")
    assert (status, body, int(headers["content-length"])) == (200, b"", len(gif))


def test_unknown_path_is_404(app: App) -> None:
    assert app.request("/nope?x=1")[0] == 404


def _samples(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    return samples


def test_metrics_count_requests_and_durations(app: App, gif: bytes) -> None:
    app.artwork.set(gif, source="test")
    for _ in range(3):
        app.request("/lofi.gif")
    app.request("/missing")
    app.request("/other-missing")
    # a request is counted after its response is sent (the duration covers the write), and logged right
    # after that: wait for the five log lines so the counters are complete before scraping
    assert len(app.request_logs(5)) == 5
    status, headers, body = app.request("/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    samples = _samples(text)
    assert samples['lofi_build_info{version="1.2.3-test"}'] == 1
    assert samples['lofi_http_requests_total{path="/lofi.gif",method="GET",status="200"}'] == 3
    # unknown paths share one label value, so scanners cannot blow up the series count
    assert samples['lofi_http_requests_total{path="other",method="GET",status="404"}'] == 2
    assert samples['lofi_http_request_duration_seconds_count{path="/lofi.gif"}'] == 3
    assert samples['lofi_http_request_duration_seconds_bucket{path="/lofi.gif",le="+Inf"}'] == 3
    buckets = [
        value
        for name, value in samples.items()
        if name.startswith('lofi_http_request_duration_seconds_bucket{path="/lofi.gif"')
    ]
    assert buckets == sorted(buckets), "histogram buckets are cumulative"
    assert "# TYPE lofi_http_request_duration_seconds histogram" in text
    assert "# TYPE lofi_http_requests_total counter" in text
    # every sample line is valid exposition syntax
    sample_line = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_]+="[^"]*",?)*\})? [0-9.e+-]+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample_line.match(line), line


def test_one_json_log_object_per_request(app: App, gif: bytes) -> None:
    app.artwork.set(gif, source="test")
    app.request("/lofi.gif")
    app.request("/healthz")
    app.request("/nope")
    requests = app.request_logs(3)
    assert [(r["path"], r["status"]) for r in requests] == [("/lofi.gif", 200), ("/healthz", 200), ("/nope", 404)]
    first = requests[0]
    assert first["method"] == "GET" and first["level"] == "info" and first["user_agent"] == "pytest"
    assert first["bytes"] == len(gif) and first["duration_ms"] >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", first["ts"])


def test_log_level_filters(gif: bytes) -> None:
    log = io.StringIO()
    configure_logging("WARNING", stream=log)
    artwork = Artwork()
    artwork.load(Path("/nonexistent/lofi.gif"))
    assert log.getvalue() == ""


def test_settings_come_from_the_environment() -> None:
    config = from_env({"PORT": "9000", "LOG_LEVEL": "debug", "APP_VERSION": "abc123", "LOFI_GIF_PATH": "/x.gif"})
    assert (config.port, config.log_level, config.version, str(config.gif_path)) == (9000, "DEBUG", "abc123", "/x.gif")
    defaults = from_env({})
    assert (defaults.port, defaults.log_level, defaults.version) == (8080, "INFO", "dev")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be an integer between 1 and 65535, got 'http'"),
        ({"PORT": "70000"}, "PORT must be an integer"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, got 'loud'"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_env(env)
