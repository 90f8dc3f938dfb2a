"""The kyverno role's registry credential (tasks/registry.yml) on the sandbox's Kubernetes API.

Kyverno reads signatures and attestations from the registry with the Secrets of its own namespace
that the verifyImages rule names in ``imageRegistryCredentials.secrets`` (kyverno.io docs,
policy-types/cluster-policy/verify-images); the role writes that Secret, type
``kubernetes.io/dockerconfigjson``, from the inventory in clear or sealed (a SealedSecret whose
template has that type), through the shared writer of doks.gitops.gitops. The value is never
printed, ``--diff`` included, and a second run changes nothing.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s_client

from tests.emulated.doks_helpers import DoSandbox
from tests.unit.role_render import ROOT, inner_step_play, run_local_play

pytestmark = pytest.mark.sandbox

NS = "kyverno"
NAME = "kyverno-registry-credentials"
TOKEN = "dop_v1_read_only_sandbox_token"  # a made-up value the output must never show
AUTH = base64.b64encode(f"{TOKEN}:{TOKEN}".encode()).decode()
DOCKERCONFIG = json.dumps({"auths": {"registry.digitalocean.com": {"auth": AUTH}}})
SEALED = "AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq-kyverno-test-sealed-registry"
# what a leak would look like: the token, its auth entry, the whole config as the Secret stores it
NEVER_PRINTED = (TOKEN, AUTH, base64.b64encode(DOCKERCONFIG.encode()).decode(), SEALED)

PLAY = inner_step_play("Write the registry credential as the kyverno role does", "kyverno", "registry.yml")


def converge(do: DoSandbox, tmp_path: Path, credential: dict[str, str], *flags: str) -> dict[str, int]:
    extra: dict[str, Any] = {
        "gitops_kubeconfig": do.endpoints["kubernetes"]["kubeconfig"],
        "gitops_ca_bundle": do.endpoints["ca_bundle"],
        **credential,
    }
    return run_local_play(tmp_path, PLAY, extra, "--diff", *flags, never_printed=NEVER_PRINTED)[0]


@pytest.fixture
def namespace(do: DoSandbox) -> None:
    """The namespace the role's platform_namespaces step creates, without what an earlier test wrote."""
    core = k8s_client.CoreV1Api(do.kube_api())
    if not [n for n in core.list_namespace().items if n.metadata.name == NS]:
        core.create_namespace({"metadata": {"name": NS}})
    for secret in core.list_namespaced_secret(NS).items:
        core.delete_namespaced_secret(secret.metadata.name, NS)


@pytest.mark.usefixtures("namespace")
def test_a_clear_credential_becomes_a_dockerconfigjson_secret(do: DoSandbox, tmp_path: Path) -> None:
    credential = {"kyverno_registry_dockerconfigjson": DOCKERCONFIG}
    core = k8s_client.CoreV1Api(do.kube_api())
    assert converge(do, tmp_path, credential, "--check")["changed"] == 1
    assert core.list_namespaced_secret(NS).items == []  # check mode wrote nothing
    assert converge(do, tmp_path, credential)["changed"] == 1
    secret = core.read_namespaced_secret(NAME, NS)
    assert secret.type == "kubernetes.io/dockerconfigjson"
    assert base64.b64decode(secret.data[".dockerconfigjson"]).decode() == DOCKERCONFIG
    assert secret.metadata.labels == {
        "app.kubernetes.io/managed-by": "doks.gitops",
        "app.kubernetes.io/part-of": "kyverno",
    }
    assert converge(do, tmp_path, credential)["changed"] == 0


@pytest.mark.usefixtures("namespace")
def test_a_sealed_credential_becomes_a_sealedsecret_of_that_type(do: DoSandbox, tmp_path: Path) -> None:
    crd = ROOT / "tools/sandbox/src/sandbox/charts/sealed-secrets/crds/sealedsecrets.bitnami.com.yaml"
    assert crd.is_file(), "the sealed-secrets CRD is missing: run `python -m sandbox.crdgen upstream`"
    extensions = k8s_client.ApiextensionsV1Api(do.kube_api())
    if not [c for c in extensions.list_custom_resource_definition().items if c.metadata.name == crd.stem]:
        extensions.create_custom_resource_definition(yaml.safe_load(crd.read_text()))
    credential = {"kyverno_sealed_registry": SEALED, "kyverno_sealed_scope": "namespace-wide"}
    assert converge(do, tmp_path, credential)["changed"] == 1
    sealed = k8s_client.CustomObjectsApi(do.kube_api()).get_namespaced_custom_object(
        "bitnami.com", "v1alpha1", NS, "sealedsecrets", NAME
    )
    assert sealed["spec"]["encryptedData"] == {".dockerconfigjson": SEALED}
    assert sealed["spec"]["template"]["type"] == "kubernetes.io/dockerconfigjson"
    assert sealed["metadata"]["annotations"] == {"sealedsecrets.bitnami.com/namespace-wide": "true"}
    assert converge(do, tmp_path, credential)["changed"] == 0
