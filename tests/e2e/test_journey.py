"""The user journey (issue #17) on one sandbox and one inventory, in order; each step starts from
the state the previous one left.

1. ``--check --diff`` on an account with nothing yet: no write anywhere, and the output lists the
   cluster, the bucket, the Spaces key, the Auth0 applications and every role's releases.
2. Converge (at -vvv: the secret-leak scan reads it); every object passes the fidelity gate; a
   second converge changes nothing.
3. A change that reaches a Helm release and the API (a Grafana setting, a pool size): ``--check
   --diff`` shows it and writes nothing, then the run applies exactly those two tasks.
4. Each role alone with its tag, single sign-on on: 0 changed, nothing written, the same end
   summary as a full run (the roles read back what auth0_apps published).
5. An application added to ``lofi_pipeline_apps`` is wired; removed, its objects are pruned.
6. A second cluster in the same inventory, with Helm delivery where the first has Argo CD's: both
   converge, both exist.
7. Teardown of that second cluster with no kubeconfig on the controller: its cluster, key, bucket
   and Auth0 applications go; the first cluster keeps all of its own and the shared groups.
8. The torn-down cluster is created again.

Every ansible-playbook run is timed (``<state dir>/journey-timings.json``): the journey shares its
converges, so it costs one first converge per cluster plus one no-op run per later step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.e2e.harness import ROOT, WRITE_METHODS, Sandbox, ansible_warnings, recap, state_writes
from tests.e2e.leaks import leaks

FIRST, SECOND = "sandbox-1", "sandbox-2"
STATE = Path(os.environ.get("SANDBOX_STATE_DIR") or ROOT / ".cache" / "sandbox-e2e")
TAGS = ("doks_cluster", "auth0_apps", "observability", "ingress_certmanager", "tekton", "argocd", "lofi_pipeline")
# Step 3's change: a Grafana setting (kube-prometheus-stack values) and a node pool's size (the API).
CHANGE = {"doks_cluster_base_count": 2, "observability_grafana_oidc_scopes": "openid profile email offline_access"}
CHANGED_TASKS = {
    "doks_cluster": [f"Create or reconcile the node pools and settings of cluster {FIRST}"],
    # gitops_delivery defaults to argocd: the values change reaches the cluster as the Application's
    # helm.valuesObject, which Argo CD then syncs
    "gitops": ["Declare the Argo CD Application and wait until delivered: argocd/kube-prometheus-stack"],
}
# The zones live outside the inventory (gitops_manage_dns_zone is false); each cluster's external-dns
# publishes into its own, and a record made by hand stays through every teardown.
ZONES = {FIRST: "sandbox.example.com", SECOND: "two.sandbox.example.com"}
HAND_RECORD = {"type": "A", "name": "www", "data": "192.0.2.10", "ttl": 300}
READ_BACK = "Read the issuer and the client credentials from Auth0 (no write)"


@dataclass
class Journey:
    box: Sandbox
    inventory: Path
    settings: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    first_cloud: dict[str, Any] = field(default_factory=dict)

    def run(self, step: str, playbook: str, *args: str) -> tuple[int, str]:
        start = time.monotonic()
        rc, out = self.box.playbook(playbook, *args, inventory=str(self.inventory))
        self.timings[step] = round(time.monotonic() - start, 1)
        (self.box.state / "journey-timings.json").write_text(json.dumps(self.timings, indent=2))
        return rc, out

    def set(self, **values: Any) -> None:
        """Change the inventory (group_vars/all/journey.yml) as a user edits it."""
        self.settings.update(values)
        (self.inventory / "group_vars" / "all" / "journey.yml").write_text(yaml.safe_dump(self.settings))

    def add_host(self, host: str, domain: str) -> None:
        hosts = yaml.safe_load((self.inventory / "hosts.yml").read_text())
        hosts["clusters"]["hosts"][host] = dict(hosts["clusters"]["hosts"][FIRST])
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
        (self.inventory / "host_vars").mkdir(exist_ok=True)
        # the second cluster runs the platform without the CI/CD roles (Tekton, the lofi pipeline): what
        # it adds to the journey (two hosts, shared tenant, teardown of one) needs only the platform.
        # It keeps Helm delivery, so one inventory mixes the modes: the first cluster converges with
        # Argo CD delivery, the second with Helm, and it is the second that is torn down and re-created.
        lighter = {
            "gitops_domain": domain,
            "gitops_delivery": "helm",
            "tekton_enabled": False,
            "lofi_pipeline_enabled": False,
        }
        (self.inventory / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(lighter))

    def kubeconfig(self, host: str) -> Path:
        return self.box.state / f"{host}.kubeconfig"

    def kube(self, host: str) -> client.CoreV1Api:
        return client.CoreV1Api(config.new_client_from_config(str(self.kubeconfig(host))))


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    inventory = tmp_path_factory.mktemp("journey") / "inventory"
    shutil.copytree(ROOT / "inventories" / "sandbox", inventory)
    with Sandbox(STATE.resolve()).fresh() as box:
        yield Journey(box, inventory)


# ------------------------------------------------------------------------------ reading the output
def changes(out: str) -> dict[str, dict[str, list[str]]]:
    """The end summary's WHAT CHANGED block: host -> role -> task names."""
    found: dict[str, dict[str, list[str]]] = {}
    host = role = ""
    for line in out.split("WHAT CHANGED", 1)[1].splitlines()[1:]:
        if m := re.match(r"^(\S+): nothing changed$", line):
            found[m[1]] = {}
        elif m := re.match(r"^(\S+):$", line):
            host = m[1]
            found[host] = {}
        elif m := re.match(r"^  (\S+):$", line):
            role = m[1]
            found[host][role] = []
        elif m := re.match(r"^    - (.*)$", line):
            found[host][role].append(m[1])
        elif line.strip() and not line.startswith(" "):
            break
    return found


