"""API cost of the doks_cluster role: requests per emulator for a first converge, a no-op and a change.

Run with ``.venv/bin/python -m tests.bench.bench_doks``. It starts a sandbox of its own (state under
``.cache/sandbox-bench``), applies molecule/doks_cluster/converge.yml with the sandbox inventory
three times, and prints the GET and write counts each run made, read from the emulators'
request logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sandbox import client as sb

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".cache" / "sandbox-bench"
EMULATORS = ("digitalocean", "spaces", "kubernetes")
CHANGE = {"gitops_pool_tools_taint": {"key": "tools", "value": "true", "effect": "NoExecute"}}


def converge(extra: dict[str, Any] | None = None) -> float:
    env = {
        **os.environ,
        "SANDBOX_STATE_DIR": str(STATE),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "PATH": f"{ROOT / '.tools' / 'bin'}:{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
    }
    cmd = [
        str(ROOT / ".venv" / "bin" / "ansible-playbook"),
        "-i",
        "inventories/sandbox",
        "molecule/doks_cluster/converge.yml",
    ]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"converge failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return time.monotonic() - started


def counts(endpoints: dict[str, Any], marks: dict[str, int]) -> dict[str, tuple[int, int]]:
    result = {}
    for name in EMULATORS:
        if name not in endpoints:
            continue
        log = [e for e in sb.requests(endpoints, name, marks[name]) if e["status"]]
        gets = sum(1 for e in log if e["method"] in ("GET", "HEAD"))
        result[name] = (gets, len(log) - gets)
    return result


def main() -> int:
    sb.stop(STATE) if (STATE / "sandbox.pid").exists() else None
    for stale in STATE.glob("*.json"):
        if stale.name != "ports.json":
            stale.unlink()
    endpoints = sb.start(STATE)
    rows = []
    try:
        for label, extra in (("first converge (create)", None), ("no-op converge", None), ("change a taint", CHANGE)):
            marks = {n: sb.last_seq(endpoints, n) for n in EMULATORS if n in endpoints}
            seconds = converge(extra)
            rows.append((label, seconds, counts(endpoints, marks)))
    finally:
        sb.stop(STATE)
    names = [n for n in EMULATORS if n in endpoints]
    header = "| run | " + " | ".join(f"{n} GET / write" for n in names) + " | seconds |"
    print(header)
    print("|" + "---|" * (len(names) + 2))
    for label, seconds, result in rows:
        cells = " | ".join(f"{result[n][0]} / {result[n][1]}" for n in names)
        print(f"| {label} | {cells} | {seconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
