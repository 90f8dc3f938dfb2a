"""Fault matrix: the platform under API faults, against DigitalOcean, Auth0 and Kubernetes.

Every case starts from the state the faulted API would find before its first write, arms one
fault on one emulator and runs the part of site.yml that talks to that API (the faulted run):

* DigitalOcean: an empty sandbox; `doks_cluster`.
* Auth0: a tenant with nothing yet, next to a cluster converged with another tenant's applications
  (the emulator of Auth0 alone is reset); `auth0_apps`, the only role that calls Auth0.
* Kubernetes: the cloud and the tenant converged (`doks_cluster,auth0_apps`), the cluster empty
  of the platform (the sandbox's state saved once after that run, restored per case);
  `ingress_certmanager`.

Faults are then cleared and the re-run converges the roles the API's results flow into (for
Auth0, up to the oauth2-proxy Secret that holds the client secret, which must replace the stale
one). The re-run must succeed and leave every emulator in the state a clean run of the same roles
on an empty sandbox leaves (recorded once per scope): nothing duplicated (one cluster, one Spaces
key, one Auth0 application per name, role and Action) and nothing lost (the Spaces key and the
Auth0 client secret stored in the cluster still authenticate). Starting the Auth0 and Kubernetes
cases from a converged rather than an empty sandbox spares each case a first converge of what
the fault cannot reach.

Faults: 429 with Retry-After, 429 with a rate-limit reset header, 500, 503, a dropped connection,
an answer slower than the client's timeout, and the API process stopped and restarted mid-run.
Where the client can recover by itself (retries that are safe, a create looked up after an
unanswered POST), the faulted run must succeed too, and its request log must show how: the
retried 429/5xx, a single POST per object (a create is never repeated blindly).

Kubernetes: both clients (the kubernetes Python client behind kubernetes.core, and helm) retry
a 429 after its Retry-After, so those runs must succeed. Neither retries a 5xx or a dropped
connection, so those runs fail; the re-run must then recover, including a Helm release the
fault left pending or failed (roles/gitops/tasks/helm_release.yml). Neither client has a
per-request timeout: a stalled API server delays them, so the "slow answer" case checks that a
stall of several seconds costs time, not correctness. The kill-and-restart cases may or may not
fail the faulted run, depending on which request the restart cuts; the re-run must converge.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.dynamic import DynamicClient

from sandbox import cli as sandbox_cli
from sandbox import registry
from tests.e2e.harness import ROOT, Sandbox, recap

HOST = "sandbox-1"
# one sandbox per pytest worker: make e2e spreads the matrix over its workers by API (conftest.py)
STATE = ROOT / ".cache" / f"sandbox-e2e-faults-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
CLOUD_SCOPE = "doks_cluster,auth0_apps"
KUBE_SCOPE = f"{CLOUD_SCOPE},ingress_certmanager"
SCOPES = {"digitalocean": "doks_cluster", "auth0": KUBE_SCOPE, "kubernetes": KUBE_SCOPE}
# the faulted run: only what calls the faulted API, from the state the case starts from (auth0_apps
# needs no cluster; the Kubernetes cases start with the cloud and the tenant converged)
FAULTED_SCOPES = {**SCOPES, "auth0": "auth0_apps", "kubernetes": "ingress_certmanager"}
# the sandbox's state after a clean run of CLOUD_SCOPE, where each Kubernetes case starts
KUBE_BASE = "cloud-converged"
DOWNTIME = 3.0  # seconds the sandbox stays down in the kill-and-restart cases
CLUSTER = r"^/clusters/[^/]+"
SPACES_SECRET = ("observability", "loki-spaces")
OAUTH2_PROXY_SECRET = ("oauth2-proxy", "oauth2-proxy")
Log = list[dict[str, Any]]


@dataclass(frozen=True)
class Case:
    api: str
    name: str
    rules: Callable[[], list[dict[str, Any]]] = list
    recovers: bool = True  # the faulted run itself must succeed
    extra: tuple[str, ...] = ()  # extra arguments of the faulted run (a short client timeout)
    kill_on: tuple[str, str] | None = None  # (method, path regex) that triggers stop + restart
    # assertions on the faulted run's request log, given the clean run's state
    check: Callable[[Log, dict[str, Any]], None] | None = None

    def __str__(self) -> str:
        return f"{self.api}-{self.name}"


def _count(log: Log, method: str, path: str) -> int:
    return sum(1 for e in log if e["method"] == method and re.search(path, e["path"]))


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _retried(path: str, status: int, within: float = 10.0) -> Callable[[Log, dict[str, Any]], None]:
    """The faulted request was answered `status` and retried until the API answered it, each retry
    within `within` seconds (the wait the answer asked for, or a short backoff). Any answer that is
    not itself retryable ends the retries: a 404 for an object not created yet is an answer."""

    def check(log: Log, _: dict[str, Any]) -> None:
        hits = [e for e in log if re.search(path, e["path"])]
        statuses = [e["status"] for e in hits]
        assert status in statuses, statuses
        first = statuses.index(status)
        assert any(not _retryable(s) for s in statuses[first:]), statuses
        recovered = first + next(i for i, s in enumerate(statuses[first:]) if not _retryable(s))
        gaps = [
            b["time"] - a["time"] for a, b in zip(hits[first:recovered], hits[first + 1 : recovered + 1], strict=True)
        ]
        assert max(gaps) <= within, f"waited {max(gaps):.1f}s between attempts"

    return check


def _created_once(
    path: str, objects: Callable[[dict[str, Any]], int] = lambda _: 1
) -> Callable[[Log, dict[str, Any]], None]:
    """A create that failed after the server applied it was looked up, not repeated: one POST
    per object the clean run ends with."""

    def check(log: Log, clean: dict[str, Any]) -> None:
        assert _count(log, "POST", path) == objects(clean), [(e["method"], e["path"], e["status"]) for e in log]

    return check


def _reset_in(seconds: int) -> dict[str, str]:
    return {"X-RateLimit-Reset": str(int(time.time()) + seconds)}


DO_CLUSTERS = r"^/v2/kubernetes/clusters$"
DO_KEYS = r"^/v2/spaces/keys$"
AUTH0_CLIENTS = r"^/api/v2/clients$"
AUTH0_ROLES = r"^/api/v2/roles$"
AUTH0_ACTIONS = r"^/api/v2/actions/actions$"
KUBE_CM_NS = CLUSTER + r"/api/v1/namespaces/cert-manager($|/)"
KUBE_HELM_RECORDS = CLUSTER + r"/api/v1/namespaces/cert-manager/secrets$"
KUBE_DEPLOYMENTS = CLUSTER + r"/apis/apps/v1/namespaces/cert-manager/deployments$"
KUBE_NAMESPACES = CLUSTER + r"/api/v1/namespaces$"

CASES = [
    # ---------------------------------------------------------------- DigitalOcean
    Case(
        "digitalocean",
        "429-retry-after",
        lambda: [{"status": 429, "headers": {"Retry-After": "1"}, "count": 2, "method": "GET", "path": DO_CLUSTERS}],
        check=_retried(DO_CLUSTERS, 429),
    ),
    Case(
        "digitalocean",
        "429-ratelimit-reset",
        # DigitalOcean's own 429 carries ratelimit-reset (epoch seconds) and no Retry-After.
        lambda: [{"status": 429, "count": 2, "method": "GET", "path": DO_CLUSTERS}],
        check=_retried(DO_CLUSTERS, 429),
    ),
    Case(
        "digitalocean",
        "500-after-create",
        lambda: [{"status": 500, "after": True, "count": 1, "method": "POST", "path": DO_CLUSTERS}],
        check=_created_once(DO_CLUSTERS),
    ),
    Case(
        "digitalocean",
        "503",
        lambda: [{"status": 503, "count": 3, "method": "GET", "path": r"^/v2/kubernetes/clusters/"}],
        check=_retried(r"^/v2/kubernetes/clusters/", 503),
    ),
    Case(
        "digitalocean",
        "connection-reset-after-key-create",
        # The key exists but its secret never arrived: it is useless, so it is deleted and a new
        # key is made (two POSTs, one DELETE); the Secret in the cluster holds the new one.
        lambda: [{"action": "reset", "after": True, "count": 1, "method": "POST", "path": DO_KEYS}],
        check=lambda log, clean: (
            _created_once(DO_KEYS, lambda _: 2)(log, clean),
            _count(log, "DELETE", r"^/v2/spaces/keys/") == 1 or pytest.fail("the orphaned key was not deleted"),
        ),
    ),
    Case(
        "digitalocean",
        "slower-than-timeout",
        lambda: [{"action": "delay", "delay": 3.5, "count": 1, "method": "POST", "path": DO_CLUSTERS}],
        extra=("-e", "doks_cluster_api_timeout=2"),
        check=_created_once(DO_CLUSTERS),
    ),
    Case("digitalocean", "killed-mid-run", recovers=False, kill_on=("POST", DO_CLUSTERS)),
    # ---------------------------------------------------------------- Auth0
    Case(
        "auth0",
        "429-retry-after",
        lambda: [{"status": 429, "headers": {"Retry-After": "1"}, "count": 2, "method": "GET", "path": AUTH0_CLIENTS}],
        check=_retried(AUTH0_CLIENTS, 429),
    ),
    Case(
        "auth0",
        "429-ratelimit-reset",
        # Auth0's own 429 carries x-ratelimit-reset (epoch seconds) and no Retry-After.
        lambda: [{"status": 429, "count": 2, "method": "GET", "path": AUTH0_ROLES}],
        check=_retried(AUTH0_ROLES, 429),
    ),
    Case(
        "auth0",
        "500-after-create",
        lambda: [{"status": 500, "after": True, "count": 1, "method": "POST", "path": AUTH0_CLIENTS}],
        check=_created_once(AUTH0_CLIENTS, lambda clean: len(clean["auth0"]["clients"])),
    ),
    Case(
        "auth0",
        "503",
        # the module's first read (preflight's credential probe reads one client, /clients/<id>)
        lambda: [{"status": 503, "count": 3, "method": "GET", "path": AUTH0_CLIENTS}],
        check=_retried(AUTH0_CLIENTS, 503),
    ),
    Case(
        "auth0",
        "connection-reset-after-create",
        lambda: [{"action": "reset", "after": True, "count": 1, "method": "POST", "path": AUTH0_ROLES}],
        check=_created_once(AUTH0_ROLES, lambda clean: len(clean["auth0"]["roles"])),
    ),
    Case(
        "auth0",
        "slower-than-timeout",
        lambda: [{"action": "delay", "delay": 3.5, "count": 1, "method": "POST", "path": AUTH0_ACTIONS}],
        extra=("-e", "auth0_apps_timeout=2"),
        check=_created_once(AUTH0_ACTIONS),
    ),
    Case("auth0", "killed-mid-run", recovers=False, kill_on=("POST", AUTH0_CLIENTS)),
    # ---------------------------------------------------------------- Kubernetes
    Case(
        "kubernetes",
        "429-retry-after",
        lambda: [{"status": 429, "headers": {"Retry-After": "1"}, "count": 2, "method": "GET", "path": KUBE_CM_NS}],
        check=_retried(KUBE_CM_NS, 429),
    ),
    Case(
        "kubernetes",
        "429-ratelimit-reset-helm",
        # The API server's 429 (API Priority and Fairness) says when to come back in Retry-After
        # (seconds; the emulator adds it), here with a rate-limit reset header too, on the
        # requests helm makes for its release records.
        lambda: [{"status": 429, "headers": _reset_in(2), "count": 2, "path": KUBE_HELM_RECORDS}],
        check=_retried(KUBE_HELM_RECORDS, 429),
    ),
    Case(
        "kubernetes",
        "500",
        lambda: [{"status": 500, "count": 1, "method": "POST", "path": KUBE_NAMESPACES}],
        recovers=False,
    ),
    Case(
        "kubernetes",
        "503-after-write",
        lambda: [{"status": 503, "after": True, "count": 1, "method": "POST", "path": KUBE_HELM_RECORDS}],
        recovers=False,
    ),
    Case(
        "kubernetes",
        "connection-reset-after-write",
        lambda: [{"action": "reset", "after": True, "count": 1, "method": "POST", "path": KUBE_DEPLOYMENTS}],
        recovers=False,
    ),
    Case(
        "kubernetes",
        "stalled",
        lambda: [{"action": "delay", "delay": 5, "count": 2, "method": "GET", "path": KUBE_CM_NS}],
    ),
    Case("kubernetes", "killed-mid-run", recovers=False, kill_on=("POST", KUBE_DEPLOYMENTS)),
]


# ------------------------------------------------------------------------------ sandbox plumbing
class FaultBox(Sandbox):
    def playbook(self, playbook: str, *args: str, **kwargs: Any) -> tuple[int, str]:
        """Every run with gitops_delivery helm: the matrix faults the clients Ansible itself runs (the
        kubernetes client, helm) on their requests to the API server. With argocd delivery (the
        default) the charts are applied by the sandbox's emulated Argo CD inside the emulator, where
        no HTTP fault reaches, and the cases would measure nothing of Ansible's clients."""
        return super().playbook(playbook, "-e", "gitops_delivery=helm", *args, **kwargs)

    def admin(self, api: str, route: str, method: str, data: Any = None) -> Any:
        return self.call(f"{self.endpoints[api]['url']}/_sandbox/{route}", data=data, method=method)

    def wipe(self) -> None:
        self.cli("reset")
        self.drop_kubeconfigs()

    def reset_one(self, api: str) -> None:
        """Empty one emulator (its state, request log and faults); the others keep theirs."""
        self.admin(api, "reset", "POST")

    def _saved(self, name: str) -> Path:
        return self.state / "saved" / name

    def save(self, name: str) -> None:
        """Keep the emulators' state and the kubeconfigs under ``name``: stopped for the copy, so
        that every emulator flushed its state (Store.close at SIGTERM)."""
        self.cli("down")
        target = self._saved(name)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for path in self._state_files():
            shutil.copy2(path, target / path.name)
        self.cli("up")

    def restore(self, name: str) -> None:
        """Bring back what :meth:`save` kept under ``name``, replacing the current state."""
        self.cli("down")
        for path in self._state_files():
            path.unlink()
        for path in self._saved(name).iterdir():
            shutil.copy2(path, self.state / path.name)
        self.cli("up")

    def _state_files(self) -> list[Path]:
        files = [self.state / f"{name}.json" for name in registry.EMULATORS]
        return [p for p in files if p.exists()] + sorted(self.state.glob("*.kubeconfig"))

    def arm(self, api: str, rules: list[dict[str, Any]]) -> None:
        if rules:
            self.admin(api, "faults", "POST", rules)

    def disarm(self) -> None:
        for api in ("digitalocean", "auth0", "kubernetes", "spaces"):
            self.admin(api, "faults", "DELETE")

    def restart_abruptly(self) -> None:
        """Stop the emulators' process at once (SIGTERM, in this process: connections in flight
        drop, acknowledged state stays, as in a real API's database), keep it down a while,
        start it on the same ports."""
        sandbox_cli.cmd_down(self.state)
        time.sleep(DOWNTIME)
        self.cli("up")


