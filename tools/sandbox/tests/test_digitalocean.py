"""Contract tests of the DigitalOcean API v2 emulator, judged by the official client (pydo)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pydo
import pytest
import yaml
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceResponseError,
)
from azure.core.rest import HttpRequest
from kubernetes import client as k8s
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from sandbox import client as sb
from sandbox import registry
from sandbox import workloads as w
from sandbox.digitalocean import DigitalOceanEmulator, scopes
from sandbox.server import Context
from sandbox.store import Store

pytestmark = pytest.mark.sandbox
KUBECTL = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "kubectl"


@pytest.fixture(scope="module")
def endpoints(sandbox_endpoints: dict[str, Any]) -> dict[str, Any]:
    """The session's sandbox (conftest.py); each test resets the DO emulator."""
    return sandbox_endpoints


@pytest.fixture
def do(endpoints: dict[str, Any]) -> pydo.Client:
    sb.admin(endpoints, "digitalocean", "POST", "reset")
    return client(endpoints)


def client(endpoints: dict[str, Any], token: str | None = None, **kw: Any) -> pydo.Client:
    ep = endpoints["digitalocean"]
    return pydo.Client(token=token or ep["token"], endpoint=ep["url"], connection_verify=endpoints["ca_file"], **kw)


POOL = {"name": "base", "size": "s-2vcpu-4gb", "count": 2}


def create(do: pydo.Client, name: str = "c1", **extra: Any) -> dict[str, Any]:
    body = {"name": name, "region": "fra1", "version": "latest", "node_pools": [dict(POOL)], **extra}
    return do.kubernetes.create_cluster(body)["kubernetes_cluster"]


def wait_running(do: pydo.Client, cluster_id: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster = do.kubernetes.get_cluster(cluster_id)["kubernetes_cluster"]
        nodes = [n for p in cluster["node_pools"] for n in p["nodes"]]
        if cluster["status"]["state"] == "running" and all(n["status"]["state"] == "running" for n in nodes):
            return cluster
        time.sleep(0.2)
    raise AssertionError(f"cluster {cluster_id} not running after {timeout}s")


def assert_not_found(call: Any) -> None:
    """pydo returns the documented 404 body for some operations and raises for others."""
    try:
        body = call()
    except ResourceNotFoundError as exc:
        body = exc.response.json()
    assert body["id"] == "not_found"


def raw(do: pydo.Client, method: str, path: str, **params: Any) -> Any:
    """pydo's documented escape hatch for what its generated code cannot parse (YAML)."""
    resp = do.send_request(HttpRequest(method, path, params=params), stream=True)
    resp.read()
    return resp


# ---------------------------------------------------------------------- auth, catalogue, errors
def test_token_is_required_and_checked(endpoints: dict[str, Any]) -> None:
    with pytest.raises(ClientAuthenticationError) as err:
        client(endpoints, token="dop_v1_" + "0" * 64).account.get()
    assert err.value.status_code == 401
    body = err.value.response.json()
    assert body["id"] == "Unauthorized"
    assert body["request_id"]


def test_endpoint_token_shape(endpoints: dict[str, Any]) -> None:
    assert endpoints["digitalocean"]["token"].startswith("dop_v1_")
    assert len(endpoints["digitalocean"]["token"]) == 7 + 64


def test_the_dns_token_is_a_second_token(endpoints: dict[str, Any]) -> None:
    ep = endpoints["digitalocean"]
    assert ep["dns_token"].startswith("dop_v1_") and len(ep["dns_token"]) == 7 + 64
    assert ep["dns_token"] != ep["token"]


def test_the_dns_token_manages_domain_records(do: pydo.Client, endpoints: dict[str, Any]) -> None:
    """A custom-scoped token with domain:read|create|update|delete does what external-dns and
    cert-manager's DNS-01 solver do: the scopes of specification/resources/domains/domains_*.yml
    (``security: - bearer_auth: ['domain:read']`` and so on)."""
    do.domains.create({"name": "example.com"})
    dns = client(endpoints, token=endpoints["digitalocean"]["dns_token"])
    assert [d["name"] for d in dns.domains.list()["domains"]] == ["example.com"]
    body = {"type": "A", "name": "www", "data": "192.0.2.1", "ttl": 300}
    record = dns.domains.create_record("example.com", body)["domain_record"]
    dns.domains.update_record("example.com", record["id"], {**body, "data": "192.0.2.2"})
    assert [r["data"] for r in dns.domains.list_records("example.com", type="A")["domain_records"]] == ["192.0.2.2"]
    dns.domains.delete_record("example.com", record["id"])
    assert dns.domains.list_records("example.com", type="A")["domain_records"] == []


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/v2/kubernetes/clusters", "kubernetes:read"),  # kubernetes/kubernetes_list_clusters.yml
        ("GET", "/v2/account", "account:read"),  # account/account_get.yml
        ("POST", "/v2/spaces/keys", "spaces_key:create_credentials"),  # spaces/key_create.yml
        ("GET", "/v2/projects", "project:read"),  # projects/projects_list.yml
    ],
)
def test_the_dns_token_is_refused_outside_its_scopes(
    do: pydo.Client, endpoints: dict[str, Any], method: str, path: str, scope: str
) -> None:
    """The operation's ``security`` names a scope the DNS token lacks: 403 with the API's error body
    (shared/responses/forbidden.yml: id ``forbidden``), and nothing is done."""
    dns = client(endpoints, token=endpoints["digitalocean"]["dns_token"])
    resp = (
        raw(dns, method, path) if method == "GET" else dns.send_request(HttpRequest(method, path, json={"name": "k"}))
    )
    assert resp.status_code == 403, resp.text()
    assert resp.json()["id"] == "forbidden" and resp.json()["message"] == scopes.FORBIDDEN_MESSAGE
    assert scopes.required(method, path) == ((scope,),)
    assert do.spaces_key.list()["keys"] == []


