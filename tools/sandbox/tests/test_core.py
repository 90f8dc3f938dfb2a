"""The shared emulator plumbing: TLS from the sandbox CA, request log, faults, state."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sandbox import tls
from sandbox.server import Context, Emulator, EmulatorServer, Request, Response
from sandbox.store import Store


class Counter(Emulator):
    name = "counter"

    def handle(self, request: Request) -> Response:
        if request.method == "POST":
            self.store.data["n"] = self.store.data.get("n", 0) + 1
            self.store.touch()
        return Response(200, {"n": self.store.data.get("n", 0)})

    def fault_headers(self, status: int) -> dict[str, str]:
        return {"x-ratelimit-remaining": "0"} if status == 429 else {}


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    ca, ca_key = tls.ensure_ca(tmp_path)
    cert, key = tls.ensure_server_cert(tmp_path, ca, ca_key)
    return ca, tls.server_context(cert, key)


def _start(tmp_path: Path, context: ssl.SSLContext) -> EmulatorServer:
    store = Store(tmp_path / "counter.json")
    srv = EmulatorServer(Counter(Context("counter", store, {}, {})), 0, context)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _call(srv: EmulatorServer, ca: Path, method: str, path: str, body: object = None) -> tuple[int, dict, object]:
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ssl.create_default_context(cafile=str(ca)))
    conn.request(method, path, body=json.dumps(body) if body is not None else None)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), json.loads(data) if data else None


def test_tls_is_verified_against_the_sandbox_ca(tmp_path: Path, pki) -> None:
    ca, context = pki
    srv = _start(tmp_path, context)
    assert _call(srv, ca, "GET", "/x")[0] == 200
    with pytest.raises(ssl.SSLCertVerificationError):
        conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ssl.create_default_context())
        conn.request("GET", "/x")
    srv.shutdown()


def test_request_log_counts_calls_and_writes(tmp_path: Path, pki) -> None:
    ca, context = pki
    srv = _start(tmp_path, context)
    _call(srv, ca, "GET", "/a?x=1")
    _call(srv, ca, "POST", "/a", {})
    _, _, log = _call(srv, ca, "GET", "/_sandbox/requests")
    assert [(e["method"], e["path"], e["status"]) for e in log] == [("GET", "/a", 200), ("POST", "/a", 200)]
    assert log[0]["query"] == "x=1"
    _, _, later = _call(srv, ca, "GET", f"/_sandbox/requests?since={log[0]['seq']}")
    assert [e["method"] for e in later] == ["POST"]
    srv.shutdown()


def test_fault_respond_with_headers_then_recovers(tmp_path: Path, pki) -> None:
    ca, context = pki
    srv = _start(tmp_path, context)
    status, _, _ = _call(
        srv, ca, "POST", "/_sandbox/faults", {"status": 429, "headers": {"Retry-After": "1"}, "count": 1, "path": "^/a"}
    )
    assert status == 201
    status, headers, _ = _call(srv, ca, "GET", "/a")
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert headers["x-ratelimit-remaining"] == "0"
    assert _call(srv, ca, "GET", "/a")[0] == 200
    srv.shutdown()


def test_fault_delay_and_method_filter(tmp_path: Path, pki) -> None:
    ca, context = pki
    srv = _start(tmp_path, context)
    _call(srv, ca, "POST", "/_sandbox/faults", {"delay": 0.5, "method": "POST", "count": 1})
    started = time.monotonic()
    assert _call(srv, ca, "GET", "/a")[0] == 200
    assert time.monotonic() - started < 0.4
    started = time.monotonic()
    assert _call(srv, ca, "POST", "/a", {})[0] == 200
    assert time.monotonic() - started >= 0.5
    srv.shutdown()


def test_fault_reset_drops_the_connection(tmp_path: Path, pki) -> None:
    ca, context = pki
    srv = _start(tmp_path, context)
    _call(srv, ca, "POST", "/_sandbox/faults", {"action": "reset", "count": 1})
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError, OSError)):
        _call(srv, ca, "GET", "/a")
    assert _call(srv, ca, "GET", "/a")[0] == 200
    srv.shutdown()


def test_fault_after_applies_the_request_then_fails_it(tmp_path: Path, pki) -> None:
    ca, context = pki
    srv = _start(tmp_path, context)
    _call(srv, ca, "POST", "/_sandbox/faults", [{"status": 503, "after": True, "count": 1, "method": "POST"}])
    assert _call(srv, ca, "POST", "/a", {})[0] == 503
    assert _call(srv, ca, "GET", "/a")[2] == {"n": 1}
    _call(srv, ca, "POST", "/_sandbox/faults", {"action": "reset", "after": True, "count": 1, "method": "POST"})
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError, OSError)):
        _call(srv, ca, "POST", "/a", {})
    assert _call(srv, ca, "GET", "/a")[2] == {"n": 2}
    _call(srv, ca, "POST", "/_sandbox/faults", {"status": 500, "count": 1, "method": "POST"})
    assert _call(srv, ca, "POST", "/a", {})[0] == 500
    assert _call(srv, ca, "GET", "/a")[2] == {"n": 2}, "a fault without after leaves the state alone"
    srv.shutdown()


def test_bad_fault_is_rejected(tmp_path: Path, pki) -> None:
    ca, context = pki
    srv = _start(tmp_path, context)
    status, _, body = _call(srv, ca, "POST", "/_sandbox/faults", {"stauts": 500})
    assert status == 400
    assert "stauts" in body["error"]
    srv.shutdown()


def test_state_survives_restart_and_reset_wipes_it(tmp_path: Path, pki) -> None:
    ca, context = pki
    srv = _start(tmp_path, context)
    _call(srv, ca, "POST", "/a", {})
    _call(srv, ca, "POST", "/a", {})
    srv.shutdown()
    srv.emulator.store.close()
    srv = _start(tmp_path, context)
    assert _call(srv, ca, "GET", "/a")[2] == {"n": 2}
    _call(srv, ca, "POST", "/_sandbox/reset")
    assert _call(srv, ca, "GET", "/a")[2] == {"n": 0}
    srv.shutdown()


def test_settings_file_is_the_mapping_or_its_sandbox_settings_key(tmp_path: Path) -> None:
    """``up --settings`` reads a mapping of emulator settings, or an inventory vars file's
    ``sandbox_settings`` (its other variables, Jinja included, are not read); unknown emulators
    and non-mapping settings are refused before anything starts."""
    from sandbox.cli import read_settings  # noqa: PLC0415

    nodes = [{"name": "n-1", "labels": {}, "taints": []}]
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"kubernetes": {"nodes": nodes}}))
    assert read_settings(plain) == {"kubernetes": {"nodes": nodes}}
    inventory = tmp_path / "sandbox.yml"
    inventory.write_text(
        "sandbox: \"{{ lookup('ansible.builtin.file', 'x') | from_json }}\"\n"
        "sandbox_settings:\n  kubernetes:\n    nodes: [{name: n-1, labels: {}, taints: []}]\n"
    )
    assert read_settings(inventory) == {"kubernetes": {"nodes": nodes}}
    unknown = tmp_path / "unknown.yml"
    unknown.write_text("sandbox_settings: {kube: {nodes: []}}\n")
    with pytest.raises(SystemExit, match=r"no such emulator \['kube'\]"):
        read_settings(unknown)
    flat = tmp_path / "flat.yml"
    flat.write_text("kubernetes: [node-1]\n")
    with pytest.raises(SystemExit, match="must map each emulator's name to a mapping"):
        read_settings(flat)


def test_up_restarts_a_sandbox_that_serves_older_code(tmp_path: Path) -> None:
    """`make site` starts the sandbox on demand and reuses a healthy one; after a `git pull` a
    reused sandbox would judge with the old emulators' rules. `up` compares the code digest the
    running process recorded in endpoints.json with the checkout's and restarts when they differ."""

    def up() -> int:
        subprocess.run([sys.executable, "-m", "sandbox", "up", "--state-dir", str(tmp_path)], check=True, timeout=90)
        return json.loads((tmp_path / "endpoints.json").read_text())["pid"]

    try:
        first = up()
        assert up() == first  # same code: reused
        endpoints = json.loads((tmp_path / "endpoints.json").read_text())
        (tmp_path / "endpoints.json").write_text(json.dumps({**endpoints, "code": "older"}))
        assert up() != first  # older code: restarted
    finally:
        subprocess.run([sys.executable, "-m", "sandbox", "down", "--state-dir", str(tmp_path)], check=False, timeout=30)
