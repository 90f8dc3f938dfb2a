"""Start a private sandbox for one test module (until the shared session fixture lands).

``start(state_dir, settings)`` runs ``python -m sandbox up`` on its own state directory and
returns the endpoints document; ``stop`` runs ``down``. Helpers read the request log and add
faults through the admin API with the sandbox CA.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _cli(command: str, state: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "sandbox", command, "--state-dir", str(state)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=90,
    )


def start(state: Path, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    state.mkdir(parents=True, exist_ok=True)
    if settings is not None:
        (state / "settings.json").write_text(json.dumps(settings))
    _cli("up", state)
    return json.loads((state / "endpoints.json").read_text())


def stop(state: Path) -> None:
    _cli("down", state)


def admin(endpoints: dict[str, Any], name: str, method: str, route: str, body: Any = None) -> Any:
    url = f"{endpoints[name]['url']}/_sandbox/{route}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    ctx = ssl.create_default_context(cafile=endpoints["ca_file"])
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def fault(endpoints: dict[str, Any], name: str, **rule: Any) -> None:
    admin(endpoints, name, "POST", "faults", rule)


def requests(endpoints: dict[str, Any], name: str, since: int = 0) -> list[dict[str, Any]]:
    return admin(endpoints, name, "GET", f"requests?since={since}")


def last_seq(endpoints: dict[str, Any], name: str) -> int:
    log = requests(endpoints, name)
    return log[-1]["seq"] if log else 0
