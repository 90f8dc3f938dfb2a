"""Benchmark of the Kubernetes emulator (not a test): ``.venv/bin/python -m tests.bench.bench_kube``.

Starts a sandbox on a fresh state directory and prints:

* the emulator's median overhead per request (server-side handling time from the request log,
  and the round trip seen by a keep-alive HTTPS client) for GET, LIST, create and patch;
* the wall time of ``helm upgrade --install --wait`` of a chart with ~40 objects (first install,
  then an upgrade that changes every ConfigMap and rolls the Deployment).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from sandbox import client

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "tools" / "sandbox" / "tests" / "charts" / "demo"
HELM = ROOT / ".tools" / "bin" / "helm"
SAMPLES = 200


def _sandbox(command: str, state: Path) -> None:
    client.cli(command, state)


class Client:
    def __init__(self, endpoints: dict) -> None:
        url = urllib.parse.urlsplit(endpoints["kubernetes"]["url"])
        self.token = endpoints["kubernetes"]["token"]
        context = ssl.create_default_context(cafile=endpoints["ca_file"])
        self.conn = http.client.HTTPSConnection(url.hostname, url.port, context=context)

    def call(self, method: str, path: str, body: object = None, content_type: str = "application/json") -> float:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type}
        started = time.perf_counter()
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status}")
        return elapsed


def _server_times(endpoints: dict, since: int) -> dict[str, list[float]]:
    client = Client(endpoints)
    client.conn.request("GET", f"/_sandbox/requests?since={since}")
    log = json.loads(client.conn.getresponse().read())
    grouped: dict[str, list[float]] = {}
    for entry in log:
        grouped.setdefault(entry["method"], []).append(entry["duration_ms"])
    return grouped


def requests(endpoints: dict) -> None:
    client = Client(endpoints)
    base = "/api/v1/namespaces/default/configmaps"
    for i in range(30):  # a realistic list size
        client.call("POST", base, {"metadata": {"name": f"seed-{i}"}, "data": {"i": str(i)}})
    rounds: dict[str, list[float]] = {"GET": [], "LIST": [], "POST": [], "PATCH": []}
    for i in range(SAMPLES):
        rounds["POST"].append(client.call("POST", base, {"metadata": {"name": f"bench-{i}"}, "data": {"v": "0"}}))
        rounds["GET"].append(client.call("GET", f"{base}/bench-{i}"))
        rounds["PATCH"].append(
            client.call("PATCH", f"{base}/bench-{i}", {"data": {"v": "1"}}, "application/merge-patch+json")
        )
        if i % 4 == 0:
            rounds["LIST"].append(client.call("GET", base))
    server = _server_times(endpoints, 0)
    print(f"request overhead, median of {SAMPLES} (client round trip on a kept-alive TLS connection):")
    for verb, samples in rounds.items():
        print(f"  {verb:6} {statistics.median(samples) * 1000:6.2f} ms")
    print("server-side handling time, median (request log):")
    for verb in ("GET", "POST", "PATCH"):
        print(f"  {verb:6} {statistics.median(server[verb]):6.2f} ms")


def helm(endpoints: dict, home: Path, extra: int) -> None:
    env = {**os.environ, "HOME": str(home), "KUBECONFIG": endpoints["kubernetes"]["kubeconfig"]}
    objects = 6 + extra + 1  # configmap, deployment, service, gadget, CRD, hook job + extras + release secret
    for run, message in (("install", "one"), ("upgrade", "two")):
        args = [str(HELM), "upgrade", "--install", "bench", str(CHART), "-n", "bench", "--create-namespace", "--wait"]
        args += ["--timeout", "120s", "--set", f"extraConfigMaps={extra}", "--set", f"message={message}"]
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        print(f"helm upgrade --install --wait ({objects} objects, {run}): {time.perf_counter() - started:.2f} s")


def main() -> int:
    state = Path(tempfile.mkdtemp(prefix="bench-kube-"))
    home = state / "home"
    home.mkdir()
    _sandbox("up", state)
    try:
        endpoints = json.loads((state / "endpoints.json").read_text())
        requests(endpoints)
        helm(endpoints, home, 34)
    finally:
        _sandbox("down", state)
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