def summary(out: str, host: str) -> list[str]:
    """The lines of the play's end summary (URLs, where credentials live) for one host."""
    block = out.split("TASK [Summarize where the platform answers", 1)[1].split(f"ok: [{host}] =>", 1)[1]
    lines = []
    for line in block.splitlines()[1:]:
        if line and not line.startswith(" "):
            break
        lines.append(line)
    return yaml.safe_load("\n".join(lines))["msg"]


def cluster_version(box: Journey, host: str) -> str:
    """The cluster-wide resourceVersion: it moves with every write to any object."""
    return box.kube(host).list_namespace().metadata.resource_version


def kube_writes(requests: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in requests.get("kubernetes", []) if e["method"] in WRITE_METHODS]


def managed_clients(box: Sandbox) -> dict[str, str]:
    """Auth0 applications doks.gitops owns: name -> owner."""
    token = box.auth0_token()
    return {
        c["name"]: c["client_metadata"]["managed_by"]
        for c in box.auth0("/api/v2/clients", token)
        if (c.get("client_metadata") or {}).get("managed_by")
    }


def zone_records(box: Sandbox, zone: str) -> list[tuple[str, str]]:
    """(type, name) of a zone's records other than NS and SOA."""
    found = box.do(f"/v2/domains/{zone}/records?per_page=200")["domain_records"]
    return sorted((r["type"], r["name"]) for r in found if r["type"] not in {"NS", "SOA"})


def cloud(box: Sandbox, host: str) -> dict[str, Any]:
    """What the DigitalOcean account holds: load balancer and volume ids, and the host's zone records."""
    return {
        "load balancers": sorted(lb["id"] for lb in box.do("/v2/load_balancers")["load_balancers"]),
        "volumes": sorted(v["id"] for v in box.do("/v2/volumes")["volumes"]),
        "records": zone_records(box, ZONES[host]),
    }


def clusters(box: Sandbox) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in box.do("/v2/kubernetes/clusters")["kubernetes_clusters"]}


# ------------------------------------------------------------------------------ 1. preview
def test_preview_of_a_new_cluster_writes_nothing_and_lists_what_it_would_create(journey: Journey) -> None:
    box = journey.box
    marks = box.log_marks()
    rc, out = journey.run("1 preview of a new cluster (--check --diff)", "playbooks/site.yml", "--check", "--diff")
    assert rc == 0, out[-6000:]
    requests = box.requests_since(marks)
    assert state_writes(requests) == []
    assert kube_writes(requests) == []
    assert not journey.kubeconfig(FIRST).exists()
    would = changes(out)[FIRST]
    assert f"Create or reconcile the node pools and settings of cluster {FIRST}" in would["doks_cluster"]
    assert f"Would create the Spaces bucket {FIRST}-logs" in out
    assert f"Report that check mode would create the Spaces bucket {FIRST}-logs" in would["doks_cluster"]
    assert f"Ensure the bucket-scoped Spaces key {FIRST}-loki" in would["doks_cluster"]
    assert f"+    name: {FIRST}" in out  # the cluster's diff
    for app in ("argocd", "grafana", "oauth2_proxy"):
        assert re.search(rf"{FIRST}-{app}:\n\s+action: created", out), app
    for role in ("observability", "ingress_certmanager", "tekton", "argocd", "lofi_pipeline"):
        assert f"{role} would install" in out, role
    for release in ("kube-prometheus-stack", "loki", "cert-manager", "argo-cd", "pipeline v1.15.0"):
        assert release in out, release


