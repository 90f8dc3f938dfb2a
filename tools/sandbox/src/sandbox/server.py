"""HTTP(S) plumbing shared by every emulator.

An emulator is an :class:`Emulator` subclass with a ``handle(request) -> Response`` method.
:class:`EmulatorServer` serves it on 127.0.0.1 over TLS and adds, under ``/_sandbox/``:

* ``GET /_sandbox/health`` — liveness;
* ``GET /_sandbox/requests[?since=SEQ]`` / ``DELETE /_sandbox/requests`` — the request log
  (seq, time, method, path, query, status, user agent, duration, fault);
* ``GET|POST|DELETE /_sandbox/faults`` — fault injection: ``{"status": 429, "headers": {...},
  "body": ..., "delay": 2.5, "count": 1, "method": "POST", "path": "^/v2/kubernetes",
  "action": "respond"|"reset"|"delay", "after": false}``; ``count`` null means until deleted;
  ``after: true`` lets the emulator act on the request first and then answers with the fault
  (a 5xx or a dropped connection after the server applied the change);
* ``POST /_sandbox/reset`` — wipe the emulator's state (and the log and faults);
* whatever ``Emulator.admin_routes`` adds (Kubernetes: ``GET /_sandbox/audit``).
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import json
import re
import select
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from sandbox.store import Store

JSON = "application/json"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    raw_path: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def bearer(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON
    # For streams (Kubernetes watch): an iterator of byte chunks sent with chunked encoding.
    stream: Iterable[bytes] | None = None

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


class HTTPError(Exception):
    """Raise from a handler to answer with an emulator-specific error body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


@dataclass
class Context:
    """What an emulator gets from the sandbox process."""

    name: str
    store: Store
    endpoints: dict[str, Any]
    settings: dict[str, Any]
    # The other emulators of this process by name (DigitalOcean registers clusters with the
    # Kubernetes emulator through it). Filled before any request is served.
    peers: dict[str, Emulator] = field(default_factory=dict)


class Emulator:
    """Base class: subclasses implement ``handle`` and usually ``error`` and ``reset``."""

    name = "emulator"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.lock = ctx.store.lock

    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def error(self, status: int, message: str, **extra: Any) -> Response:
        """The API's own error body; subclasses override with their documented shape."""
        return Response(status, {"status": status, "message": message, **extra})

    def fault_headers(self, status: int) -> dict[str, str]:
        """Headers an injected fault carries by default (rate-limit headers for 429)."""
        return {}

    def reset(self) -> None:
        with self.lock:
            self.store.data.clear()
            self.store.touch()

    def tick(self) -> None:
        """Called about every 100 ms: emulated controllers make objects progress here."""

    def admin_routes(self) -> dict[tuple[str, str], Any]:
        """Extra ``/_sandbox/<route>`` handlers of this emulator: ``{(method, route): handler(request)}``."""
        return {}

    def endpoint(self, base_url: str) -> dict[str, Any]:
        """What ``endpoints.json`` says about this emulator (URL, credentials for tests)."""
        return {"url": base_url}

    def on_start(self, endpoints: dict[str, Any]) -> None:
        """Called once every emulator listens, with the full endpoints document."""

    def close(self) -> None:
        """Called on shutdown."""