def test_the_dns_token_gets_403_from_pydo(endpoints: dict[str, Any]) -> None:
    dns = client(endpoints, token=endpoints["digitalocean"]["dns_token"])
    with pytest.raises(HttpResponseError) as err:
        dns.kubernetes.list_clusters()
    assert err.value.status_code == 403


def test_every_route_declares_its_scope(tmp_path: Path) -> None:
    """Each route the emulator serves has its spec ``security`` entry in sandbox/digitalocean/scopes.py
    (a route without one would refuse every scoped token)."""
    emulator = DigitalOceanEmulator(Context("digitalocean", Store(tmp_path / "do.json"), {}, {}))
    undeclared = [
        (method, pattern.pattern)
        for method, pattern, _ in emulator.routes
        if scopes.required(method, re.sub(r"\(\[\^/\]\+\)", "x1", pattern.pattern.strip("^$").removesuffix("/?")))
        is None
    ]
    assert undeclared == []


def test_account_regions_sizes_options(do: pydo.Client) -> None:
    assert do.account.get()["account"]["status"] == "active"
    regions = do.regions.list(per_page=200)
    assert "fra1" in {r["slug"] for r in regions["regions"]}
    sizes = do.sizes.list(per_page=200)["sizes"]
    assert "s-2vcpu-4gb" in {s["slug"] for s in sizes}
    options = do.kubernetes.list_options()["options"]
    assert options["versions"][0]["slug"].endswith("-do.0") or "-do." in options["versions"][0]["slug"]
    assert {"fra1", "nyc1"} <= {r["slug"] for r in options["regions"]}
    assert "s-2vcpu-4gb" in {s["slug"] for s in options["sizes"]}


def test_rate_limit_headers_on_every_response(do: pydo.Client) -> None:
    seen: dict[str, Any] = {}
    do.account.get(cls=lambda _resp, _body, headers: seen.update(headers))
    assert seen["ratelimit-limit"] == 5000
    assert 0 < seen["ratelimit-remaining"] <= 5000
    assert seen["ratelimit-reset"] > time.time()


def test_validation_errors_are_422_with_do_body(do: pydo.Client) -> None:
    with pytest.raises(HttpResponseError) as err:
        do.kubernetes.create_cluster({"name": "bad", "region": "nowhere", "version": "latest", "node_pools": [POOL]})
    assert err.value.status_code == 422
    body = err.value.response.json()
    assert body["id"] == "unprocessable_entity"
    assert "region" in body["message"]
    assert body["request_id"]


# ---------------------------------------------------------------------- clusters
def test_cluster_lifecycle_shape_and_nodes(do: pydo.Client) -> None:
    created = create(do, tags=["team"], maintenance_policy={"day": "sunday", "start_time": "03:00"})
    assert created["status"]["state"] == "provisioning"
    assert set(created["tags"]) == {"team", "k8s", f"k8s:{created['id']}"}
    assert created["maintenance_policy"]["day"] == "sunday"
    assert created["version"] == do.kubernetes.list_options()["options"]["versions"][0]["slug"]
    cluster = wait_running(do, created["id"])
    pool = cluster["node_pools"][0]
    assert pool["count"] == len(pool["nodes"]) == 2
    assert all(n["name"].startswith("base-") and n["droplet_id"] for n in pool["nodes"])
    assert {"k8s", "k8s-worker", f"k8s:{cluster['id']}"} <= set(pool["tags"])
    assert cluster["vpc_uuid"] and cluster["created_at"]
    updated = do.kubernetes.update_cluster(
        cluster["id"], {"name": "c1", "tags": ["other"], "auto_upgrade": True, "surge_upgrade": True}
    )["kubernetes_cluster"]
    assert updated["auto_upgrade"] and updated["surge_upgrade"]
    assert "team" not in updated["tags"] and "other" in updated["tags"]
    do.kubernetes.delete_cluster(cluster["id"])
    assert_not_found(lambda: do.kubernetes.get_cluster(cluster["id"]))


def test_node_pools_carry_the_automatic_tag_k8s_worker(do: pydo.Client) -> None:
    """github.com/digitalocean/openapi, specification/resources/kubernetes/models/node_pool.yml:
    "All node pools are automatically tagged `k8s`, `k8s-worker`, and `k8s:$K8S_CLUSTER_ID`."
    (not `k8s:worker`); an update of the user tags keeps them."""
    cluster = create(do)
    pool = cluster["node_pools"][0]
    assert pool["tags"][:3] == ["k8s", "k8s-worker", f"k8s:{cluster['id']}"]
    assert "k8s:worker" not in pool["tags"]
    added = do.kubernetes.add_node_pool(cluster["id"], {"name": "extra", "size": "s-2vcpu-4gb", "count": 1})
    assert "k8s-worker" in added["node_pool"]["tags"]
    updated = do.kubernetes.update_node_pool(cluster["id"], pool["id"], {"name": "base", "count": 2, "tags": ["x"]})
    assert set(updated["node_pool"]["tags"]) == {"k8s", "k8s-worker", f"k8s:{cluster['id']}", "x"}


def test_catalogue_offers_current_doks_versions(do: pydo.Client) -> None:
    """The options endpoint lists DOKS 1.36 (models/cluster.yml names "DOKS 1.36.0 and later"),
    newest first, slugs shaped like models/options.yml's `1.16.13-do.0`."""
    versions = do.kubernetes.list_options()["options"]["versions"]
    slugs = [v["slug"] for v in versions]
    assert slugs[0].startswith("1.36.")
    assert all(re.fullmatch(r"1\.\d+\.\d+-do\.\d+", s) for s in slugs)
    assert all(v["kubernetes_version"] == v["slug"].split("-")[0] for v in versions)


@pytest.mark.parametrize(
    ("minor", "sent", "expected"),
    [("1.36", None, True), ("1.35", None, False), ("1.36", False, False), ("1.35", True, True)],
)
def test_ha_default_depends_on_the_version(do: pydo.Client, minor: str, sent: bool | None, expected: bool) -> None:
    """models/cluster.yml, ha: "When omitted on create, the default is version-dependent; for
    DOKS 1.36.0 and later, the default is true; for earlier versions, the default is false."
    The version may be a minor ("If set to a minor version (e.g. "1.14"), the latest version
    within it will be used")."""
    extra = {} if sent is None else {"ha": sent}
    cluster = create(do, version=minor, **extra)
    assert cluster["version"].startswith(minor + ".")
    assert cluster["ha"] is expected


