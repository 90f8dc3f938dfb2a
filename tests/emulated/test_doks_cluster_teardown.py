"""doks.gitops.doks_cluster state=absent without a kubeconfig: the cluster goes with the load
balancers and volumes the API lists for it, and with the DNS records its external-dns owns; the
other cluster's objects, another owner's records and hand-made records stay.

The emulated DOKS clusters run the cloud controller, the CSI driver and external-dns
(tools/sandbox/src/sandbox/digitalocean/cloud.py), so the objects come from Kubernetes workloads as on DOKS.
"""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.modules import doks_cluster

from sandbox import workloads as w
from tests.emulated.doks_helpers import DoSandbox, run_module

pytestmark = pytest.mark.sandbox

ZONE = "example.test"
OTHER_OWNER_TXT = '"heritage=external-dns,external-dns/owner=elsewhere,external-dns/resource=ingress/x/y"'


@pytest.fixture(scope="module")
def do_settings() -> dict[str, Any]:
    return {"digitalocean": {"provision_seconds": 0.3}}


def api_of(do: DoSandbox) -> w.DoApi:
    return w.DoApi(do.url, do.token, do.ca)


def cluster_with_workloads(api: w.DoApi, name: str) -> dict[str, Any]:
    """A running cluster with a LoadBalancer Service, a bound claim, and external-dns (owner =
    the cluster's name) publishing app-<name>.example.test behind the ingress controller's LB."""
    cluster = w.running_cluster(api, name)
    kc = w.kube(api, cluster["id"])
    w.ingress(kc, "app", f"app-{name}.{ZONE}")
    w.load_balancer_service(kc, "web")
    w.claim(kc, "data")
    w.external_dns(kc, api.token, name, ZONE)
    return cluster


def world(api: w.DoApi) -> dict[str, dict[str, Any]]:
    """Two clusters sharing the zone, a hand-made record, and a record another owner id holds."""
    api.call("POST", "/v2/domains", {"name": ZONE})
    api.call("POST", f"/v2/domains/{ZONE}/records", {"type": "A", "name": "www", "data": "192.0.2.1"})
    api.call("POST", f"/v2/domains/{ZONE}/records", {"type": "A", "name": "old", "data": "192.0.2.2"})
    api.call("POST", f"/v2/domains/{ZONE}/records", {"type": "TXT", "name": "a-old", "data": OTHER_OWNER_TXT})
    clusters = {name: cluster_with_workloads(api, name) for name in ("c1", "c2")}

    def settled() -> bool:
        names = {r[1] for r in w.records(api, ZONE)}
        lbs = api.get("/v2/load_balancers")["load_balancers"]
        return {"a-app-c1", "a-app-c2"} <= names and len(lbs) == 4 and len(api.get("/v2/volumes")["volumes"]) == 2

    w.wait_for("load balancers, volumes and records of both clusters", settled)
    return clusters


def associated(api: w.DoApi, cluster_id: str) -> dict[str, list[str]]:
    body = api.get(f"/v2/kubernetes/clusters/{cluster_id}/destroy_with_associated_resources")
    return {kind: sorted(i["name"] for i in body[kind]) for kind in ("load_balancers", "volumes")}


def teardown(do: DoSandbox, capsys: pytest.CaptureFixture[str], name: str, **extra: Any) -> dict[str, Any]:
    args = {"name": name, "state": "absent", "poll_interval": 0.1, "dns_owner_id": name, "dns_domain_filters": [ZONE]}
    return run_module(doks_cluster.main, capsys, do.conn(**{**args, **extra}))