@contextlib.contextmanager
def killer(box: FaultBox, api: str, trigger: tuple[str, str] | None) -> Iterator[dict[str, bool]]:
    """While the body runs, restart the sandbox abruptly once the trigger request shows up."""
    fired = {"fired": False}
    if trigger is None:
        yield fired
        return
    method, path = trigger
    stop = threading.Event()
    since = box.log_marks()[api]

    def watch() -> None:
        while not stop.wait(0.05):
            try:
                entries = box.requests_since({api: since})[api]
            except OSError:
                continue
            if any(e["method"] == method and re.search(path, e["path"]) for e in entries):
                box.restart_abruptly()
                fired["fired"] = True
                return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield fired
    finally:
        stop.set()
        thread.join(timeout=60)


# ------------------------------------------------------------------------------ state snapshot
def _kube(box: FaultBox) -> client.ApiClient | None:
    path = box.state / f"{HOST}.kubeconfig"
    return config.new_client_from_config(str(path)) if path.exists() else None


def _pool(pool: dict[str, Any]) -> tuple[Any, ...]:
    taints = sorted((t["key"], t.get("value"), t["effect"]) for t in pool.get("taints") or [])
    return (pool["name"], pool["size"], pool["count"], pool.get("auto_scale"), json.dumps(pool.get("labels")), taints)


