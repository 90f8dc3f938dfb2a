"""The platform as users run it: site.yml twice on the sandbox, then teardown.yml.

Every object the first converge leaves must pass the fidelity gate (judged as a real API server
would). The second converge must report 0 changed, send no state-changing request to DigitalOcean,
Auth0 or Spaces, and move no object's resourceVersion in the cluster; teardown must leave
nothing the platform created in any emulator.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.e2e.harness import ROOT, Sandbox, ansible_warnings, recap, state_writes

HOST = "sandbox-1"
STATE = Path(os.environ.get("SANDBOX_STATE_DIR") or ROOT / ".cache" / "sandbox-e2e")
ZONE = "sandbox.example.com"
HAND_RECORD = {"type": "A", "name": "www", "data": "192.0.2.10", "ttl": 300}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(STATE.resolve()).fresh() as box:
        yield box


def cluster_version(kubeconfig: Path) -> str:
    """The cluster-wide resourceVersion: it moves with every write to any object."""
    api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    return api.list_namespace().metadata.resource_version


def kubeconfig(box: Sandbox) -> Path:
    return box.state / f"{HOST}.kubeconfig"


def test_check_mode_previews_a_new_account_without_writing(sandbox: Sandbox) -> None:
    """The README's production preview (`--check --diff`) on an account with nothing yet: it runs
    to the end, says what each Kubernetes role would install, and no emulator sees a write."""
    marks = sandbox.log_marks()
    rc, out = sandbox.playbook("playbooks/site.yml", "--check", "--diff")
    assert rc == 0, out[-6000:]
    assert recap(out)[HOST]["failed"] == 0
    requests = sandbox.requests_since(marks)
    assert state_writes(requests) == []
    assert [e for e in requests.get("kubernetes", []) if e["method"] in {"POST", "PUT", "PATCH", "DELETE"}] == []
    for role in ("observability", "ingress_certmanager", "tekton", "argocd", "lofi_pipeline"):
        assert f"{role} would install" in out, role
    assert "kube-prometheus-stack" in out and "argo-cd" in out
    assert not kubeconfig(sandbox).exists()


def zone_records(box: Sandbox) -> list[tuple[str, str]]:
    """(type, name) of the shared zone's records other than NS and SOA."""
    found = box.do(f"/v2/domains/{ZONE}/records?per_page=200")["domain_records"]
    return sorted((r["type"], r["name"]) for r in found if r["type"] not in {"NS", "SOA"})


def test_first_converge(sandbox: Sandbox) -> None:
    # the zone lives outside the inventory (gitops_manage_dns_zone is false) and holds a record
    # made by hand: external-dns publishes into it, teardown removes only what external-dns owns
    do = sandbox.endpoints["digitalocean"]
    sandbox.call(f"{do['url']}/v2/domains", do["token"], {"name": ZONE})
    sandbox.call(f"{do['url']}/v2/domains/{ZONE}/records", do["token"], HAND_RECORD)
    rc, out = sandbox.playbook("playbooks/site.yml")
    assert rc == 0, out[-6000:]
    assert recap(out)[HOST]["failed"] == 0
    assert recap(out)[HOST]["changed"] > 0
    assert ansible_warnings(out) == []
    assert kubeconfig(sandbox).is_file()


def test_converged_objects_pass_the_fidelity_gate(sandbox: Sandbox) -> None:
    """Every object the converge left, in every virtual cluster, is one a real Kubernetes 1.31 API
    server accepts: its own schemas in strict mode (PyPI ``kubernetes-validate``), the API-server
    rules OpenAPI cannot carry, and each custom resource's CRD schema (``GET /_sandbox/audit``)."""
    assert sandbox.audit() == []


def test_second_converge_changes_nothing(sandbox: Sandbox) -> None:
    """...and prints no warning or deprecation: a clean run is quiet (the end summary stays)."""
    before = cluster_version(kubeconfig(sandbox))
    marks = sandbox.log_marks()
    rc, out = sandbox.playbook("playbooks/site.yml")
    assert rc == 0, out[-6000:]
    assert recap(out)[HOST]["changed"] == 0, out[-6000:]
    assert ansible_warnings(out) == []
    assert "WHAT CHANGED" in out and f"{HOST}: nothing changed" in out
    assert state_writes(sandbox.requests_since(marks)) == []
    assert cluster_version(kubeconfig(sandbox)) == before


def test_teardown_leaves_nothing(sandbox: Sandbox) -> None:
    """The cluster goes with the load balancers and volumes its controllers created, and the
    records external-dns published for it (owner id = the host); the hand-made record and the
    zone the inventory does not manage stay, and the summary says so."""
    load_balancers = sandbox.do("/v2/load_balancers")["load_balancers"]
    volumes = sandbox.do("/v2/volumes")["volumes"]
    published = [r for r in zone_records(sandbox) if r != ("A", HAND_RECORD["name"])]
    assert load_balancers and ("TXT", "a-argocd") in published, (load_balancers, published)
    rc, out = sandbox.playbook("playbooks/teardown.yml", "-e", f"teardown_confirm={HOST}")
    assert rc == 0, out[-6000:]
    assert sandbox.do("/v2/load_balancers")["load_balancers"] == []
    assert sandbox.do("/v2/volumes")["volumes"] == [], volumes
    assert zone_records(sandbox) == [("A", HAND_RECORD["name"])]
    assert f"kept record www.{ZONE} A: not managed by external-dns" in out
    assert f"removed record argocd.{ZONE} A" in out or f"removed record a-argocd.{ZONE} TXT" in out
    assert sandbox.do("/v2/kubernetes/clusters")["kubernetes_clusters"] == []
    assert sandbox.do("/v2/spaces/keys")["keys"] == []
    token = sandbox.auth0_token()
    clients = sandbox.auth0("/api/v2/clients", token)
    assert [c for c in clients if (c.get("client_metadata") or {}).get("managed_by")] == []
    assert sandbox.auth0("/api/v2/roles", token) == []
    assert sandbox.auth0("/api/v2/actions/actions", token)["actions"] == []
    s3 = sandbox.s3()
    assert s3.list_buckets()["Buckets"] == []
    assert not kubeconfig(sandbox).exists()
    rc, out = sandbox.playbook("playbooks/teardown.yml", "-e", f"teardown_confirm={HOST}")
    assert rc == 0, out[-6000:]
    assert recap(out)[HOST]["changed"] == 0


def test_teardown_refuses_without_confirmation(sandbox: Sandbox) -> None:
    rc, out = sandbox.playbook("playbooks/teardown.yml")
    assert rc != 0
    assert f"set teardown_confirm={HOST}" in out
