"""Command line: ``python -m sandbox up|down|status|reset|serve [--state-dir DIR] [--settings FILE]``.

``--settings FILE`` (with ``up``): the emulators' settings, a YAML or JSON mapping of emulator name
to its settings (``{"kubernetes": {"nodes": [...]}}``), or a document whose ``sandbox_settings``
key holds that mapping (an inventory's vars file). They become ``<state>/settings.json``; a
running sandbox whose settings differ is restarted (its state is kept).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from sandbox import registry, tls
from sandbox.server import Context, EmulatorServer
from sandbox.store import Store

DEFAULT_STATE = Path(os.environ.get("SANDBOX_STATE_DIR", ".sandbox"))
START_TIMEOUT = 60.0
SANDBOX_DIR = Path(__file__).resolve().parent
CODE_SUFFIXES = {".py", ".json", ".yaml", ".yml", ".tpl"}


def code_version() -> str:
    """A digest of the emulators' code and data: a sandbox serving older code is restarted."""
    digest = hashlib.sha256()
    for path in sorted(SANDBOX_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in CODE_SUFFIXES:
            digest.update(str(path.relative_to(SANDBOX_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _pid(state: Path) -> int | None:
    try:
        pid = int((state / "sandbox.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def _endpoints(state: Path) -> dict[str, Any]:
    try:
        return json.loads((state / "endpoints.json").read_text())
    except (OSError, ValueError):
        return {}


def _healthy(state: Path, endpoints: dict[str, Any]) -> dict[str, bool]:
    ctx = ssl.create_default_context(cafile=str(state / "ca.crt"))
    result = {}
    for name in registry.EMULATORS:
        url = (endpoints.get(name) or {}).get("url")
        try:
            with urllib.request.urlopen(f"{url}/_sandbox/health", context=ctx, timeout=5) as resp:  # noqa: S310
                result[name] = resp.status == 200
        except (OSError, ValueError, TypeError):
            result[name] = False
    return result


# How long a restart waits for the port it served on before (ports.json): a client's connection or
# another process may hold it for a moment while the sandbox is down.
PREFERRED_PORT_WAIT = 15.0
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
DEFAULT_EPHEMERAL = (32768, 60999)  # Linux's default ip_local_port_range


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel gives outgoing connections (``net.ipv4.ip_local_port_range``)."""
    try:
        low, high = (int(v) for v in EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL
    return low, high


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(preferred: int | None, wait: float = PREFERRED_PORT_WAIT) -> int:
    """The port an emulator serves on: the one it had (``preferred``, so that kubeconfigs and
    inventories written earlier stay valid), waited for up to ``wait`` seconds; else a free port
    below the ephemeral range, which no client connection can be holding when the sandbox restarts.
    """
    if preferred:
        deadline = time.monotonic() + wait
        while True:
            if _bindable(preferred):
                return preferred
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
    low, _high = ephemeral_range()
    candidates = list(range(max(1024, low - 12000), low))
    random.SystemRandom().shuffle(candidates)
    for port in candidates[:200]:
        if _bindable(port):
            return port
    return 0


def read_settings(path: Path) -> dict[str, Any]:
    """The emulators' settings in ``path``: the mapping itself, or its ``sandbox_settings`` key."""
    doc = yaml.safe_load(path.read_text())
    if isinstance(doc, dict) and "sandbox_settings" in doc:
        doc = doc["sandbox_settings"]
    if not isinstance(doc, dict) or not all(isinstance(value, dict) for value in doc.values()):
        raise SystemExit(f"{path}: settings must map each emulator's name to a mapping of its settings")
    unknown = set(doc) - set(registry.EMULATORS)
    if unknown:
        raise SystemExit(f"{path}: no such emulator {sorted(unknown)}; known: {sorted(registry.EMULATORS)}")
    return doc


def _write_settings(state: Path, settings: dict[str, Any]) -> bool:
    """Write ``settings.json``; True when it changed."""
    path = state / "settings.json"
    try:
        before = json.loads(path.read_text())
    except (OSError, ValueError):
        before = None
    if before == settings:
        return False
    path.write_text(json.dumps(settings, indent=2))
    return True


def cmd_up(state: Path, settings_file: Path | None = None) -> int:
    state.mkdir(parents=True, exist_ok=True)
    changed = settings_file is not None and _write_settings(state, read_settings(settings_file))
    running = _pid(state) is not None and all(_healthy(state, _endpoints(state)).values())
    if running and not changed and _endpoints(state).get("code") == code_version():
        print(f"sandbox already running (pid {_pid(state)}); endpoints: {state / 'endpoints.json'}")
        return 0
    if _pid(state):
        if running:
            what = "settings" if changed else "code"
            print(f"the sandbox's {what} changed since it started: restarting it (state is kept)")
        cmd_down(state)
    # A stale endpoints.json stays until the new process replaces it (atomically, same ports
    # when free): clients that read it during a restart still find the endpoints.
    log = (state / "sandbox.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--state-dir", str(state)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"sandbox failed to start; see {state / 'sandbox.log'}", file=sys.stderr)
            return 1
        endpoints = _endpoints(state)
        if endpoints.get("pid") == proc.pid and all(_healthy(state, endpoints).values()):
            print(f"sandbox up (pid {proc.pid}); endpoints: {state / 'endpoints.json'}")
            return 0
        time.sleep(0.2)
    print(f"sandbox did not become healthy in {START_TIMEOUT:.0f}s; see {state / 'sandbox.log'}", file=sys.stderr)
    cmd_down(state)
    return 1


def cmd_down(state: Path) -> int:
    pid = _pid(state)
    if pid is None:
        (state / "sandbox.pid").unlink(missing_ok=True)
        print("sandbox not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _pid(state) == pid:
        time.sleep(0.1)
    if _pid(state) == pid:
        os.killpg(pid, signal.SIGKILL)
    (state / "sandbox.pid").unlink(missing_ok=True)
    print("sandbox stopped")
    return 0


def cmd_status(state: Path) -> int:
    pid = _pid(state)
    if pid is None:
        print("sandbox not running")
        return 3
    endpoints = _endpoints(state)
    health = _healthy(state, endpoints)
    for name, ok in health.items():
        print(f"{name:14} {'up  ' if ok else 'DOWN'} {(endpoints.get(name) or {}).get('url', '?')}")
    return 0 if all(health.values()) else 1


def cmd_reset(state: Path) -> int:
    if _pid(state) is None:
        for name in registry.EMULATORS:
            (state / f"{name}.json").unlink(missing_ok=True)
        print("sandbox state removed")
        return 0
    endpoints = _endpoints(state)
    ctx = ssl.create_default_context(cafile=str(state / "ca.crt"))
    for name in registry.EMULATORS:
        url = endpoints[name]["url"] + "/_sandbox/reset"
        urllib.request.urlopen(urllib.request.Request(url, method="POST"), context=ctx, timeout=10).close()  # noqa: S310
    print("sandbox state reset")
    return 0


def serve(state: Path) -> int:
    """Run every emulator in this process until SIGTERM."""
    state = state.resolve()
    state.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = tls.ensure_ca(state)
    cert, key = tls.ensure_server_cert(state, ca_cert, ca_key)
    bundle = tls.write_bundle(state, ca_cert)
    context = tls.server_context(cert, key)
    settings_file = state / "settings.json"
    settings = json.loads(settings_file.read_text()) if settings_file.exists() else {}
    ports_file = state / "ports.json"
    ports = json.loads(ports_file.read_text()) if ports_file.exists() else {}

    endpoints: dict[str, Any] = {
        "pid": os.getpid(),
        "code": code_version(),
        "state_dir": str(state),
        "ca_file": str(ca_cert),
        "ca_bundle": str(bundle),
    }
    servers: dict[str, EmulatorServer] = {}
    peers: dict[str, Any] = {}
    for name in registry.EMULATORS:
        store = Store(state / f"{name}.json")
        ctx = Context(name=name, store=store, endpoints=endpoints, settings=settings.get(name, {}), peers=peers)
        emulator = peers[name] = registry.load(name)(ctx)
        servers[name] = EmulatorServer(emulator, _free_port(ports.get(name)), context)
        endpoints[name] = emulator.endpoint(f"https://127.0.0.1:{servers[name].port}")
    ports_file.write_text(json.dumps({n: s.port for n, s in servers.items()}, indent=2))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for name, srv in servers.items():
        threading.Thread(target=srv.serve_forever, name=f"http-{name}", daemon=True).start()
        srv.emulator.on_start(endpoints)

    def ticker() -> None:
        while not stop.wait(0.1):
            for srv in servers.values():
                try:
                    with srv.emulator.lock:
                        srv.emulator.tick()
                except Exception as exc:  # keep the controllers running; the log tells
                    print(f"tick {srv.emulator.name}: {exc!r}", flush=True)

    threading.Thread(target=ticker, name="controllers", daemon=True).start()
    (state / "sandbox.pid").write_text(str(os.getpid()))
    tmp = state / "endpoints.json.tmp"
    tmp.write_text(json.dumps(endpoints, indent=2))
    tmp.replace(state / "endpoints.json")
    print(f"sandbox serving: {json.dumps({n: s.port for n, s in servers.items()})}", flush=True)
    stop.wait()
    for srv in servers.values():
        srv.shutdown()
        srv.emulator.close()
        srv.emulator.store.close()
    (state / "sandbox.pid").unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "reset", "serve"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    parser.add_argument("--settings", type=Path, help="with up: the emulators' settings (YAML or JSON)")
    args = parser.parse_args(argv)
    state: Path = args.state_dir.resolve()
    if args.settings is not None and args.command != "up":
        parser.error("--settings goes with up")
    if args.command == "up":
        return cmd_up(state, args.settings)
    commands = {"down": cmd_down, "status": cmd_status, "reset": cmd_reset, "serve": serve}
    return commands[args.command](state)