class RequestLog:
    def __init__(self, limit: int = 50000) -> None:
        self._entries: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._limit = limit

    def add(self, **entry: Any) -> None:
        with self._lock:
            entry["seq"] = next(self._seq)
            self._entries.append(entry)
            if len(self._entries) > self._limit:
                del self._entries[: len(self._entries) - self._limit]

    def since(self, seq: int) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._entries if e["seq"] > seq]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Faults:
    def __init__(self) -> None:
        self._rules: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, rule: dict[str, Any]) -> dict[str, Any]:
        allowed = {"status", "headers", "body", "delay", "count", "method", "path", "action", "after"}
        unknown = set(rule) - allowed
        if unknown:
            raise HTTPError(400, f"unknown fault keys: {sorted(unknown)}")
        action = rule.get("action") or ("respond" if rule.get("status") else "delay")
        if action not in {"respond", "reset", "delay"}:
            raise HTTPError(400, "action must be respond, reset or delay")
        if action == "respond" and not rule.get("status"):
            raise HTTPError(400, "a respond fault needs a status")
        if rule.get("path"):
            re.compile(rule["path"])
        stored = {"id": next(self._ids), "action": action, "count": rule.get("count", 1), **rule}
        stored["action"] = action
        with self._lock:
            self._rules.append(stored)
        return stored

    def match(self, method: str, path: str) -> dict[str, Any] | None:
        with self._lock:
            for rule in self._rules:
                if rule.get("method") and rule["method"].upper() != method:
                    continue
                if rule.get("path") and not re.search(rule["path"], path):
                    continue
                if rule["count"] is not None:
                    rule["count"] -= 1
                    if rule["count"] <= 0:
                        self._rules.remove(rule)
                return dict(rule)
        return None

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(30)
            self.connection.do_handshake()
            self.connection.settimeout(None)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        started = time.monotonic()
        parsed = urllib.parse.urlsplit(self.path)
        request = Request(
            method=self.command,
            path=urllib.parse.unquote(parsed.path),
            query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            headers=self.headers,
            body=self._read_body(),
            raw_path=parsed.path,
        )
        if request.path.startswith("/_sandbox/"):
            self._send(self.server.admin(request))
            return

        # The log entry is written before the answer leaves, so a client that reads the log right
        # after its response always finds its own request there.
        def record(status: int, fault: bool) -> None:
            self.server.log.add(
                time=time.time(),
                method=request.method,
                path=request.path,
                query=parsed.query,
                status=status,
                user_agent=self.headers.get("User-Agent", ""),
                duration_ms=round((time.monotonic() - started) * 1000, 2),
                fault=fault,
            )

        def send(response: Response, fault: bool) -> None:
            record(response.status, fault)
            self._send(response)

        def reset() -> None:
            record(0, True)
            self._reset()

        self.server.serve(request, send, reset)

    def _client_gone(self) -> bool:
        """During a stream the client sends nothing: a readable socket means it closed (FIN/close_notify)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _reset(self) -> None:
        """Drop the connection without an answer (TCP RST)."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        headers = {"Content-Type": response.content_type, **response.headers}
        for key, value in headers.items():
            self.send_header(key, value)
        if response.stream is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in response.stream:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    elif self._client_gone():
                        self.close_connection = True
                        return
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True
            return
        payload = response.payload() if self.command != "HEAD" or response.status >= 400 else b""
        self.send_header("Content-Length", str(len(response.payload())))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class EmulatorServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, emulator: Emulator, port: int, context: ssl.SSLContext | None) -> None:
        self.emulator = emulator
        self.log = RequestLog()
        self.faults = Faults()
        self.tls = context
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that refused the certificate or dropped the connection is no server error: it
        gets no traceback on stderr (a TLS server logs a failed handshake, it does not crash on it)."""
        if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        # Headers and body go out in separate writes: without NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every response.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            # the handshake runs in the handler's thread, so one slow client blocks nobody
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    @property
    def port(self) -> int:
        return self.server_address[1]

    def serve(self, request: Request, send: Callable[[Response, bool], None], reset: Callable[[], None]) -> None:
        fault = self.faults.match(request.method, request.path)
        if fault and fault.get("delay"):
            time.sleep(float(fault["delay"]))
        if fault and fault.get("after"):
            self._handle(request)  # the change is applied; the client never learns it
        if fault and fault["action"] == "reset":
            reset()
            return
        if fault and fault["action"] == "respond":
            response = self.emulator.error(int(fault["status"]), "injected fault")
            if fault.get("body") is not None:
                response.body = fault["body"]
            response.headers.update(self.emulator.fault_headers(response.status))
            response.headers.update({k: str(v) for k, v in (fault.get("headers") or {}).items()})
            send(response, True)
            return
        send(self._handle(request), bool(fault))

    def _handle(self, request: Request) -> Response:
        try:
            with self.emulator.lock:
                return self.emulator.handle(request)
        except HTTPError as exc:
            return self.emulator.error(exc.status, exc.message, **exc.extra)
        except Exception as exc:  # an emulator bug must surface as a 500, not a hang
            return self.emulator.error(500, f"sandbox emulator error: {exc!r}")

    def admin(self, request: Request) -> Response:
        route = request.path.removeprefix("/_sandbox/").strip("/")
        handler = {
            ("GET", "health"): self._admin_health,
            ("GET", "requests"): self._admin_requests,
            ("DELETE", "requests"): self._admin_clear_requests,
            ("GET", "faults"): self._admin_faults,
            ("POST", "faults"): self._admin_add_faults,
            ("DELETE", "faults"): self._admin_clear_faults,
            ("POST", "reset"): self._admin_reset,
            **self.emulator.admin_routes(),
        }.get((request.method, route))
        if handler is None:
            return Response(404, {"error": f"no admin route {request.method} {route}"})
        try:
            return handler(request)
        except HTTPError as exc:
            return Response(exc.status, {"error": exc.message})
        except (ValueError, re.error) as exc:
            return Response(400, {"error": str(exc)})

    def _admin_health(self, _: Request) -> Response:
        return Response(200, {"status": "ok", "emulator": self.emulator.name})

    def _admin_requests(self, request: Request) -> Response:
        return Response(200, self.log.since(int(request.arg("since", "0") or 0)))

    def _admin_clear_requests(self, _: Request) -> Response:
        self.log.clear()
        return Response(200, {"cleared": True})

    def _admin_faults(self, _: Request) -> Response:
        return Response(200, self.faults.list())

    def _admin_add_faults(self, request: Request) -> Response:
        body = request.json()
        rules = body if isinstance(body, list) else [body]
        return Response(201, [self.faults.add(rule) for rule in rules])

    def _admin_clear_faults(self, _: Request) -> Response:
        self.faults.clear()
        return Response(200, {"cleared": True})

    def _admin_reset(self, _: Request) -> Response:
        with self.emulator.lock:
            self.emulator.reset()
        self.log.clear()
        self.faults.clear()
        return Response(200, {"reset": True})


def iter_lines(objects: Iterator[Any]) -> Iterator[bytes]:
    """JSON-lines stream helper (Kubernetes watch events)."""
    for obj in objects:
        yield json.dumps(obj, separators=(",", ":")).encode() + b"\n"
