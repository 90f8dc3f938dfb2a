"""The stand-in Tekton Chains release holds the objects of the real v0.29.2 release the role relies on.

Upstream: tektoncd/chains v0.29.2 ``config/100-deployment.yaml`` (Namespace ``tekton-chains``, the
empty Secret ``signing-secrets`` mounted at ``/etc/signing-secrets``, ConfigMap ``chains-config``
without data, Deployment ``tekton-chains-controller``), ``config/100-rolebinding.yaml`` and
``config/observability-service.yaml`` (Service ``tekton-chains-metrics``, port ``http-metrics`` 9090).
The controller's securityContext is upstream's: it lacks what Pod Security ``restricted`` requires
(``runAsNonRoot: true``, ``capabilities.drop: [ALL]``, a ``seccompProfile``; kubernetes.io
docs/concepts/security/pod-security-standards), which is why the role labels the namespace baseline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sandbox.chainsgen import chains

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "sandbox/releases/tekton-releases/chains/previous/v0.29.2/release.yaml"


def docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(RELEASE.read_text()) if d]


def test_the_committed_release_is_what_chainsgen_writes() -> None:
    assert docs() == chains()


def test_the_objects_the_role_relies_on() -> None:
    named = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs()}
    assert ("Namespace", None, "tekton-chains") in named
    secret = named["Secret", "tekton-chains", "signing-secrets"]
    assert "data" not in secret  # filled by doks.gitops.cosign_keypair, never by the release
    assert "data" not in named["ConfigMap", "tekton-chains", "chains-config"]
    service = named["Service", "tekton-chains", "tekton-chains-metrics"]
    assert service["spec"]["ports"][0]["name"] == "http-metrics"
    deployment = named["Deployment", "tekton-chains", "tekton-chains-controller"]
    pod = deployment["spec"]["template"]["spec"]
    assert {"name": "signing-secrets", "secret": {"secretName": "signing-secrets"}} in pod["volumes"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["signing-secrets"] == "/etc/signing-secrets"
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_the_controller_is_not_restricted_clean_like_upstream() -> None:
    (deployment,) = [d for d in docs() if d["kind"] == "Deployment"]
    context = deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert context["runAsUser"] == 65532 and context["allowPrivilegeEscalation"] is False
    assert "runAsNonRoot" not in context and "seccompProfile" not in context and "capabilities" not in context
    defaults = yaml.safe_load((ROOT / "roles/tekton/defaults/main.yml").read_text())
    assert defaults["tekton_chains_pod_security"] == "baseline"