def test_ha_cannot_be_disabled(do: pydo.Client) -> None:
    """models/cluster_update.yml, ha: "The property cannot be disabled." A wrong request is refused
    with DigitalOcean's error body; turning it on is accepted."""
    cluster = create(do, version="1.35")
    assert cluster["ha"] is False
    on = do.kubernetes.update_cluster(cluster["id"], {"name": "c1", "ha": True})["kubernetes_cluster"]
    assert on["ha"] is True
    with pytest.raises(HttpResponseError) as err:
        do.kubernetes.update_cluster(cluster["id"], {"name": "c1", "ha": False})
    assert err.value.status_code == 422
    assert set(err.value.response.json()) == {"id", "message", "request_id"}


def test_node_pool_count_is_required_even_when_auto_scaled(do: pydo.Client) -> None:
    """models/node_pool.yml, kubernetes_node_pool: `required: [name, size, count]` (create, and the
    pools of a cluster create); kubernetes_node_pool_update: `required: [name, count]`."""
    cluster = create(do)
    scaled = {"name": "auto", "size": "s-2vcpu-4gb", "auto_scale": True, "min_nodes": 1, "max_nodes": 3}
    for call in (
        lambda: do.kubernetes.add_node_pool(cluster["id"], scaled),
        lambda: create(do, "c2", node_pools=[scaled]),
    ):
        with pytest.raises(HttpResponseError) as err:
            call()
        assert err.value.status_code == 422
        body = err.value.response.json()
        assert body["id"] == "unprocessable_entity" and "count" in body["message"] and body["request_id"]
    added = do.kubernetes.add_node_pool(cluster["id"], {**scaled, "count": 1})["node_pool"]
    assert (added["count"], added["auto_scale"]) == (1, True)


def test_values_of_the_wrong_json_type_are_refused(do: pydo.Client) -> None:
    """models/cluster.yml types `ha`, `auto_upgrade`, `surge_upgrade` as boolean and `vpc_uuid`
    as `format: uuid`; models/node_pool.yml types `count`, `min_nodes`, `max_nodes` as integer and
    `auto_scale` as boolean. A string "false" is not false: the body does not decode (400
    bad_request), instead of being read as true."""
    for call in (
        lambda: create(do, "w1", ha="false"),
        lambda: create(do, "w2", auto_upgrade="yes"),
        lambda: create(do, "w3", node_pools=[{**POOL, "count": "2"}]),
    ):
        with pytest.raises(HttpResponseError) as err:
            call()
        assert err.value.status_code == 400
        assert err.value.response.json()["id"] == "bad_request"
    with pytest.raises(HttpResponseError) as err:
        create(do, "w4", vpc_uuid="default")
    assert err.value.status_code == 422 and "vpc_uuid" in err.value.response.json()["message"]
    cluster = create(do, "w5", ha=False, auto_upgrade=True)
    assert (cluster["ha"], cluster["auto_upgrade"]) == (False, True)
    with pytest.raises(HttpResponseError) as err:
        do.kubernetes.update_cluster(cluster["id"], {"name": "w5", "surge_upgrade": "true"})
    assert err.value.status_code == 400
    pool = cluster["node_pools"][0]
    with pytest.raises(HttpResponseError) as err:
        do.kubernetes.update_node_pool(cluster["id"], pool["id"], {"name": "base", "count": 2, "auto_scale": "no"})
    assert err.value.status_code == 400
    assert do.kubernetes.get_cluster(cluster["id"])["kubernetes_cluster"]["surge_upgrade"] is False


def test_duplicate_cluster_name_is_refused(do: pydo.Client) -> None:
    create(do)
    with pytest.raises(HttpResponseError) as err:
        create(do)
    assert err.value.status_code == 422


def test_list_clusters_paginates_with_links_and_meta(do: pydo.Client) -> None:
    for name in ("a1", "a2", "a3"):
        create(do, name)
    first = do.kubernetes.list_clusters(per_page=2, page=1)
    assert first["meta"]["total"] == 3
    assert len(first["kubernetes_clusters"]) == 2
    assert "page=2" in first["links"]["pages"]["next"]
    second = do.kubernetes.list_clusters(per_page=2, page=2)
    assert [c["name"] for c in second["kubernetes_clusters"]] == ["a3"]
    assert "next" not in second["links"]["pages"]
    assert "prev" in second["links"]["pages"]


def test_upgrades_offered_and_unknown_version_refused(do: pydo.Client) -> None:
    versions = [v["slug"] for v in do.kubernetes.list_options()["options"]["versions"]]
    cluster = create(do, version=versions[1])
    wait_running(do, cluster["id"])
    offered = [v["slug"] for v in do.kubernetes.get_available_upgrades(cluster["id"])["available_upgrade_versions"]]
    assert offered == [versions[0]]
    # kubernetes_upgrade_cluster.yml: the body "must specify a version attribute", a slug
    for body in ({"version": "1.99.0-do.0"}, {"version": "latest"}, {}):
        with pytest.raises(HttpResponseError) as err:
            do.kubernetes.upgrade_cluster(cluster["id"], body)
        assert err.value.status_code == 422
    do.kubernetes.upgrade_cluster(cluster["id"], {"version": versions[0]})
    assert do.kubernetes.get_cluster(cluster["id"])["kubernetes_cluster"]["status"]["state"] == "upgrading"
    assert wait_running(do, cluster["id"])["version"] == versions[0]


