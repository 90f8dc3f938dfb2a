"""Drive playbooks against a sandbox of their own and read the emulators back."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import boto3

from sandbox import client

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# The Spaces emulator's admin key (full access; a sandbox constant, not a secret).
ADMIN_KEY = ("sandbox-admin", "sandbox-admin-not-a-secret")


class Sandbox(client.Sandbox):
    """A sandbox of the e2e tests: :class:`sandbox.client.Sandbox` (start, endpoints, request log,
    faults, reset, audit) plus the playbook runner and readers of the emulators' state."""

    def restart_empty(self) -> None:
        """Stop, wipe and start the sandbox; drop the kubeconfigs of clusters that no longer exist."""
        self.cli("down")
        self.cli("reset")
        self.drop_kubeconfigs()
        self.cli("up")

    @contextlib.contextmanager
    def fresh(self) -> Iterator[Self]:
        """The sandbox started empty for the body (a module's fixture), stopped afterwards."""
        self.restart_empty()
        try:
            yield self
        finally:
            self.cli("down")

    def drop_kubeconfigs(self) -> None:
        """Remove the per-cluster kubeconfigs doks_cluster wrote (``<host>.kubeconfig``)."""
        for stale in self.state.glob("*.kubeconfig"):
            stale.unlink()

    def do(self, path: str) -> Any:
        """GET a DigitalOcean API path with the sandbox token."""
        do = self.endpoints["digitalocean"]
        return self.call(f"{do['url']}{path}", do["token"])

    def auth0_token(self) -> str:
        """A Management API token of the sandbox tenant's seeded management client."""
        auth0 = self.endpoints["auth0"]
        return self.call(
            f"{auth0['url']}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": auth0["client_id"],
                "client_secret": auth0["client_secret"],
                "audience": auth0["audience"],
            },
        )["access_token"]

    def auth0(self, path: str, token: str) -> Any:
        """GET an Auth0 Management API path (``/api/v2/...``)."""
        return self.call(f"{self.endpoints['auth0']['url']}{path}", token)

    def s3(self, key_id: str = ADMIN_KEY[0], secret: str = ADMIN_KEY[1]) -> Any:
        """A boto3 S3 client of the Spaces emulator (the sandbox admin key unless told)."""
        spaces = self.endpoints["spaces"]
        return boto3.client(
            "s3",
            endpoint_url=spaces["url"],
            region_name=spaces["region"],
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            verify=self.endpoints["ca_file"],
        )

    def log_marks(self) -> dict[str, int]:
        return self.marks()

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SANDBOX_STATE_DIR": str(self.state),
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "PATH": f"{ROOT / '.tools' / 'bin'}:{BIN}:{os.environ.get('PATH', '')}",
            "ANSIBLE_FORCE_COLOR": "0",
            "NO_COLOR": "1",
        }

    def playbook(
        self, playbook: str, *args: str, inventory: str = "inventories/sandbox", env: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """ansible-playbook from the repository root; ``env`` replaces the sandbox's environment."""
        result = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", inventory, playbook, *args],
            cwd=ROOT,
            env=self.env() if env is None else env,
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        return result.returncode, result.stdout + result.stderr


def ansible_warnings(output: str) -> list[str]:
    """The warnings and deprecations Ansible printed (``[WARNING]: ...``, ``[DEPRECATION WARNING]: ...``)."""
    return re.findall(r"^\[(?:DEPRECATION )?WARNING\].*$", output, re.MULTILINE)


def recap(output: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        hosts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return hosts


def state_writes(requests: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str, str]]:
    """Requests that can change state. Token requests (Auth0 /oauth/token) and git fetches only read."""
    found = []
    for name, entries in requests.items():
        for entry in entries:
            if entry["method"] not in WRITE_METHODS or entry["status"] >= 400:
                continue
            if name == "auth0" and entry["path"] == "/oauth/token":
                continue
            # git's smart HTTP fetches with a POST to git-upload-pack (gitprotocol-http(5)): a read;
            # a push is the POST to git-receive-pack
            if name == "git" and entry["path"].endswith("/git-upload-pack"):
                continue
            if name == "kubernetes":
                continue  # judged by resourceVersion instead: an unchanged apply is a PATCH that writes nothing
            found.append((name, entry["method"], entry["path"]))
    return found