def test_teardown_takes_this_clusters_objects_only(do: DoSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    api = api_of(do)
    clusters = world(api)
    mine, theirs = associated(api, clusters["c1"]["id"]), associated(api, clusters["c2"]["id"])
    records_before = w.records(api, ZONE)

    # check mode: the same report, no write
    mark = do.mark()
    preview = teardown(do, capsys, "c1", _ansible_check_mode=True, _ansible_diff=True)
    assert preview["changed"] and not preview.get("failed"), preview
    assert do.writes(mark) == []
    assert sorted(preview["removed"]["load_balancers"]) == mine["load_balancers"]
    assert preview["diff"]["before"]["volumes"] == mine["volumes"] and preview["diff"]["after"] == {}
    assert preview["summary"][0] == "would remove cluster c1"

    mark = do.mark()
    result = teardown(do, capsys, "c1")
    assert result["changed"] and not result.get("failed"), result
    assert {k: sorted(v) for k, v in result["removed"].items()} == {
        **mine,
        "volume_snapshots": [],
        "records": sorted([f"app-c1.{ZONE} A", f"a-app-c1.{ZONE} TXT"]),
    }
    assert result["removed"] == preview["removed"]
    # the summary names the cluster it deleted, not "nothing to remove" (what the playbook prints)
    assert result["summary"][0] == "removed cluster c1"
    kept = {k["name"]: k["reason"] for k in result["kept"]}
    assert kept[f"www.{ZONE} A"] == "not managed by external-dns"
    assert kept[f"old.{ZONE} A"] == kept[f"a-old.{ZONE} TXT"] == "external-dns owner elsewhere, not c1"
    assert kept[f"app-c2.{ZONE} A"] == "external-dns owner c2, not c1"
    # one selective destroy naming this cluster's ids, then the records (targets before registry)
    writes = [(m, p) for m, p, _s in do.writes(mark)]
    assert writes[0] == (
        "DELETE",
        f"/v2/kubernetes/clusters/{clusters['c1']['id']}/destroy_with_associated_resources/selective",
    )
    assert len(writes) == 3 and all(p.startswith(f"/v2/domains/{ZONE}/records/") for _m, p in writes[1:])

    assert do.cluster("c1") is None and do.cluster("c2") is not None
    assert associated(api, clusters["c2"]["id"]) == theirs
    left_lbs = sorted(lb["name"] for lb in api.get("/v2/load_balancers")["load_balancers"])
    assert left_lbs == theirs["load_balancers"]
    assert sorted(v["name"] for v in api.get("/v2/volumes")["volumes"]) == theirs["volumes"]
    # (the other cluster's A record may move to its ingress controller's address meanwhile)
    assert [r[:2] for r in w.records(api, ZONE)] == [
        r[:2] for r in records_before if r[1] not in {"app-c1", "a-app-c1"}
    ]

    mark = do.mark()
    again = teardown(do, capsys, "c1")
    assert not again["changed"], again["actions"]
    assert do.writes(mark) == []
    assert again["removed"] == {"load_balancers": [], "volumes": [], "volume_snapshots": [], "records": []}
    assert again["summary"] == ["nothing to remove: no cluster c1 and no DNS record of its owner id"] + [
        line for line in again["summary"] if line.startswith("kept ")
    ]


def test_kinds_not_named_are_left_and_reported(do: DoSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """associated_resources: [] is DigitalOcean's plain delete (kubernetes_delete_cluster.yml): the
    load balancer and the volume stay on the account, and the result says so."""
    api = api_of(do)
    cluster = w.running_cluster(api, "c3")
    kc = w.kube(api, cluster["id"])
    w.load_balancer_service(kc, "web", lb_name="keep-me")
    w.claim(kc, "data")
    w.wait_for("its load balancer and volume", lambda: all(associated(api, cluster["id"]).values()))
    mark = do.mark()
    result = teardown(
        do, capsys, "c3", associated_resources=["load_balancers"], dns_owner_id=None, dns_domain_filters=[]
    )
    assert result["removed"]["load_balancers"] == ["keep-me"] and result["removed"]["volumes"] == []
    assert [(k["kind"], k["reason"].split(" ")[0]) for k in result["kept"]] == [("volume", "volumes")]
    assert [p for _m, p, _s in do.writes(mark)] == [
        f"/v2/kubernetes/clusters/{cluster['id']}/destroy_with_associated_resources/selective"
    ]
    assert api.get("/v2/load_balancers")["load_balancers"] == []
    assert len(api.get("/v2/volumes")["volumes"]) == 1


@pytest.mark.parametrize(
    ("extra", "variable"),
    [({"dns_domain_filters": []}, "dns_domain_filters"), ({"dns_owner_id": " "}, "dns_owner_id")],
)
def test_bad_dns_options_fail_before_any_call(
    do: DoSandbox, capsys: pytest.CaptureFixture[str], extra: dict[str, Any], variable: str
) -> None:
    mark = do.mark()
    result = teardown(do, capsys, "c1", **extra)
    assert result["failed"] and result["msg"].startswith("invalid input: " + variable)
    assert do.calls(mark) == []
