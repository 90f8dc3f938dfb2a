"""A private sandbox for the Auth0 tests (until a shared session fixture lands in conftest.py).

``start(dir)`` runs ``python -m sandbox up --state-dir dir`` and returns a handle with the
endpoints and small admin helpers (request log, faults, reset).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Sandbox:
    state: Path
    endpoints: dict[str, Any]

    @property
    def auth0(self) -> dict[str, Any]:
        return self.endpoints["auth0"]

    @property
    def ca_bundle(self) -> str:
        return self.endpoints["ca_bundle"]

    def admin(self, method: str, route: str, body: Any = None) -> Any:
        ctx = ssl.create_default_context(cafile=self.endpoints["ca_file"])
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.auth0['url']}/_sandbox/{route}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def authorize(self, **query: str) -> tuple[int, str, Any]:
        """``GET /authorize`` as a browser sent there by a relying party would, without following
        the redirect: (status, Location, JSON body or None)."""
        ctx = ssl.create_default_context(cafile=self.ca_bundle)
        url = f"https://{self.auth0['domain']}/authorize?{urllib.parse.urlencode(query)}"

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *_args: Any) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=ctx))
        try:
            with opener.open(url, timeout=10) as resp:
                status, headers, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as exc:
            status, headers, raw = exc.code, exc.headers, exc.read()
        return status, headers.get("Location") or "", json.loads(raw) if raw else None

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self.admin("GET", f"requests?since={since}")

    def last_seq(self) -> int:
        log = self.requests()
        return log[-1]["seq"] if log else 0

    def fault(self, **rule: Any) -> None:
        self.admin("POST", "faults", rule)

    def clear_faults(self) -> None:
        self.admin("DELETE", "faults")

    def reset(self) -> None:
        self.admin("POST", "reset")
        self.endpoints = json.loads((self.state / "endpoints.json").read_text())

    def stop(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "sandbox", "down", "--state-dir", str(self.state)],
            cwd=ROOT,
            check=False,
            capture_output=True,
        )


def start(state: Path) -> Sandbox:
    subprocess.run(
        [sys.executable, "-m", "sandbox", "up", "--state-dir", str(state)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return Sandbox(state, json.loads((state / "endpoints.json").read_text()))
