"""Run doks.gitops.auth0_apps in-process against the sandbox Auth0 emulator, and read it back."""

from __future__ import annotations

import contextlib
import io
import json
import ssl
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.doks.gitops.plugins.modules import auth0_apps

from tests.emulated.auth0_sandbox import Sandbox
from tests.emulated.module_runner import as_target


def run_module(box: Sandbox, *, limited: bool = False, check: bool = False, diff: bool = False, **args: Any) -> dict:
    prefix = "limited_" if limited else ""
    params = {
        "domain": box.auth0["domain"],
        "client_id": box.auth0[f"{prefix}client_id"],
        "client_secret": box.auth0[f"{prefix}client_secret"],
        "ca_path": box.ca_bundle,
        "timeout": 5,
        "retries": 3,
        "retry_max_delay": 3,
        "_ansible_check_mode": check,
        "_ansible_diff": diff,
        **args,
    }
    out = io.StringIO()
    with as_target(), patch_module_args(params), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        auth0_apps.main()
    return json.loads(out.getvalue())


class Api:
    """A plain reader/writer of the emulator (independent of the module under test)."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.ctx = ssl.create_default_context(cafile=box.ca_bundle)
        self.base = f"https://{box.auth0['domain']}"
        body = {
            "grant_type": "client_credentials",
            "client_id": box.auth0["client_id"],
            "client_secret": box.auth0["client_secret"],
            "audience": box.auth0["audience"],
        }
        self.token = self._send("POST", "/oauth/token", body, auth=False)["access_token"]

    def _send(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.token}")
        for _attempt in range(5):
            try:
                with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
                    raw = resp.read()
                return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:  # the tenant's rate limit: wait for the reset
                if exc.code != 429:
                    raise
                time.sleep(max(0.05, int(exc.headers["x-ratelimit-reset"]) - time.time()))
        raise AssertionError(f"{method} {path}: still rate limited")

    def get(self, path: str) -> Any:
        return self._send("GET", "/api/v2" + path)

    def post(self, path: str, body: Any = None) -> Any:
        return self._send("POST", "/api/v2" + path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._send("PATCH", "/api/v2" + path, body)

    def clients(self, name: str | None = None) -> list[dict]:
        items = self.get("/clients?per_page=100")
        return [c for c in items if name is None or c["name"] == name]

    def roles(self) -> dict[str, dict]:
        return {r["name"]: r for r in self.get("/roles?per_page=100")}

    def members(self, role_id: str) -> list[str]:
        return sorted(u["email"] for u in self.get(f"/roles/{role_id}/users?per_page=100"))

    def bindings(self) -> list[dict]:
        return self.get("/actions/triggers/post-login/bindings")["bindings"]

    def user(self, email: str) -> dict:
        return self.post(
            "/users", {"connection": "Username-Password-Authentication", "email": email, "password": "S3cure!pass"}
        )

    def deployed_action(self, name: str, code: str = "exports.onExecutePostLogin = async () => {};") -> dict:
        action = self.post(
            "/actions/actions", {"name": name, "supported_triggers": [{"id": "post-login"}], "code": code}
        )
        while self.get(f"/actions/actions/{action['id']}")["status"] != "built":
            time.sleep(0.05)
        self.post(f"/actions/actions/{action['id']}/deploy")
        return action


def writes(log: list[dict]) -> list[tuple[str, str]]:
    """Calls that change the tenant (the token request is not one)."""
    return [(e["method"], e["path"]) for e in log if e["method"] != "GET" and e["path"] != "/oauth/token"]