def do_state(box: FaultBox) -> dict[str, Any]:
    clusters = box.do("/v2/kubernetes/clusters")["kubernetes_clusters"]
    return {
        "clusters": sorted(
            (c["name"], c["region"], c["version"], sorted(_pool(p) for p in c["node_pools"])) for c in clusters
        ),
        "spaces_keys": sorted(
            (k["name"], json.dumps(k["grants"], sort_keys=True)) for k in box.do("/v2/spaces/keys")["keys"]
        ),
        "domains": sorted(d["name"] for d in box.do("/v2/domains")["domains"]),
        "buckets": sorted(b["Name"] for b in box.s3().list_buckets()["Buckets"]),
    }


def auth0_state(box: FaultBox) -> dict[str, Any]:
    token = box.auth0_token()
    clients = [c for c in box.auth0("/api/v2/clients", token) if (c.get("client_metadata") or {}).get("managed_by")]
    actions = box.auth0("/api/v2/actions/actions", token)["actions"]
    bindings = box.auth0("/api/v2/actions/triggers/post-login/bindings", token)["bindings"]
    return {
        "clients": sorted((c["name"], c.get("app_type"), sorted(c.get("callbacks") or [])) for c in clients),
        "roles": sorted(r["name"] for r in box.auth0("/api/v2/roles", token)),
        "actions": sorted((a["name"], a.get("status"), bool(a.get("deployed_version"))) for a in actions),
        "bindings": sorted(b["display_name"] for b in bindings),
    }


