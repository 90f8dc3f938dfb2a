"""Run doks.gitops DigitalOcean modules in-process against a private sandbox, read its state."""

from __future__ import annotations

import json
import ssl
import urllib.request
from typing import Any

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.config import Config
from kubernetes import config as k8s_config

from sandbox import client as sb
from tests.emulated.module_runner import as_target


class ModuleResult(dict):
    @property
    def failed(self) -> bool:
        return bool(self.get("failed"))


def run_module(main: Any, capsys: pytest.CaptureFixture[str], args: dict[str, Any]) -> ModuleResult:
    """Call a module's main() the way Ansible does and return its JSON result."""
    capsys.readouterr()
    with as_target(), patch_module_args(args), pytest.raises(SystemExit):
        main()
    out = capsys.readouterr().out
    result = ModuleResult(json.loads(out.strip().splitlines()[-1]))
    # ansible-core 2.19 sends warnings as WarningSummary objects; keep their messages
    result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else str(w) for w in result.get("warnings") or []]
    return result


class DoSandbox:
    """The DigitalOcean emulator of a running sandbox: connection args, state, request log."""

    def __init__(self, endpoints: dict[str, Any]) -> None:
        self.endpoints = endpoints
        self.url = endpoints["digitalocean"]["url"]
        self.token = endpoints["digitalocean"]["token"]
        self.ca = endpoints["ca_file"]

    def kube_api(self) -> Any:
        """A kubernetes client (ApiClient) of the sandbox's default cluster."""
        return k8s_config.new_client_from_config(self.endpoints["kubernetes"]["kubeconfig"])

    def conn(self, **extra: Any) -> dict[str, Any]:
        return {"api_url": self.url, "api_token": self.token, "ca_path": self.ca, **extra}

    def api(self, method: str, path: str, body: Any = None) -> Any:
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=self.ca)) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def s3(self, key: tuple[str, str] = ("sandbox-admin", "sandbox-admin-not-a-secret")) -> Any:
        """An S3 client of the Spaces emulator (path-style, the sandbox CA), the admin key by default."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoints["spaces"]["url"],
            region_name=self.endpoints["spaces"]["region"],
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            verify=self.ca,
            config=Config(s3={"addressing_style": "path"}),
        )

    def reset(self) -> None:
        sb.admin(self.endpoints, "digitalocean", "POST", "reset")

    def mark(self) -> int:
        return sb.last_seq(self.endpoints, "digitalocean")

    def log(self, since: int) -> list[dict[str, Any]]:
        return sb.requests(self.endpoints, "digitalocean", since)

    def calls(self, since: int) -> list[tuple[str, str, int]]:
        return [(e["method"], e["path"], e["status"]) for e in self.log(since)]

    def writes(self, since: int) -> list[tuple[str, str, int]]:
        return [c for c in self.calls(since) if c[0] != "GET"]

    def fault(self, **rule: Any) -> None:
        sb.fault(self.endpoints, "digitalocean", **rule)

    def cluster(self, name: str) -> dict[str, Any] | None:
        clusters = self.api("GET", "/v2/kubernetes/clusters?per_page=200")["kubernetes_clusters"]
        return next((c for c in clusters if c["name"] == name), None)

    def pool(self, cluster_name: str, pool_name: str) -> dict[str, Any]:
        cluster = self.cluster(cluster_name)
        assert cluster is not None
        return next(p for p in cluster["node_pools"] if p["name"] == pool_name)

    def versions(self) -> list[str]:
        return [v["slug"] for v in self.api("GET", "/v2/kubernetes/options")["options"]["versions"]]