# ------------------------------------------------------------------------------ 2. converge
def test_converge_passes_the_fidelity_gate_and_leaks_no_secret(journey: Journey) -> None:
    """The first converge runs at -vvv: the secret-leak scan (tests/e2e/leaks.py) reads its output,
    the Helm values, the Argo CD Applications and the ConfigMaps it left."""
    box = journey.box
    do = box.endpoints["digitalocean"]
    for zone in ZONES.values():
        box.call(f"{do['url']}/v2/domains", do["token"], {"name": zone})
        box.call(f"{do['url']}/v2/domains/{zone}/records", do["token"], HAND_RECORD)
    rc, out = journey.run("2 first converge (-vvv)", "playbooks/site.yml", "-vvv")
    assert rc == 0, out[-6000:]
    assert recap(out)[FIRST]["changed"] > 0
    assert ansible_warnings(out) == []
    assert journey.kubeconfig(FIRST).is_file()
    assert journey.box.audit() == []
    assert leaks(journey.box, out) == []


def test_the_converged_platform_reads_back(journey: Journey) -> None:
    """molecule/site's verify (pools and taints, releases, Ingresses and TLS, SSO wiring, Argo CD, the
    pipeline, no secret in Helm values) on the journey's cluster: the same checks as `molecule test -s
    site`, without a converge, idempotence run and teardown of its own (the journey has them)."""
    rc, out = journey.run("2 verify the platform from the APIs", "molecule/site/verify.yml")
    assert rc == 0, out[-6000:]
    assert recap(out)[FIRST]["failed"] == 0


def test_second_converge_changes_nothing(journey: Journey) -> None:
    box = journey.box
    before = cluster_version(journey, FIRST)
    marks = box.log_marks()
    rc, out = journey.run("2 second converge (no-op)", "playbooks/site.yml")
    assert rc == 0, out[-6000:]
    assert recap(out)[FIRST]["changed"] == 0, changes(out)
    assert ansible_warnings(out) == []
    assert changes(out) == {FIRST: {}}
    assert state_writes(box.requests_since(marks)) == []
    assert cluster_version(journey, FIRST) == before
    journey.summary = summary(out, FIRST)
    assert journey.summary[0].startswith("Argo CD: https://argocd.sandbox.example.com (SSO via https://")


# ------------------------------------------------------------------------------ 3. a change
def test_preview_of_a_change_shows_its_diff_and_writes_nothing(journey: Journey) -> None:
    box = journey.box
    journey.set(**CHANGE)
    before = cluster_version(journey, FIRST)
    marks = box.log_marks()
    rc, out = journey.run("3 preview of a change (--check --diff)", "playbooks/site.yml", "--check", "--diff")
    assert rc == 0, out[-6000:]
    assert changes(out)[FIRST] == CHANGED_TASKS
    assert re.search(r"^-\s+count: 1\n\+\s+count: 2$", out, re.MULTILINE), "no readable diff of the pool size"
    assert re.search(r"^\+.*offline_access", out, re.MULTILINE), "no Helm values diff of the Grafana scopes"
    assert state_writes(box.requests_since(marks)) == []
    assert cluster_version(journey, FIRST) == before


def test_the_change_applies_exactly(journey: Journey) -> None:
    """The run that applies the change is limited to the two roles the preview named (``--tags``):
    the whole-site preview before it showed that no other task would change and that nothing
    would be written, so a full run would only repeat the second converge's no-op for the rest
    (about two minutes of CI)."""
    box = journey.box
    marks = box.log_marks()
    rc, out = journey.run("3 apply the change", "playbooks/site.yml", "--tags", "doks_cluster,observability")
    assert rc == 0, out[-6000:]
    assert changes(out)[FIRST] == CHANGED_TASKS
    writes = state_writes(box.requests_since(marks))
    assert writes and all(name == "digitalocean" and "/node_pools/" in path for name, _, path in writes), writes
    pools = {p["name"]: p["count"] for p in clusters(box)[FIRST]["node_pools"]}
    assert pools["base"] == CHANGE["doks_cluster_base_count"]