# ---------------------------------------------------------------------- node pools
def test_node_pool_create_update_clear_delete(do: pydo.Client) -> None:
    cluster = wait_running(do, create(do)["id"])
    taint = {"key": "tools", "value": "true", "effect": "NoSchedule"}
    pool = do.kubernetes.add_node_pool(
        cluster["id"],
        {"name": "tools", "size": "s-2vcpu-4gb", "count": 1, "labels": {"role": "tools"}, "taints": [taint]},
    )["node_pool"]
    assert pool["taints"] == [taint]
    got = do.kubernetes.get_node_pool(cluster["id"], pool["id"])["node_pool"]
    assert got["labels"] == {"role": "tools"}
    # PUT needs name and count; fields left out keep their value
    kept = do.kubernetes.update_node_pool(cluster["id"], pool["id"], {"name": "tools", "count": 2})["node_pool"]
    assert kept["taints"] == [taint]
    assert kept["labels"] == {"role": "tools"}
    assert len(kept["nodes"]) == 2
    assert all(n["name"].startswith("tools-") for n in kept["nodes"])
    # empty list/map clear
    cleared = do.kubernetes.update_node_pool(
        cluster["id"], pool["id"], {"name": "tools", "count": 2, "taints": [], "labels": {}}
    )["node_pool"]
    assert cleared["taints"] == []
    assert cleared["labels"] == {}
    with pytest.raises(HttpResponseError) as err:
        do.kubernetes.update_node_pool(cluster["id"], pool["id"], {"name": "tools"})
    assert err.value.status_code == 422
    assert "count" in err.value.response.json()["message"]
    do.kubernetes.delete_node_pool(cluster["id"], pool["id"])
    pools = do.kubernetes.list_node_pools(cluster["id"])["node_pools"]
    assert [p["name"] for p in pools] == ["base"]


def test_node_pool_autoscale_bounds_and_taint_effect_validated(do: pydo.Client) -> None:
    cluster = create(do)
    base = cluster["node_pools"][0]
    scaled = do.kubernetes.update_node_pool(
        cluster["id"], base["id"], {"name": "base", "count": 2, "auto_scale": True, "min_nodes": 1, "max_nodes": 4}
    )["node_pool"]
    assert (scaled["auto_scale"], scaled["min_nodes"], scaled["max_nodes"]) == (True, 1, 4)
    for body in (
        {"name": "base", "count": 5, "auto_scale": True, "min_nodes": 1, "max_nodes": 4},
        {"name": "base", "count": 2, "auto_scale": True, "min_nodes": 3, "max_nodes": 2},
        {"name": "base", "count": 2, "taints": [{"key": "a", "value": "b", "effect": "Sometimes"}]},
    ):
        with pytest.raises(HttpResponseError) as err:
            do.kubernetes.update_node_pool(cluster["id"], base["id"], body)
        assert err.value.status_code == 422


def test_recycle_replaces_nodes(do: pydo.Client) -> None:
    cluster = wait_running(do, create(do)["id"])
    pool = cluster["node_pools"][0]
    old = pool["nodes"][0]
    do.kubernetes.recycle_node_pool(cluster["id"], pool["id"], {"nodes": [old["id"]]})
    nodes = do.kubernetes.get_node_pool(cluster["id"], pool["id"])["node_pool"]["nodes"]
    assert old["id"] not in {n["id"] for n in nodes}
    assert len(nodes) == 2


