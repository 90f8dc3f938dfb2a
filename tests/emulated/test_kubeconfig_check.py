"""doks.gitops.kubeconfig_check against the sandbox: a stale kubeconfig fails with the file and the fix.

Without the check, the first kubernetes.core task with a revoked or expired token ends in a Python
traceback (kubernetes.client.exceptions.UnauthorizedException) that names neither.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.doks.gitops.plugins.modules import doks_cluster, kubeconfig_check

from sandbox import client as sb
from tests.emulated.doks_helpers import DoSandbox, run_module

pytestmark = pytest.mark.sandbox

HINT = "run the play with --tags doks_cluster, which writes a fresh one there"


@pytest.fixture(scope="module")
def do_settings() -> dict[str, Any]:
    return {"digitalocean": {"provision_seconds": 0.2}}


@pytest.fixture
def written(do: DoSandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> tuple[Path, str]:
    """A cluster and the kubeconfig doks_cluster wrote for it: (path, cluster id)."""
    path = tmp_path / "c1.kubeconfig"
    pools = [{"name": "base", "size": "s-2vcpu-4gb", "count": 1}]
    result = run_module(
        doks_cluster.main,
        capsys,
        do.conn(name="c1", region="fra1", node_pools=pools, poll_interval=0.1, kubeconfig_path=str(path)),
    )
    assert result["kubeconfig_current"], result
    return path, result["cluster"]["id"]


def check(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, Any]:
    return run_module(kubeconfig_check.main, capsys, {"path": str(path), "renew_hint": HINT})


def token_of(path: Path) -> str:
    return yaml.safe_load(path.read_text())["users"][0]["user"]["token"]


def test_current_kubeconfig_passes_with_one_read(do: DoSandbox, capsys, written: tuple[Path, str]) -> None:
    path, _ = written
    mark = sb.last_seq(do.endpoints, "kubernetes")
    result = check(capsys, path)
    assert not result.failed and result["state"] == "ok" and not result["changed"]
    calls = [
        (e["method"], e["path"].rsplit("/", 1)[-1], e["status"]) for e in sb.requests(do.endpoints, "kubernetes", mark)
    ]
    assert calls == [("GET", "api", 200)]


def test_revoked_token_names_the_file_and_the_fix(do: DoSandbox, capsys, written: tuple[Path, str]) -> None:
    path, cluster_id = written
    sb.admin(do.endpoints, "digitalocean", "POST", "revoke_kubeconfig_tokens", {"cluster_id": cluster_id})
    result = check(capsys, path)
    assert result.failed and result["state"] == "rejected"
    assert re.fullmatch(
        rf"The kubeconfig {re.escape(str(path))} cannot be used: the cluster at https://\S+ refused its token "
        rf"\(HTTP 401\): it expired or was revoked\. To renew it, {re.escape(HINT)}\.",
        result["msg"],
    ), result["msg"]
    assert token_of(path) not in repr(result)


def test_expired_token_is_named_without_asking_the_cluster(do: DoSandbox, capsys, written: tuple[Path, str]) -> None:
    """The expiry doks_cluster wrote above the kubeconfig has passed: no request is needed."""
    path, _ = written
    path.write_text(re.sub(r"expires=\d+", "expires=1700000000", path.read_text(), count=1))
    mark = sb.last_seq(do.endpoints, "kubernetes")
    result = check(capsys, path)
    assert result.failed and result["state"] == "expired"
    assert (
        f"The kubeconfig {path} cannot be used: its token expired at 2023-11-14 22:13 UTC. To renew it,"
        in result["msg"]
    )
    assert sb.requests(do.endpoints, "kubernetes", mark) == []


def test_missing_and_broken_files_are_named(capsys, tmp_path: Path) -> None:
    missing = check(capsys, tmp_path / "absent.kubeconfig")
    assert missing.failed and missing["msg"] == (
        f"The kubeconfig {tmp_path / 'absent.kubeconfig'} cannot be used: the file does not exist. To renew it, {HINT}."
    )
    broken = tmp_path / "broken.kubeconfig"
    broken.write_text("apiVersion: v1\nusers: [\n")
    result = check(capsys, broken)
    assert result.failed and "cannot be used: it is not valid YAML (line 3)." in result["msg"], result["msg"]


def test_no_verdict_without_a_bearer_token_or_an_answer(do: DoSandbox, capsys, written: tuple[Path, str]) -> None:
    """Client certificates or an exec plugin cannot be checked this way, and a cluster that does not
    answer says nothing about the token: both pass, the Kubernetes tasks report what follows."""
    path, _ = written
    mark = sb.last_seq(do.endpoints, "kubernetes")
    sb.fault(do.endpoints, "kubernetes", status=503, path="/api$", count=1)
    unanswered = check(capsys, path)
    assert not unanswered.failed and unanswered["state"] == "unknown"
    assert "answered HTTP 503" in unanswered["detail"]
    assert [e["status"] for e in sb.requests(do.endpoints, "kubernetes", mark)] == [503]
    doc = yaml.safe_load(path.read_text())
    doc["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "doctl"}}
    path.write_text(yaml.safe_dump(doc))
    result = check(capsys, path)
    assert not result.failed and result["state"] == "unknown"
    assert result["detail"] == "its current context has no bearer token to check"
