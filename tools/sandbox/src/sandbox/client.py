"""The client of a sandbox: start and stop it, read its endpoints, its request log, add faults, reset.

Every test helper and tool drives a sandbox through this module (the inventory interface is
``<state>/endpoints.json``, which ``python -m sandbox up`` writes)::

    box = Sandbox.start(state_dir, settings={"kubernetes": {"nodes": [...]}})  # or a settings file
    box.endpoints["digitalocean"]["url"]
    seq = box.last_seq("digitalocean")
    box.fault("digitalocean", method="POST", path="/v2/kubernetes/clusters", status=500, times=1)
    box.requests(seq, emulator="digitalocean")
    box.reset()  # every emulator; box.reset("auth0") one
    box.stop()

``emulator`` names a default emulator for the admin calls (``Sandbox(state, emulator="auth0")``
then ``box.requests()``). The module-level functions (``start``, ``stop``, ``admin``, ``fault``,
``requests``, ``last_seq``) take the endpoints document instead of a handle.

The CLI runs in a child ``python -m sandbox`` started from this package's own source directory,
so the server is always the copy of the code this client was imported from.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Self

SOURCE = Path(__file__).resolve().parents[1]
CLI_TIMEOUT = 120


def cli(command: str, state: Path, *options: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``python -m sandbox <command> --state-dir <state> [options]``; a failure raises with its output."""
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", command, "--state-dir", str(state), *options],
        cwd=SOURCE,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    if check and result.returncode != 0:
        log = state / "sandbox.log"
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:]) if log.is_file() else ""
        raise RuntimeError(f"sandbox {command} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n{tail}")
    return result


def read_endpoints(state: Path) -> dict[str, Any]:
    return json.loads((state / "endpoints.json").read_text())


def call(
    endpoints: dict[str, Any], url: str, token: str | None = None, data: Any = None, method: str | None = None
) -> Any:
    """A JSON request to a sandbox URL over the sandbox CA; the decoded body (None when empty)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    context = ssl.create_default_context(cafile=endpoints["ca_file"])
    with urllib.request.urlopen(request, context=context, timeout=30) as resp:  # noqa: S310
        raw = resp.read()
    return json.loads(raw) if raw else None


def admin(endpoints: dict[str, Any], name: str, method: str, route: str, body: Any = None) -> Any:
    """The admin API of one emulator: ``<url>/_sandbox/<route>``."""
    return call(endpoints, f"{endpoints[name]['url']}/_sandbox/{route}", data=body, method=method)


def fault(endpoints: dict[str, Any], name: str, **rule: Any) -> None:
    admin(endpoints, name, "POST", "faults", rule)


def requests(endpoints: dict[str, Any], name: str, since: int = 0) -> list[dict[str, Any]]:
    return admin(endpoints, name, "GET", f"requests?since={since}")


def last_seq(endpoints: dict[str, Any], name: str) -> int:
    log = requests(endpoints, name)
    return log[-1]["seq"] if log else 0


def start(state: Path, settings: dict[str, Any] | Path | None = None) -> dict[str, Any]:
    """Start a sandbox on ``state`` (``settings``: its ``settings.json``, or a file for ``--settings``)."""
    return Sandbox.start(state, settings).endpoints


def stop(state: Path) -> None:
    cli("down", state)


class Sandbox:
    """A sandbox on one state directory."""

    def __init__(self, state: Path, emulator: str | None = None) -> None:
        self.state = Path(state)
        self.emulator = emulator

    @classmethod
    def start(cls, state: Path, settings: dict[str, Any] | Path | None = None, emulator: str | None = None) -> Self:
        """``python -m sandbox up``; ``settings`` is the emulators' settings or a file of them."""
        box = cls(state, emulator)
        box.state.mkdir(parents=True, exist_ok=True)
        if isinstance(settings, Path):
            box.cli("up", "--settings", str(settings))
            return box
        if settings is not None:
            (box.state / "settings.json").write_text(json.dumps(settings))
        box.cli("up")
        return box

    def cli(self, command: str, *options: str) -> None:
        cli(command, self.state, *options)

    def stop(self) -> None:
        cli("down", self.state, check=False)

    def restart_empty(self) -> None:
        """Stop, wipe and start the sandbox (the CA and settings stay)."""
        self.cli("down")
        self.cli("reset")
        self.cli("up")

    @property
    def endpoints(self) -> dict[str, Any]:
        return read_endpoints(self.state)

    @property
    def ca_file(self) -> str:
        return self.endpoints["ca_file"]

    @property
    def ca_bundle(self) -> str:
        return self.endpoints["ca_bundle"]

    @property
    def emulators(self) -> list[str]:
        return [name for name, info in self.endpoints.items() if isinstance(info, dict) and "url" in info]

    def _name(self, emulator: str | None) -> str:
        name = emulator or self.emulator
        if not name:
            raise ValueError("no emulator named and no default emulator for this handle")
        return name

    def call(self, url: str, token: str | None = None, data: Any = None, method: str | None = None) -> Any:
        return call(self.endpoints, url, token, data, method)

    def admin(self, method: str, route: str, body: Any = None, emulator: str | None = None) -> Any:
        return admin(self.endpoints, self._name(emulator), method, route, body)

    def authorize(self, **query: str) -> tuple[int, str, Any]:
        """``GET /authorize`` of the Auth0 emulator, as a browser sent there by a relying party would,
        without following the redirect: (status, Location, JSON body or None)."""
        ctx = ssl.create_default_context(cafile=self.ca_bundle)
        url = f"https://{self.endpoints['auth0']['domain']}/authorize?{urllib.parse.urlencode(query)}"

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

    def requests(self, since: int = 0, emulator: str | None = None) -> list[dict[str, Any]]:
        return requests(self.endpoints, self._name(emulator), since)

    def last_seq(self, emulator: str | None = None) -> int:
        return last_seq(self.endpoints, self._name(emulator))

    def marks(self) -> dict[str, int]:
        """The last request number of every emulator (read the requests after them with ``requests_since``)."""
        return {name: self.last_seq(name) for name in self.emulators}

    def requests_since(self, marks: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
        return {name: self.requests(since, emulator=name) for name, since in marks.items()}

    def fault(self, emulator: str | None = None, /, **rule: Any) -> None:
        fault(self.endpoints, self._name(emulator), **rule)

    def clear_faults(self, emulator: str | None = None) -> None:
        self.admin("DELETE", "faults", emulator=emulator)

    def reset(self, emulator: str | None = None) -> None:
        """Wipe the state of one emulator (or the handle's default one), else of every emulator."""
        for name in [emulator or self.emulator] if (emulator or self.emulator) else self.emulators:
            self.admin("POST", "reset", emulator=name)

    def audit(self) -> list[dict[str, Any]]:
        """The fidelity gate: objects a real API server (or their CRD) would refuse, in every cluster."""
        return self.admin("GET", "audit", emulator="kubernetes")["problems"]
