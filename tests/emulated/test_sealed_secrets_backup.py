"""The sealed-secrets key backup of ingress_certmanager (tasks/sealed_secrets_restore.yml and
sealed_secrets_backup.yml) on the sandbox: the Spaces object holds no plaintext, and a rebuilt
cluster gets the same key back before the controller starts.

sealed-secrets uses the kubernetes.io/tls Secrets of its namespace labelled
``sealedsecrets.bitnami.com/sealed-secrets-key=active`` and generates one only when there is none
(bitnami-labs/sealed-secrets README, "Bring your own certificates"); the kube emulator's
controller does the same (tools/sandbox/src/sandbox/kube/controllers.py, sealed_secrets_keys).
"""

from __future__ import annotations

import base64
import contextlib
import time
from pathlib import Path

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from tests.emulated.doks_helpers import DoSandbox
from tests.unit.role_render import inner_step_play, run_local_play

pytestmark = pytest.mark.sandbox

NS = "kube-system"
LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
BUCKET = "c1-logs"
OBJECT = "backups/sealed-secrets-keys.json.enc"
PASSPHRASE = "sandbox-only backup passphrase"

PLAY = inner_step_play("Run a step of the sealed-secrets key backup", "ingress_certmanager", '"{{ step }}"')


def converge(do: DoSandbox, tmp_path: Path, step: str) -> dict[str, int]:
    eps = do.endpoints
    extra = {
        "step": step,
        "gitops_kubeconfig": eps["kubernetes"]["kubeconfig"],
        "gitops_ca_bundle": eps["ca_bundle"],
        "ingress_certmanager_sealed_secrets_backup_enabled": True,
        "ingress_certmanager_sealed_secrets_backup_passphrase": PASSPHRASE,
        "ingress_certmanager_sealed_secrets_backup_bucket": BUCKET,
        "ingress_certmanager_sealed_secrets_backup_endpoint": eps["spaces"]["url"],
        "ingress_certmanager_sealed_secrets_backup_region": eps["spaces"]["region"],
        "ingress_certmanager_sealed_secrets_backup_access_key_id": "sandbox-admin",
        "ingress_certmanager_sealed_secrets_backup_secret_access_key": "sandbox-admin-not-a-secret",
    }
    return run_local_play(tmp_path, PLAY, extra, never_printed=(PASSPHRASE,))[0]


def core(do: DoSandbox) -> k8s_client.CoreV1Api:
    return k8s_client.CoreV1Api(k8s_config.new_client_from_config(do.endpoints["kubernetes"]["kubeconfig"]))


def apps(do: DoSandbox) -> k8s_client.AppsV1Api:
    return k8s_client.AppsV1Api(k8s_config.new_client_from_config(do.endpoints["kubernetes"]["kubeconfig"]))


def keys(do: DoSandbox) -> dict[str, str]:
    """Name -> tls.key of the controller's key Secrets."""
    items = core(do).list_namespaced_secret(NS, label_selector=LABEL).items
    return {s.metadata.name: s.data["tls.key"] for s in items}


def start_controller(do: DoSandbox) -> None:
    """What the chart's Deployment does in the emulator: a running controller pod."""
    labels = {"app.kubernetes.io/name": "sealed-secrets", "app.kubernetes.io/instance": "sealed-secrets"}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "sealed-secrets-controller", "namespace": NS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "controller", "image": "docker.io/bitnami/sealed-secrets-controller"}]
                },
            },
        },
    }
    apps(do).create_namespaced_deployment(NS, body)
    for _ in range(300):
        if keys(do):
            return
        time.sleep(0.1)
    raise AssertionError("the emulated controller never had a key")


def rebuild(do: DoSandbox) -> None:
    """A new cluster: no controller, no key Secret (the bucket stays)."""
    apps(do).delete_namespaced_deployment("sealed-secrets-controller", NS)
    for name in keys(do):
        core(do).delete_namespaced_secret(name, NS)
    with contextlib.suppress(Exception):
        for _ in range(100):
            apps(do).read_namespaced_deployment("sealed-secrets-controller", NS)
            time.sleep(0.1)


def test_backup_is_encrypted_and_a_rebuilt_cluster_gets_the_same_key(do: DoSandbox, tmp_path: Path) -> None:
    with contextlib.suppress(Exception):
        do.s3().create_bucket(Bucket=BUCKET)
    assert converge(do, tmp_path, "sealed_secrets_restore.yml")["changed"] == 0  # nothing to restore
    start_controller(do)
    first = keys(do)
    assert len(first) == 1
    assert converge(do, tmp_path, "sealed_secrets_backup.yml")["changed"] == 1
    stored = do.s3().get_object(Bucket=BUCKET, Key=OBJECT)["Body"].read()
    (tls_key,) = first.values()
    assert tls_key.encode() not in stored
    assert base64.b64decode(tls_key) not in stored
    assert b"PRIVATE KEY" not in stored
    assert converge(do, tmp_path, "sealed_secrets_backup.yml")["changed"] == 0  # same keys: no write

    rebuild(do)
    assert keys(do) == {}
    assert converge(do, tmp_path, "sealed_secrets_restore.yml")["changed"] == 1
    assert keys(do) == first  # back before the controller starts
    start_controller(do)
    time.sleep(0.5)
    assert keys(do) == first  # the controller uses it and generates none
    assert converge(do, tmp_path, "sealed_secrets_backup.yml")["changed"] == 0
    assert converge(do, tmp_path, "sealed_secrets_restore.yml")["changed"] == 0