# ---------------------------------------------------------------------- kubeconfig, credentials
def test_kubeconfig_honours_expiry_and_points_at_a_server(do: pydo.Client, endpoints: dict[str, Any]) -> None:
    cluster = wait_running(do, create(do)["id"])
    resp = raw(do, "GET", f"/v2/kubernetes/clusters/{cluster['id']}/kubeconfig", expiry_seconds=600)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/yaml")
    config = yaml.safe_load(resp.text())
    assert config["kind"] == "Config"
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    assert ca == Path(endpoints["ca_file"]).read_text()
    assert config["users"][0]["user"]["token"].startswith("dop_v1_")
    creds = do.kubernetes.get_credentials(cluster["id"], expiry_seconds=300)
    expires = time.mktime(time.strptime(creds["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 250 < expires - time.time() <= 300
    assert creds["server"] == config["clusters"][0]["cluster"]["server"]
    default = do.kubernetes.get_credentials(cluster["id"])
    default_exp = time.mktime(time.strptime(default["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert default_exp - time.time() > 6 * 24 * 3600


def test_credentials_carry_the_fields_of_the_spec(do: pydo.Client) -> None:
    """models/credentials.yml: server, certificate_authority_data, the deprecated (null for token
    clusters) client_certificate_data and client_key_data, token, expires_at; nothing else."""
    cluster = wait_running(do, create(do)["id"])
    creds = do.kubernetes.get_credentials(cluster["id"])
    assert set(creds) == {
        "server",
        "certificate_authority_data",
        "client_certificate_data",
        "client_key_data",
        "token",
        "expires_at",
    }
    assert creds["client_certificate_data"] is None and creds["client_key_data"] is None


def _kube_status(kubeconfig: str, call: str) -> int:
    """HTTP status the official kubernetes client gets for ``call`` with the kubeconfig's token."""
    api = kube_config.new_client_from_config_dict(yaml.safe_load(kubeconfig))
    try:
        if call == "version":
            kube_client.VersionApi(api).get_code()
        else:
            kube_client.CoreV1Api(api).list_namespace()
    except kube_client.ApiException as exc:
        return int(exc.status)
    finally:
        api.close()
    return 200


def test_kubeconfig_tokens_expire_and_can_be_revoked(do: pydo.Client, endpoints: dict[str, Any]) -> None:
    """A DOKS kubeconfig token stops working when it expires (expiry_seconds, default 7 days) and,
    before that, when it is revoked: it is an API token of the account (doctl issue #1083: every
    kubeconfig fetch adds one to the account's token list), deleted there by the owner. The cluster
    then answers 401 on every path, /version included: kube-apiserver never treats a request with
    a bad bearer token as anonymous (pkg/kubeapiserver/authenticator/config.go, NewFailOnError)."""
    cluster = wait_running(do, create(do)["id"])
    path = f"/v2/kubernetes/clusters/{cluster['id']}/kubeconfig"
    kept = raw(do, "GET", path, expiry_seconds=600).text()
    short = raw(do, "GET", path, expiry_seconds=1).text()
    assert _kube_status(kept, "namespaces") == _kube_status(short, "namespaces") == 200
    time.sleep(1.2)
    assert (_kube_status(short, "namespaces"), _kube_status(short, "version")) == (401, 401)
    assert _kube_status(kept, "namespaces") == 200
    assert sb.admin(endpoints, "digitalocean", "POST", "revoke_kubeconfig_tokens", {"cluster_id": cluster["id"]}) == {
        "revoked": 2
    }
    assert (_kube_status(kept, "namespaces"), _kube_status(kept, "version")) == (401, 401)
    fresh = raw(do, "GET", path, expiry_seconds=600).text()
    assert _kube_status(fresh, "namespaces") == 200
    # without credentials /version stays open to anonymous requests
    anonymous = yaml.safe_load(fresh)
    del anonymous["users"][0]["user"]["token"]
    assert _kube_status(yaml.safe_dump(anonymous), "version") == 200


def test_pydo_get_kubeconfig_chokes_on_yaml_like_against_the_real_api(do: pydo.Client) -> None:
    """pydo's generated get_kubeconfig cannot decode the YAML the API sends (pydo issue #264);
    the emulator answers with the same content type, so the same workaround (send_request) applies."""
    cluster = wait_running(do, create(do)["id"])
    with pytest.raises(DecodeError, match="application/yaml"):
        do.kubernetes.get_kubeconfig(cluster["id"], expiry_seconds=60)


@pytest.mark.skipif(
    "kubernetes" not in registry.EMULATORS, reason="needs the Kubernetes emulator (branch wip/k8s) in the sandbox"
)
def test_kubectl_works_with_the_issued_kubeconfig(do: pydo.Client, tmp_path: Path) -> None:
    cluster = wait_running(do, create(do)["id"])
    resp = raw(do, "GET", f"/v2/kubernetes/clusters/{cluster['id']}/kubeconfig", expiry_seconds=600)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(resp.text())
    kubectl = str(KUBECTL) if KUBECTL.exists() else shutil.which("kubectl")

    def nodes() -> list[dict[str, Any]]:
        out = subprocess.run(
            [kubectl, "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={**os.environ, "HOME": str(tmp_path)},
        )
        return json.loads(out.stdout)["items"]

    pool = cluster["node_pools"][0]
    assert {n["metadata"]["name"] for n in nodes()} == {n["name"] for n in pool["nodes"]}
    assert all(n["metadata"]["labels"]["doks.digitalocean.com/node-pool"] == "base" for n in nodes())
    assert all(n["metadata"]["labels"]["doks.digitalocean.com/node-pool-id"] == pool["id"] for n in nodes())
    # pool labels and taints reach the nodes; a label removed from the pool stays on them (as on DOKS)
    taint = {"key": "tools", "value": "true", "effect": "NoSchedule"}
    do.kubernetes.update_node_pool(
        cluster["id"], pool["id"], {"name": "base", "count": 2, "labels": {"x": "1"}, "taints": [taint]}
    )
    assert all(n["metadata"]["labels"]["x"] == "1" for n in nodes())
    assert all(n["spec"]["taints"] == [taint] for n in nodes())
    do.kubernetes.update_node_pool(cluster["id"], pool["id"], {"name": "base", "count": 2, "labels": {}, "taints": []})
    assert all(n["metadata"]["labels"]["x"] == "1" for n in nodes())
    assert all(not n["spec"].get("taints") for n in nodes())


# ---------------------------------------------------------------------- Spaces keys, domains, projects
def test_spaces_key_secret_is_returned_once(do: pydo.Client) -> None:
    grants = [{"bucket": "logs", "permission": "readwrite"}]
    created = do.spaces_key.create({"name": "loki", "grants": grants})["key"]
    assert created["secret_key"]
    assert created["access_key"].startswith("DO")
    fetched = do.spaces_key.get(created["access_key"])["key"]
    assert "secret_key" not in fetched
    assert fetched["grants"] == grants
    listed = do.spaces_key.list(name="loki")["keys"]
    assert [k["access_key"] for k in listed] == [created["access_key"]]
    assert all("secret_key" not in k for k in listed)
    do.spaces_key.delete(created["access_key"])
    assert_not_found(lambda: do.spaces_key.get(created["access_key"]))


@pytest.mark.parametrize("method", ["update", "patch"])
def test_spaces_key_update_changes_only_the_name(do: pydo.Client, method: str) -> None:
    """PUT and PATCH rename a key; the grants it was created with stay.

    github.com/digitalocean/openapi, specification/resources/spaces/key_update.yml and
    key_patch.yml: "At the moment, you cannot convert a fullaccess key to a scoped key or vice
    versa. You can only update the name of the key." The body schema is models/key.yml (grants
    are allowed in it, not refused) and responses/key_update.yml answers a name-only update with
    the key's unchanged grants: grants sent in an update are not applied.
    """
    grants = [{"bucket": "logs", "permission": "readwrite"}]
    created = do.spaces_key.create({"name": "loki", "grants": grants})["key"]
    call = getattr(do.spaces_key, method)
    renamed = call(created["access_key"], {"name": "loki-2"})["key"]
    assert (renamed["name"], renamed["grants"]) == ("loki-2", grants)
    # a grants change is accepted and not applied: the key keeps its bucket and permission
    other = [{"bucket": "other", "permission": "read"}]
    updated = call(created["access_key"], {"name": "loki-3", "grants": other})["key"]
    assert (updated["name"], updated["grants"]) == ("loki-3", grants)
    assert do.spaces_key.get(created["access_key"])["key"]["grants"] == grants
    assert do.spaces_key.get(created["access_key"])["key"]["access_key"] == created["access_key"]


@pytest.mark.parametrize(
    "grants",
    [
        [{"bucket": "", "permission": "fullaccess"}, {"bucket": "logs", "permission": "read"}],
        [{"bucket": "logs", "permission": "admin"}],
        [{"permission": "read"}],
    ],
)
def test_spaces_key_bad_grants_are_refused_with_400(do: pydo.Client, grants: list[dict[str, str]]) -> None:
    """specification/resources/spaces/key_create.yml: "you cannot mix a fullaccess permission with
    scoped permissions"; models/grant.yml: bucket and permission required, permission one of
    `read`, `readwrite`, `fullaccess` or empty; the documented refusal is responses/bad_request.yml,
    400 `{"id": "bad_request", "message": "cannot mix fullaccess permission with scoped permissions."}`."""
    # pydo, generated from that spec, treats 400 as a documented answer: it returns the body
    status, body = do.spaces_key.create(
        {"name": "bad", "grants": grants}, cls=lambda resp, body, _headers: (resp.http_response.status_code, body)
    )
    assert status == 400
    assert body["id"] == "bad_request" and body["message"] and body["request_id"]
    if grants[0]["permission"] == "fullaccess":
        assert body["message"] == "cannot mix fullaccess permission with scoped permissions."
    assert do.spaces_key.list(name="bad")["keys"] == []
    # the right request: one kind of permission
    ok = do.spaces_key.create({"name": "good", "grants": [{"bucket": "", "permission": "fullaccess"}]})
    assert ok["key"]["grants"] == [{"bucket": "", "permission": "fullaccess"}]


def test_tags_follow_the_tag_name_rule(do: pydo.Client) -> None:
    """specification/resources/tags/models/tags.yml, name: "Tags may contain letters, numbers,
    colons, dashes, and underscores. There is a limit of 255 characters per tag." (pattern
    '^[a-zA-Z0-9_\\-\\:]+$', maxLength 255), for cluster and node pool tags alike."""
    for call in (
        lambda: create(do, "t1", tags=["team a"]),
        lambda: create(do, "t2", node_pools=[{**POOL, "tags": ["x" * 256]}]),
        lambda: create(do, "t3", tags=["café"]),
    ):
        with pytest.raises(HttpResponseError) as err:
            call()
        assert err.value.status_code == 422
        assert err.value.response.json()["id"] == "unprocessable_entity"
    cluster = create(do, "t4", tags=["team_a:prod-1"], node_pools=[{**POOL, "tags": ["Pool_1"]}])
    assert "team_a:prod-1" in cluster["tags"] and "Pool_1" in cluster["node_pools"][0]["tags"]
    pool = cluster["node_pools"][0]
    with pytest.raises(HttpResponseError) as err:
        do.kubernetes.update_node_pool(cluster["id"], pool["id"], {"name": "base", "count": 2, "tags": ["a/b"]})
    assert err.value.status_code == 422


def test_domains_and_records(do: pydo.Client) -> None:
    do.domains.create({"name": "example.com"})
    assert "example.com" in {d["name"] for d in do.domains.list()["domains"]}
    record = do.domains.create_record("example.com", {"type": "A", "name": "www", "data": "192.0.2.1", "ttl": 300})[
        "domain_record"
    ]
    records = do.domains.list_records("example.com", type="A")["domain_records"]
    assert [(r["name"], r["data"]) for r in records] == [("www", "192.0.2.1")]
    assert {r["type"] for r in do.domains.list_records("example.com")["domain_records"]} >= {"NS", "SOA", "A"}
    do.domains.delete_record("example.com", record["id"])
    assert do.domains.list_records("example.com", type="A")["domain_records"] == []
    do.domains.delete("example.com")
    assert_not_found(lambda: do.domains.get("example.com"))


def test_projects_and_resources(do: pydo.Client) -> None:
    default = do.projects.get_default()["project"]
    assert default["is_default"]
    project = do.projects.create({"name": "gitops", "purpose": "Kubernetes"})["project"]
    cluster = create(do)
    do.projects.assign_resources(project["id"], {"resources": [f"do:kubernetes:{cluster['id']}"]})
    urns = [r["urn"] for r in do.projects.list_resources(project["id"])["resources"]]
    assert urns == [f"do:kubernetes:{cluster['id']}"]


# ---------------------------------------------------------------------- faults, seen from pydo
def test_injected_429_carries_rate_limit_headers_and_pydo_retries(do: pydo.Client, endpoints: dict[str, Any]) -> None:
    seq = sb.last_seq(endpoints, "digitalocean")
    sb.fault(endpoints, "digitalocean", status=429, headers={"Retry-After": "1"}, count=1, path="^/v2/account")
    assert do.account.get()["account"]["status"] == "active"
    log = [e for e in sb.requests(endpoints, "digitalocean", seq) if e["path"] == "/v2/account"]
    assert [e["status"] for e in log] == [429, 200]
    assert log[0]["fault"]
    no_retry = client(endpoints, retry_total=0)
    sb.fault(endpoints, "digitalocean", status=429, count=1, path="^/v2/account")
    with pytest.raises(HttpResponseError) as err:
        no_retry.account.get()
    assert err.value.status_code == 429
    headers = err.value.response.headers
    assert headers["ratelimit-remaining"] == "0"
    assert int(headers["ratelimit-reset"]) >= int(time.time())
    assert err.value.response.json()["id"] == "too_many_requests"


def test_injected_500_has_do_error_body(endpoints: dict[str, Any]) -> None:
    sb.fault(endpoints, "digitalocean", status=500, count=1, path="^/v2/regions")
    with pytest.raises(HttpResponseError) as err:
        client(endpoints, retry_total=0).regions.list()
    assert err.value.status_code == 500
    assert set(err.value.response.json()) == {"id", "message", "request_id"}


def test_injected_delay_beyond_the_client_timeout(endpoints: dict[str, Any]) -> None:
    sb.fault(endpoints, "digitalocean", delay=3, count=1, path="^/v2/sizes")
    started = time.monotonic()
    with pytest.raises(ServiceResponseError):
        client(endpoints, retry_total=0).sizes.list(read_timeout=1)
    assert time.monotonic() - started < 2.9


# ---------------------------------------------------------------------- load balancers, volumes, external-dns
# What a DOKS cluster's own controllers create in the account, emulated from the virtual cluster
# (sandbox/digitalocean/cloud.py): the cloud controller's load balancers, the CSI driver's volumes,
# external-dns's records.
@pytest.fixture
def api(do: pydo.Client, endpoints: dict[str, Any]) -> w.DoApi:
    """The reset DigitalOcean emulator through plain HTTP (the workloads helpers use it)."""
    return w.DoApi(endpoints["digitalocean"]["url"], endpoints["digitalocean"]["token"], endpoints["ca_file"])


def test_the_cloud_controller_keeps_a_load_balancer_per_service(do: pydo.Client, api: w.DoApi) -> None:
    """github.com/digitalocean/digitalocean-cloud-controller-manager, cloud-controller-manager/do/
    loadbalancers.go: the name is the annotation `service.beta.kubernetes.io/do-loadbalancer-name`
    or cloudprovider.DefaultLoadBalancerName ("a" + the UID without dashes, 32 characters at most),
    the request's tags are [buildK8sTag(clusterID)] = `k8s:<cluster id>`; the load balancer goes
    with its Service. The object is openapi specification/resources/load_balancers/models/
    load_balancer.yml (`status` one of new, active, errored; forwarding_rules required)."""
    cluster = w.running_cluster(api, "lb1")
    kc = w.kube(api, cluster["id"])
    named = w.load_balancer_service(kc, "named", lb_name="my-lb")
    plain = w.load_balancer_service(kc, "plain")
    lbs = w.wait_for(
        "two load balancers",
        lambda: len(do.load_balancers.list()["load_balancers"]) == 2 and do.load_balancers.list()["load_balancers"],
    )
    by_name = {lb["name"]: lb for lb in lbs}
    default = ("a" + plain["metadata"]["uid"]).replace("-", "")[:32]
    assert set(by_name) == {"my-lb", default}
    assert named["metadata"]["uid"] and all(lb["tags"] == [f"k8s:{cluster['id']}"] for lb in lbs)
    rule = by_name["my-lb"]["forwarding_rules"][0]
    assert {k: rule[k] for k in ("entry_protocol", "entry_port", "target_protocol")} == {
        "entry_protocol": "tcp",
        "entry_port": 80,
        "target_protocol": "tcp",
    }
    assert by_name["my-lb"]["region"]["slug"] == "fra1" and by_name["my-lb"]["vpc_uuid"] == cluster["vpc_uuid"]
    lb_id = by_name["my-lb"]["id"]
    active = w.wait_for("an address", lambda: (lb := do.load_balancers.get(lb_id)["load_balancer"])["ip"] and lb)
    assert active["status"] == "active"
    k8s.CoreV1Api(kc).delete_namespaced_service("named", "default")
    w.wait_for("the load balancer gone", lambda: len(do.load_balancers.list()["load_balancers"]) == 1)
    assert_not_found(lambda: do.load_balancers.get(lb_id))


def test_the_csi_driver_keeps_a_volume_per_claimed_volume(do: pydo.Client, api: w.DoApi) -> None:
    """github.com/digitalocean/csi-digitalocean, driver/controller.go: CreateVolume names the volume
    after the PV (`req.Name`), describes it "Created by DigitalOcean CSI driver" and tags it with
    `--do-tag` (DOKS: `k8s:<cluster id>`); the PV's volumeHandle is the volume's id; a claim's
    deletion deletes the PV (reclaim policy Delete) and so the volume. Filters of openapi
    specification/resources/volumes/volumes_list.yml: `name`, `region`."""
    cluster = w.running_cluster(api, "vol1")
    kc = w.kube(api, cluster["id"])
    pvc = w.claim(kc, "data", "5Gi")
    volume = w.wait_for("a volume", lambda: do.volumes.list()["volumes"])[0]
    pv = k8s.CoreV1Api(kc).read_persistent_volume(f"pvc-{pvc['metadata']['uid']}")
    assert volume["id"] == pv.spec.csi.volume_handle
    assert volume["name"] == pv.metadata.name
    assert (volume["size_gigabytes"], volume["description"]) == (5, "Created by DigitalOcean CSI driver")
    assert volume["tags"] == [f"k8s:{cluster['id']}"]
    assert [v["id"] for v in do.volumes.list(name=volume["name"], region="fra1")["volumes"]] == [volume["id"]]
    assert do.volumes.list(region="nyc1")["volumes"] == []
    assert do.volumes.get(volume["id"])["volume"]["name"] == volume["name"]
    k8s.CoreV1Api(kc).delete_namespaced_persistent_volume_claim("data", "default")
    w.wait_for("the volume gone", lambda: do.volumes.list()["volumes"] == [])


def test_associated_resources_are_this_clusters_and_selective_destroy_takes_only_those(
    do: pydo.Client, api: w.DoApi
) -> None:
    """openapi specification/resources/kubernetes/: kubernetes_list_associatedResources.yml lists
    `load_balancers`, `volumes`, `volume_snapshots` ({id, name}) "that can be destroyed along with
    a cluster"; kubernetes_destroy_associatedResourcesSelective.yml deletes the cluster and the ids
    of its body ("Any associated resource not included in the request will remain"), ids "found by
    querying the cluster's associated resources endpoint": another cluster's id is refused (422)
    and nothing is deleted. kubernetes_delete_cluster.yml (plain DELETE) leaves them all;
    kubernetes_destroy_associatedResourcesDangerous.yml deletes all."""
    one, two = w.running_cluster(api, "one"), w.running_cluster(api, "two")
    for cluster in (one, two):
        kc = w.kube(api, cluster["id"])
        w.load_balancer_service(kc, "web")
        w.load_balancer_service(kc, "api")
        w.claim(kc, "data")
    w.wait_for(
        "six objects",
        lambda: len(do.load_balancers.list()["load_balancers"]) == 4 and len(do.volumes.list()["volumes"]) == 2,
    )
    listed = {c["id"]: do.kubernetes.list_associated_resources(c["id"]) for c in (one, two)}
    assert all(
        len(v["load_balancers"]) == 2 and len(v["volumes"]) == 1 and v["volume_snapshots"] == []
        for v in listed.values()
    )
    assert not {lb["id"] for lb in listed[one["id"]]["load_balancers"]} & {
        lb["id"] for lb in listed[two["id"]]["load_balancers"]
    }
    theirs = listed[two["id"]]["load_balancers"][0]["id"]
    with pytest.raises(HttpResponseError) as err:
        do.kubernetes.destroy_associated_resources_selective(one["id"], {"load_balancers": [theirs]})
    assert err.value.status_code == 422 and theirs in err.value.response.json()["message"]
    assert do.kubernetes.get_cluster(one["id"])["kubernetes_cluster"]["id"] == one["id"]
    for bad in ({"load_balancers": "x"}, {"volumes": [1]}):
        status, body = api.call(
            "DELETE", f"/v2/kubernetes/clusters/{one['id']}/destroy_with_associated_resources/selective", bad
        )
        assert status == 400 and body["id"] == "bad_request"
    status, _body = api.call(
        "DELETE", f"/v2/kubernetes/clusters/{one['id']}/destroy_with_associated_resources/selective"
    )
    assert status == 400
    mine = listed[one["id"]]
    kept = mine["load_balancers"][1]["id"]
    do.kubernetes.destroy_associated_resources_selective(
        one["id"], {"load_balancers": [mine["load_balancers"][0]["id"]], "volumes": [mine["volumes"][0]["id"]]}
    )
    assert_not_found(lambda: do.kubernetes.get_cluster(one["id"]))
    left = {lb["id"] for lb in do.load_balancers.list()["load_balancers"]}
    assert left == {kept} | {lb["id"] for lb in listed[two["id"]]["load_balancers"]}
    assert [v["id"] for v in do.volumes.list()["volumes"]] == [listed[two["id"]]["volumes"][0]["id"]]
    # a plain DELETE leaves the cluster's load balancers and volumes (still billed, still tagged)
    do.kubernetes.delete_cluster(two["id"])
    time.sleep(0.3)
    assert len(do.load_balancers.list()["load_balancers"]) == 3 and len(do.volumes.list()["volumes"]) == 1
    three = w.running_cluster(api, "three")
    w.load_balancer_service(w.kube(api, three["id"]), "web")
    w.wait_for("its load balancer", lambda: do.kubernetes.list_associated_resources(three["id"])["load_balancers"])
    do.kubernetes.destroy_associated_resources_dangerous(three["id"])
    assert len(do.load_balancers.list()["load_balancers"]) == 3
    assert_not_found(lambda: do.kubernetes.list_associated_resources(three["id"]))


@pytest.mark.parametrize("policy", ["sync", "upsert-only"])
def test_external_dns_publishes_ingress_hosts_with_its_txt_registry(
    do: pydo.Client, api: w.DoApi, endpoints: dict[str, Any], policy: str
) -> None:
    """kubernetes-sigs/external-dns v0.20.0 (chart 1.20.0) with `--provider=digitalocean`: an A
    record per Ingress host under `--domain-filter`, and its registry TXT
    (registry/txt.go toTXTName: `a-<first label>`; endpoint/labels.go: `"heritage=external-dns,
    external-dns/owner=<--txt-owner-id>,external-dns/resource=ingress/<ns>/<name>"`). It never
    touches a record it did not mark; plan/policy.go: `sync` deletes the records of a host that
    is gone, `upsert-only` never deletes. A token the API refuses publishes nothing."""
    do.domains.create({"name": "example.test"})
    do.domains.create_record("example.test", {"type": "A", "name": "hand", "data": "192.0.2.9", "ttl": 300})
    do.domains.create_record("example.test", {"type": "A", "name": "taken", "data": "192.0.2.8", "ttl": 300})
    cluster = w.running_cluster(api, "dns1")
    kc = w.kube(api, cluster["id"])
    # the sync case runs on the DNS-scoped token (domain:read/create/update/delete cover every call
    # the provider makes, provider/digitalocean/digitalocean.go), the other on the account token
    token = endpoints["digitalocean"]["dns_token" if policy == "sync" else "token"]
    w.external_dns(kc, token, "dns1", "example.test", policy=policy)
    w.ingress(kc, "app", "app.example.test")
    w.ingress(kc, "taken", "taken.example.test")
    w.ingress(kc, "elsewhere", "app.other.test")
    txt = '"heritage=external-dns,external-dns/owner=dns1,external-dns/resource=ingress/default/app"'

    def published() -> list[tuple[str, str, str]] | None:
        found = w.records(api, "example.test")
        return found if ("TXT", "a-app", txt) in found else None

    found = w.wait_for("the records", published)
    lb_ip = next(r[2] for r in found if r[:2] == ("A", "app"))
    assert found == sorted(
        [("A", "app", lb_ip), ("TXT", "a-app", txt), ("A", "hand", "192.0.2.9"), ("A", "taken", "192.0.2.8")]
    )
    w.delete_ingress(kc, "app")
    time.sleep(0.5)
    expected = [("A", "hand", "192.0.2.9"), ("A", "taken", "192.0.2.8")]
    if policy == "upsert-only":
        expected = found
    w.wait_for("the policy applied", lambda: w.records(api, "example.test") == expected)


def ingress_address(kc: Any, name: str) -> list[Any]:
    status = k8s.NetworkingV1Api(kc).read_namespaced_ingress(name, "default").status
    return (status and status.load_balancer and status.load_balancer.ingress) or []


def test_external_dns_with_a_refused_token_publishes_nothing(do: pydo.Client, api: w.DoApi) -> None:
    """external-dns's DigitalOcean provider calls the API with DO_TOKEN; a token the API answers
    401 to creates no record, even once the Ingress has its address."""
    do.domains.create({"name": "example.test"})
    cluster = w.running_cluster(api, "dns2")
    kc = w.kube(api, cluster["id"])
    w.external_dns(kc, "dop_v1_" + "0" * 64, "dns2", "example.test", policy="sync")
    w.ingress(kc, "app", "app.example.test")
    w.wait_for("the ingress address", lambda: ingress_address(kc, "app"))
    time.sleep(0.5)
    assert w.records(api, "example.test") == []