# ------------------------------------------------------------------------------ 4. each tag alone
@pytest.mark.parametrize("tag", TAGS)
def test_each_role_alone_with_its_tag(journey: Journey, tag: str) -> None:
    """SSO is on: observability, ingress_certmanager and argocd read the issuer and their client
    credentials back from Auth0 (check mode, no write); every run ends with the full run's summary."""
    box = journey.box
    before = cluster_version(journey, FIRST)
    marks = box.log_marks()
    rc, out = journey.run(f"4 --tags {tag}", "playbooks/site.yml", "--tags", tag)
    assert rc == 0, out[-6000:]
    assert recap(out)[FIRST]["changed"] == 0, changes(out)
    assert state_writes(box.requests_since(marks)) == []
    assert cluster_version(journey, FIRST) == before
    assert summary(out, FIRST) == journey.summary
    assert (READ_BACK in out) == (tag in {"observability", "ingress_certmanager", "argocd"})


# ------------------------------------------------------------------------------ 5. an application
def app_objects(journey: Journey, name: str) -> dict[str, bool]:
    api = config.new_client_from_config(str(journey.kubeconfig(FIRST)))
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    custom = client.CustomObjectsApi(api)
    namespaces = {n.metadata.name for n in core.list_namespace().items}
    bindings = {b.metadata.name for b in rbac.list_cluster_role_binding().items}
    apps = {
        a["metadata"]["name"]
        for a in custom.list_namespaced_custom_object("argoproj.io", "v1alpha1", "argocd", "applications")["items"]
    }
    return {
        "namespace": name in namespaces,
        "pipeline namespace": f"{name}-ci" in namespaces,
        "cluster role binding": f"{name}-ci-{name}-triggers-eventlistener" in bindings,
        "root Application": f"{name}-apps" in apps,
    }


def test_preview_of_an_added_application_writes_nothing(journey: Journey) -> None:
    """A dry run cannot create a ServiceAccount in a namespace the same run would create (404):
    the preview reports the new application's namespaced objects instead of sending them."""
    box = journey.box
    journey.set(lofi_pipeline_apps=[{"name": "lofi"}, {"name": "demo"}])
    marks = box.log_marks()
    rc, out = journey.run(
        "5 preview an added application (--check --diff)",
        "playbooks/site.yml",
        "--tags",
        "argocd,lofi_pipeline",
        "--check",
        "--diff",
    )
    assert rc == 0, out[-6000:]
    assert "Would create, in the new namespaces demo and demo-ci" in out
    assert state_writes(box.requests_since(marks)) == []
    assert not any(app_objects(journey, "demo").values())


def test_an_added_application_is_wired(journey: Journey) -> None:
    rc, out = journey.run("5 add an application", "playbooks/site.yml", "--tags", "argocd,lofi_pipeline")
    assert rc == 0, out[-6000:]
    assert changes(out)[FIRST]["argocd"] == ["Apply the AppProjects"]
    assert "Create the root Application of demo" in changes(out)[FIRST]["lofi_pipeline"]
    assert all(app_objects(journey, "demo").values()), app_objects(journey, "demo")
    assert "GitHub webhook demo: https://hooks.sandbox.example.com/demo" in " ".join(summary(out, FIRST))


def test_a_removed_application_is_pruned(journey: Journey) -> None:
    journey.set(lofi_pipeline_apps=[{"name": "lofi"}])
    rc, out = journey.run("5 remove the application", "playbooks/site.yml", "--tags", "argocd,lofi_pipeline")
    assert rc == 0, out[-6000:]
    assert changes(out)[FIRST] == {
        "argocd": ["Apply the AppProjects"],
        "lofi_pipeline": ["Remove the objects of applications the inventory no longer names"],
    }
    assert not any(app_objects(journey, "demo").values()), app_objects(journey, "demo")
    assert all(app_objects(journey, "lofi").values()), app_objects(journey, "lofi")


# ------------------------------------------------------------------------------ 6. a second cluster
def helm_releases(journey: Journey, host: str) -> set[str]:
    """Helm 3 stores each release revision as a Secret labelled owner=helm, name=<release>."""
    secrets = journey.kube(host).list_secret_for_all_namespaces(label_selector="owner=helm").items
    return {secret.metadata.labels["name"] for secret in secrets}


