"""The Kubernetes emulator judged by the real helm 3.17: CRDs, --wait, hooks, upgrade, uninstall."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import yaml
from sandbox_tools import TOOLS, run

HELM = str(TOOLS / "helm")
KUBECTL = str(TOOLS / "kubectl")
CHART = Path(__file__).parent / "charts" / "demo"


def kget(env: dict[str, str], *args: str) -> dict:
    return json.loads(run(env, KUBECTL, "get", *args, "-o", "json").stdout)


def _release(env: dict[str, str], namespace: str, name: str, revision: int) -> dict:
    secret = kget(env, "secret", f"sh.helm.release.v1.{name}.v{revision}", "-n", namespace)
    assert secret["type"] == "helm.sh/release.v1"
    payload = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    return json.loads(gzip.decompress(payload))


def test_helm_install_upgrade_uninstall(kube_env: dict[str, str], tmp_path: Path) -> None:
    package = run(kube_env, HELM, "package", str(CHART), "--destination", str(tmp_path)).stdout
    archive = tmp_path / "demo-0.1.0.tgz"
    assert archive.exists(), package
    args = [
        "upgrade",
        "--install",
        "demo",
        str(archive),
        "-n",
        "helm-demo",
        "--create-namespace",
        "--wait",
        "--timeout",
        "60s",
    ]
    first = run(kube_env, HELM, *args, "--set", "message=first")
    assert "STATUS: deployed" in first.stdout
    assert "REVISION: 1" in first.stdout
    # crds/ was installed and established, the custom resource exists.
    crd = kget(kube_env, "crd", "gadgets.demo.example.com")
    assert {c["type"] for c in crd["status"]["conditions"] if c["status"] == "True"} >= {"Established", "NamesAccepted"}
    assert kget(kube_env, "gadget", "demo-gadget", "-n", "helm-demo")["spec"] == {"size": 2, "color": "blue"}
    deployment = kget(kube_env, "deployment", "demo-web", "-n", "helm-demo")
    assert deployment["status"]["readyReplicas"] == 2
    # the post-install hook Job ran to completion before helm returned
    job = kget(kube_env, "job", "demo-post-install", "-n", "helm-demo")
    assert job["status"]["succeeded"] == 1
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])
    pods = kget(kube_env, "pods", "-n", "helm-demo", "-l", "app.kubernetes.io/instance=demo")["items"]
    web = [p for p in pods if p["metadata"]["name"].startswith("demo-web-")]
    assert {p["spec"]["nodeName"] for p in web} == {"tools-1"}

    second = run(kube_env, HELM, *args, "--set", "message=second")
    assert "REVISION: 2" in second.stdout
    values = yaml.safe_load(run(kube_env, HELM, "get", "values", "demo", "-n", "helm-demo", "-o", "yaml").stdout)
    assert values == {"message": "second"}
    assert kget(kube_env, "configmap", "demo-config", "-n", "helm-demo")["data"] == {"message": "second"}
    assert _release(kube_env, "helm-demo", "demo", 2)["info"]["status"] == "deployed"
    assert _release(kube_env, "helm-demo", "demo", 1)["info"]["status"] == "superseded"
    # the changed config checksum rolled the Deployment to a new ReplicaSet
    sets = kget(kube_env, "replicasets", "-n", "helm-demo")["items"]
    assert sorted(rs["spec"]["replicas"] for rs in sets) == [0, 2]
    assert kget(kube_env, "deployment", "demo-web", "-n", "helm-demo")["metadata"]["generation"] == 2

    status = json.loads(run(kube_env, HELM, "status", "demo", "-n", "helm-demo", "-o", "json").stdout)
    assert status["info"]["status"] == "deployed"
    out = run(kube_env, HELM, "uninstall", "demo", "-n", "helm-demo", "--wait").stdout
    assert 'release "demo" uninstalled' in out
    for kind in ("deployments", "services", "configmaps", "secrets", "gadgets"):
        items = kget(kube_env, kind, "-n", "helm-demo")["items"]
        assert [i["metadata"]["name"] for i in items if i["metadata"]["name"] != "kube-root-ca.crt"] == []
    # CRDs from crds/ are never deleted by helm
    assert kget(kube_env, "crd", "gadgets.demo.example.com")["metadata"]["name"] == "gadgets.demo.example.com"
