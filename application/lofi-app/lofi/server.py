"""HTTP server: the page, the GIF, health and readiness probes, Prometheus metrics, JSON logs."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from lofi import scene
from lofi.config import Config
from lofi.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from lofi.metrics import Metrics

LOGGER = logging.getLogger("lofi")
KNOWN_PATHS = ("/", "/lofi.gif", "/healthz", "/readyz", "/metrics")
TEXT = "text/plain; charset=utf-8"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lofi</title>
<style>
body {{ margin: 0; min-height: 100vh; display: grid; place-items: center; background: #0b0e1a; color: #9fb3e0;
  font: 14px/1.4 monospace; }}
img {{ width: min(90vw, 768px); image-rendering: pixelated; border: 4px solid #3b2a22; }}
</style>
</head>
<body>
<main>
<img src="/lofi.gif" alt="Pixel-art animation: rain on a night window, a desk lamp and a steaming mug">
<p>rain, lamp, tea &middot; version {version}</p>
</main>
</body>
</html>
"""


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, message and any `fields` passed in `extra`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"), sort_keys=False)


def configure_logging(level: str, stream: object = None) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter())
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(level)
    LOGGER.propagate = False


class Artwork:
    """The GIF bytes; ready once loaded from the image (built at build time) or rendered."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self.data = b""
        self.etag = ""
        self.source = ""

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def set(self, data: bytes, source: str) -> None:
        self.data = data
        self.etag = f'"{scene.digest(data)[:32]}"'
        self.source = source
        self._ready.set()

    def load(self, path: Path) -> None:
        """Use the GIF rendered at build time if the image has one, else draw it now."""
        started = time.monotonic()
        if path.is_file():
            self.set(path.read_bytes(), source=str(path))
        else:
            self.set(scene.render_gif(), source="rendered")
        LOGGER.info(
            "artwork ready",
            extra={"fields": {"source": self.source, "bytes": len(self.data), "seconds": time.monotonic() - started}},
        )

    def wait(self, timeout: float) -> bool:
        return self._ready.wait(timeout)


class Handler(BaseHTTPRequestHandler):
    server_version = "lofi"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    config: ClassVar[Config]
    artwork: ClassVar[Artwork]
    metrics: ClassVar[Metrics]

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _serve(self, body: bool) -> None:
        started = time.monotonic()
        path = self.path.split("?", 1)[0]
        status, content_type, payload, headers = self._route(path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(payload)
        elapsed = time.monotonic() - started
        label = path if path in KNOWN_PATHS else "other"  # bounded label values
        self.metrics.observe(label, self.command, status, elapsed)
        LOGGER.info(
            "request",
            extra={
                "fields": {
                    "method": self.command,
                    "path": path,
                    "status": status,
                    "bytes": len(payload) if body else 0,
                    "duration_ms": round(elapsed * 1000, 3),
                    "remote": self.client_address[0],
                    "user_agent": self.headers.get("User-Agent", ""),
                }
            },
        )

    def _route(self, path: str) -> tuple[int, str, bytes, dict[str, str]]:
        routes = {
            "/healthz": self._healthz,
            "/readyz": self._readyz,
            "/metrics": self._metrics,
            "/": self._page,
            "/lofi.gif": self._gif,
        }
        return routes.get(path, self._not_found)()

    def _healthz(self) -> tuple[int, str, bytes, dict[str, str]]:
        return HTTPStatus.OK, TEXT, b"ok\n", {}

    def _readyz(self) -> tuple[int, str, bytes, dict[str, str]]:
        if self.artwork.ready:
            return HTTPStatus.OK, TEXT, b"ready\n", {}
        return HTTPStatus.SERVICE_UNAVAILABLE, TEXT, b"rendering\n", {}

    def _metrics(self) -> tuple[int, str, bytes, dict[str, str]]:
        return HTTPStatus.OK, METRICS_CONTENT_TYPE, self.metrics.render().encode(), {}

    def _page(self) -> tuple[int, str, bytes, dict[str, str]]:
        if not self.artwork.ready:
            return HTTPStatus.SERVICE_UNAVAILABLE, TEXT, b"rendering\n", {"Retry-After": "1"}
        page = PAGE.format(version=self.config.version).encode()
        return HTTPStatus.OK, "text/html; charset=utf-8", page, {}

    def _gif(self) -> tuple[int, str, bytes, dict[str, str]]:
        if not self.artwork.ready:
            return HTTPStatus.SERVICE_UNAVAILABLE, TEXT, b"rendering\n", {"Retry-After": "1"}
        headers = {"Cache-Control": "public, max-age=3600", "ETag": self.artwork.etag}
        return HTTPStatus.OK, "image/gif", self.artwork.data, headers

    def _not_found(self) -> tuple[int, str, bytes, dict[str, str]]:
        return HTTPStatus.NOT_FOUND, TEXT, b"not found\n", {}

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr access log: requests are logged as JSON in _serve."""


def make_server(config: Config, artwork: Artwork, metrics: Metrics) -> ThreadingHTTPServer:
    handler = type("LofiHandler", (Handler,), {"config": config, "artwork": artwork, "metrics": metrics})
    server = ThreadingHTTPServer((config.host, config.port), handler)
    server.daemon_threads = True
    return server