def test_a_second_cluster_in_the_same_inventory(journey: Journey) -> None:
    """Both hosts in one run (forks): the first changes nothing, the second is created."""
    box = journey.box
    journey.first_cloud = cloud(box, FIRST)
    journey.add_host(SECOND, ZONES[SECOND])
    # the sandbox inventory lets teardown remove the tenant's shared groups and Action
    # (auth0_apps_teardown_shared): with a second cluster on the tenant, teardown must keep them
    before = cluster_version(journey, FIRST)
    rc, out = journey.run("6 second cluster (both hosts)", "playbooks/site.yml")
    assert rc == 0, out[-6000:]
    assert recap(out)[FIRST]["changed"] == 0, changes(out)[FIRST]
    assert recap(out)[SECOND]["changed"] > 0
    assert cluster_version(journey, FIRST) == before
    assert {FIRST, SECOND} <= set(clusters(box))
    assert {f"{FIRST}-logs", f"{SECOND}-logs"} <= {b["Name"] for b in box.s3().list_buckets()["Buckets"]}
    owners = managed_clients(box)
    for host in (FIRST, SECOND):
        assert {owners.get(f"{host}-{app}") for app in ("argocd", "grafana", "oauth2_proxy")} == {f"doks.gitops:{host}"}
    assert journey.kubeconfig(SECOND).is_file()
    assert box.audit() == []
    # the first cluster's platform is Argo CD's (Helm holds its bootstrap only), the second's is Helm's
    assert helm_releases(journey, FIRST) == {"argocd"}
    assert {"argocd", "cert-manager", "kube-prometheus-stack", "loki", "metrics-server"} <= helm_releases(
        journey, SECOND
    )


# ------------------------------------------------------------------------------ 7. teardown of one
def test_teardown_of_one_cluster_without_its_kubeconfig_leaves_the_other(journey: Journey) -> None:
    box = journey.box
    journey.kubeconfig(SECOND).unlink()
    keys_before = {k["name"] for k in box.do("/v2/spaces/keys")["keys"]}
    token = box.auth0_token()
    roles_before = sorted(r["name"] for r in box.auth0("/api/v2/roles", token))
    before = cluster_version(journey, FIRST)
    grown = cloud(box, SECOND)
    assert set(grown["load balancers"]) > set(journey.first_cloud["load balancers"]), grown
    assert set(grown["volumes"]) > set(journey.first_cloud["volumes"]), grown
    assert ("TXT", "a-argocd") in grown["records"], grown
    rc, out = journey.run(
        "7 teardown of the second cluster (no kubeconfig)",
        "playbooks/teardown.yml",
        "--limit",
        SECOND,
        "-e",
        f"teardown_confirm={SECOND}",
    )
    assert rc == 0, out[-6000:]
    assert set(clusters(box)) == {FIRST}
    assert {k["name"] for k in box.do("/v2/spaces/keys")["keys"]} == keys_before - {f"{SECOND}-loki"}
    assert {b["Name"] for b in box.s3().list_buckets()["Buckets"]} == {f"{FIRST}-logs"}
    owners = managed_clients(box)
    assert not [name for name in owners if name.startswith(f"{SECOND}-")]
    assert {owners.get(f"{FIRST}-{app}") for app in ("argocd", "grafana", "oauth2_proxy")} == {f"doks.gitops:{FIRST}"}
    # the groups and the groups-claim Action are the tenant's: the first cluster still uses them,
    # so they stay although the inventory lets teardown remove them, and the run says why
    assert f"still used by {FIRST} (same tenant in this inventory)" in out
    assert sorted(r["name"] for r in box.auth0("/api/v2/roles", token)) == roles_before
    assert [a["name"] for a in box.auth0("/api/v2/actions/actions", token)["actions"]] == ["gitops-groups-claim"]
    assert cluster_version(journey, FIRST) == before
    # the second cluster's load balancers, volumes and external-dns records went through the API
    assert cloud(box, FIRST) == journey.first_cloud
    assert cloud(box, SECOND)["load balancers"] == journey.first_cloud["load balancers"]
    assert cloud(box, SECOND)["volumes"] == journey.first_cloud["volumes"]
    assert zone_records(box, ZONES[SECOND]) == [("A", HAND_RECORD["name"])]
    assert f"kept record www.{ZONES[SECOND]} A: not managed by external-dns" in out


def test_teardown_refuses_without_confirmation(journey: Journey) -> None:
    rc, out = journey.run("7 teardown without confirmation", "playbooks/teardown.yml", "--limit", FIRST)
    assert rc != 0
    assert f"set teardown_confirm={FIRST}" in out
    assert FIRST in clusters(journey.box)


# ------------------------------------------------------------------------------ 8. re-create
def test_the_torn_down_cluster_is_created_again(journey: Journey) -> None:
    box = journey.box
    rc, out = journey.run("8 re-create the second cluster", "playbooks/site.yml", "--limit", SECOND)
    assert rc == 0, out[-6000:]
    assert recap(out)[SECOND]["changed"] > 0
    assert {FIRST, SECOND} <= set(clusters(box))
    assert journey.kubeconfig(SECOND).is_file()
    assert f"{SECOND}-logs" in {b["Name"] for b in box.s3().list_buckets()["Buckets"]}
    assert box.audit() == []