KINDS = [
    ("v1", "Namespace"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "StatefulSet"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
]


def kube_state(box: FaultBox) -> dict[str, Any]:
    api_client = _kube(box)
    if api_client is None:
        return {}
    dynamic = DynamicClient(api_client)
    objects, releases = set(), {}
    for api_version, kind in KINDS:
        for item in dynamic.resources.get(api_version=api_version, kind=kind).get().items:
            meta = item.metadata
            if kind == "Secret" and item.type == "helm.sh/release.v1":
                labels = meta.labels or {}
                name = f"{meta.namespace}/{labels['name']}"
                version = int(labels["version"])
                if version > releases.get(name, (0, ""))[0]:
                    releases[name] = (version, labels["status"])
                continue
            # a name the cluster generated (generateName, as the sealed-secrets controller names its key)
            # differs between two clean runs: only its prefix is the state
            name = f"{meta.generateName}<generated>" if meta.generateName else meta.name
            objects.add((kind, meta.namespace or "", name))
    return {"objects": sorted(objects), "releases": {name: status for name, (_, status) in sorted(releases.items())}}


def snapshot(box: FaultBox) -> dict[str, Any]:
    return {"digitalocean": do_state(box), "auth0": auth0_state(box), "kubernetes": kube_state(box)}


def differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """What the re-run left that a clean run does not (and the reverse), item by item."""
    found = []
    for api in sorted(set(got) | set(want)):
        for key in sorted(set(got.get(api) or {}) | set(want.get(api) or {})):
            mine, theirs = (got.get(api) or {}).get(key), (want.get(api) or {}).get(key)
            if mine == theirs:
                continue
            if isinstance(mine, list) and isinstance(theirs, list):
                counts = Counter(map(repr, mine))
                extra = [x for x in mine if x not in theirs] + [x for x, n in counts.items() if n > 1]
                missing = [x for x in theirs if x not in mine]
                found.append(f"{api}.{key}: extra {extra}, missing {missing}")
            elif isinstance(mine, dict) and isinstance(theirs, dict):
                found += [
                    f"{api}.{key}[{k}]: {mine.get(k)!r} != {theirs.get(k)!r}"
                    for k in sorted(set(mine) | set(theirs))
                    if mine.get(k) != theirs.get(k)
                ]
            else:
                found.append(f"{api}.{key}: {mine!r} != {theirs!r}")
    return found


def _secret(box: FaultBox, namespace: str, name: str) -> dict[str, str] | None:
    api_client = _kube(box)
    assert api_client is not None
    try:
        secret = client.CoreV1Api(api_client).read_namespaced_secret(name, namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def assert_stored_secrets_work(box: FaultBox, scope: str) -> None:
    spaces = _secret(box, *SPACES_SECRET)
    assert spaces is not None, "the Spaces key Secret is gone"
    keys = [k for k in box.do("/v2/spaces/keys")["keys"] if k["name"] == f"{HOST}-loki"]
    assert [k["access_key"] for k in keys] == [spaces["AWS_ACCESS_KEY_ID"]], "the stored key is not the one key"
    s3 = box.s3(spaces["AWS_ACCESS_KEY_ID"], spaces["AWS_SECRET_ACCESS_KEY"])
    s3.put_object(Bucket=f"{HOST}-logs", Key="fault-matrix/probe", Body=b"ok")
    assert s3.get_object(Bucket=f"{HOST}-logs", Key="fault-matrix/probe")["Body"].read() == b"ok"
    if "auth0_apps" not in scope:
        return
    proxy = _secret(box, *OAUTH2_PROXY_SECRET)
    assert proxy is not None, "the oauth2-proxy Secret is gone"
    token = box.auth0_token()
    app = box.auth0(f"/api/v2/clients/{proxy['client-id']}", token)
    assert app["client_secret"] == proxy["client-secret"], "the stored oauth2-proxy client secret is stale"


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def box() -> Iterator[FaultBox]:
    with FaultBox(STATE.resolve()).fresh() as sandbox:
        yield sandbox


@dataclass
class References:
    box: FaultBox
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the scope whose clean state the sandbox holds now (None once a case changed it)
    holds: str | None = None

    def of(self, scope: str) -> dict[str, Any]:
        """The state a clean run of `scope` leaves on an empty sandbox (measured once). On the
        way to KUBE_SCOPE's, the state after CLOUD_SCOPE is saved as KUBE_BASE."""
        if scope not in self.states:
            self.holds = None
            self.box.wipe()
            if scope == KUBE_SCOPE:
                self._run(CLOUD_SCOPE)
                self.box.save(KUBE_BASE)
            self._run(scope)
            self.states[scope] = snapshot(self.box)
            self.holds = scope
        return self.states[scope]

    def _run(self, scope: str) -> None:
        rc, out = self.box.playbook("playbooks/site.yml", "--tags", scope)
        assert rc == 0, out[-6000:]

    def start(self, api: str) -> dict[str, Any]:
        """Put the sandbox in the state a case of `api` starts from; the clean state to reach."""
        scope = SCOPES[api]
        clean = self.of(scope)
        if api == "auth0":
            if self.holds != scope:  # a case before left it otherwise: converge it again
                self.box.wipe()
                self._run(scope)
            self.box.reset_one("auth0")
        elif api == "kubernetes":
            self.box.restore(KUBE_BASE)
        else:
            self.box.wipe()
        self.holds = None
        return clean


@pytest.fixture(scope="module")
def references(box: FaultBox) -> References:
    return References(box)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fault_then_rerun_converges(case: Case, box: FaultBox, references: References) -> None:
    scope = SCOPES[case.api]
    clean = references.start(case.api)
    marks = box.log_marks()
    box.arm(case.api, case.rules())
    with killer(box, case.api, case.kill_on) as killed:
        rc, out = box.playbook("playbooks/site.yml", "--tags", FAULTED_SCOPES[case.api], *case.extra)
    box.disarm()
    if case.kill_on:
        assert killed["fired"], "the run never reached the request that should trigger the restart"
    else:
        faulted = box.requests_since(marks)[case.api]
        assert any(e["fault"] for e in faulted), f"the fault was never hit: {case.rules()}" + out[-5000:]
        if case.check:
            case.check(faulted, clean)
    if case.recovers:
        assert rc == 0, out[-6000:]
    print(f"{case}: faulted run rc={rc} changed={recap(out).get(HOST, {}).get('changed')}")

    rc, out = box.playbook("playbooks/site.yml", "--tags", scope)
    assert rc == 0, out[-6000:]
    assert differences(snapshot(box), clean) == []
    assert_stored_secrets_work(box, scope)
    references.holds = scope
