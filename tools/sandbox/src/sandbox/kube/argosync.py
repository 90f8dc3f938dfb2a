"""Argo CD's sync of Helm chart and git Applications: render, apply, compare, prune, self-heal, health.

Called by ``argocd.py`` (which keeps the spec and AppProject checks) for an Application whose
every source is a Helm chart (``repoURL`` + ``chart`` + ``targetRevision``), a git source of the
sandbox's git server (``repoURL`` under its URL + ``path``, rendered by ``gitsource.py``: Helm,
Kustomize or Directory; ``status.sync.revision`` is the commit it rendered) or a ``ref``-only value
source. Rules, after Argo CD v3.4.4 (controller/, gitops-engine/ in argoproj/argo-cd):

* Destination (util/argo/argo.go ``GetDestinationCluster``, util/db/cluster.go): ``server:
  https://kubernetes.default.svc`` or ``name: in-cluster`` is the virtual cluster holding the
  Application; anything else is looked up in the Secrets labelled
  ``argocd.argoproj.io/secret-type=cluster`` of the control plane's namespace (``data.server``,
  ``data.name``, ``data.config``). Unknown server → InvalidSpecError ``error getting cluster by
  server "<url>": rpc error: code = NotFound desc = cluster "<url>" not found``; unknown name →
  ``there are no clusters with this name: <name>``. A registered server that is no virtual cluster of
  this sandbox, or whose ``config.bearerToken`` that cluster does not accept, gives the
  ComparisonError ``Failed to load live state: failed to get cluster info for "<url>": ...``.
* Render (``helmrender.py``): only the sandbox's chart server is reachable; any other ``repoURL``
  fails like the repo server's ``helm pull`` does (ComparisonError ``Failed to load target state:
  failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = error fetching
  chart: ...``, controller/state.go, util/helm/client.go).
* Apply: server-side apply, field manager ``argocd-controller`` (common.ArgoCDSSAManager), forced
  (gitops-engine applies with --force-conflicts), through the cluster's own apply path, so every
  object is judged like a client write (schemas, admission, Pod Security). Every object carries the
  annotation tracking of v3 (``argocd.argoproj.io/tracking-id: <app>:<group>/<kind>:<ns>/<name>``,
  util/argo/resource_tracking.go; ``<ns>_<app>`` outside the control plane's namespace). Sync options
  ``CreateNamespace=true`` (the destination namespace is created first) and ``ServerSideApply=true``
  (the default here: the sandbox has no client-side apply path for Argo CD) are honoured.
* Order (gitops-engine pkg/sync/sync_tasks.go): phase (PreSync, Sync, PostSync), then
  ``argocd.argoproj.io/sync-wave``, then Helm's kind order (Namespace ... CRDs ... APIService), then
  name. A wave must be healthy before the next one starts (the operation stays ``Running``).
  Helm hooks as Argo CD maps them: ``pre-install``/``pre-upgrade`` → PreSync, ``post-install``/
  ``post-upgrade`` → PostSync, ``test*`` and delete hooks are skipped; ``helm.sh/hook-delete-policy``
  (``before-hook-creation`` the default, ``hook-succeeded``, ``hook-failed``) is applied. Hooks are
  not part of ``status.resources`` and do not count for sync or health.
* Compare: an object is Synced when it exists and holds every field the render gives it (a subset
  compare: server defaults are not drift). The Application is Synced only if every rendered object
  is; tracked objects the render no longer contains are OutOfSync with ``requiresPruning``.
* Automated sync (controller/appcontroller.go ``autoSync``): when OutOfSync and the source changed
  since the last sync; for the same source only with ``selfHeal``, after the self-heal backoff (0 s,
  2 s, 6 s, ... capped at 300 s, counted in ``operation.sync.autoHealAttemptsCount``), and never again
  after a failed sync of that source (a ``SyncError`` condition "Failed last sync attempt to ...").
  ``prune`` deletes tracked objects the render dropped; without it they stay (OutOfSync). A requested
  ``operation`` (``argocd app sync``) runs once and prunes only with ``operation.sync.prune``.
* Health (``argohealth.py``): the worst of the resources' health; a missing resource is Missing.
* Deletion (``resources-finalizer.argocd.argoproj.io``): the tracked objects are deleted in reverse
  sync order, a wave at a time, before the finalizer goes; ``argocd.py`` leaves them without it.

Known gaps: git sources of any other repository keep the status-only behaviour of ``argocd.py``
(the sandbox fetches nothing from the network). ``helm.valueFiles`` of a chart-repository source
and ``$ref`` value files are not read; there is no client-side apply (no last-applied annotation);
``syncPolicy.retry`` is not modelled; SyncFail and delete hooks are skipped; shared resources get
no SharedResourceWarning.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from sandbox.kube import argohealth, gitsource, helmrender
from sandbox.kube.cluster import Cluster, Op
from sandbox.kube.discovery import VERSION
from sandbox.kube.errors import KubeError
from sandbox.kube.resources import ResourceType

IN_CLUSTER = "https://kubernetes.default.svc"
TRACKING = "argocd.argoproj.io/tracking-id"
WAVE = "argocd.argoproj.io/sync-wave"
MANAGER = "argocd-controller"
CLUSTER_SECRET_LABEL = "argocd.argoproj.io/secret-type"  # noqa: S105 - a label key, no secret
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
KIND_ORDER = [
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
    "IngressClass", "Ingress", "APIService",
]  # fmt: skip
PHASES = {"PreSync": -1, "Sync": 0, "PostSync": 1}
HELM_HOOKS = {
    "pre-install": "PreSync",
    "pre-upgrade": "PreSync",
    "post-install": "PostSync",
    "post-upgrade": "PostSync",
}


@dataclass
class SyncEnv:
    """What the sync needs from the sandbox: the virtual clusters and where the chart server is."""

    clusters: dict[str, Cluster]
    kube_url: Callable[[], str]
    charts_url: Callable[[], str]
    ca_file: Callable[[], str]
    helm_home: str
    # the sandbox's git server (its URL, "" when there is none) and where the cache clones go
    git_url: Callable[[], str] = lambda: ""
    git_cache: str = ""


@dataclass
class Item:
    """One rendered object: where it goes, in which phase and wave, and how a hook is cleaned up."""

    obj: dict[str, Any]
    key: tuple[str, str, str, str]  # group, kind, namespace, name
    phase: str = "Sync"
    hook: bool = False
    wave: int = 0
    delete_policies: tuple[str, ...] = ()

    @property
    def order(self) -> tuple[int, int, int, str, str]:
        kind = self.key[1]
        rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
        return (PHASES[self.phase], self.wave, rank, kind, self.key[3])


@dataclass
class Operation:
    """A sync operation in progress (kept between controller rounds)."""

    source_digest: str
    prune: bool = False  # automated.prune, or the requested operation's sync.prune
    heal_attempts: int = 0  # operation.sync.autoHealAttemptsCount of a self-heal
    step: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    applied: set[tuple[str, str, str, str]] = field(default_factory=set)


_ops: dict[str, Operation] = {}
_synced_digest: dict[str, str] = {}  # app uid -> digest of the sources its last finished sync used
_finished: dict[str, float] = {}  # app uid -> when (monotonic) its last operation finished
_heal_due: set[str] = set()  # apps waiting for the self-heal backoff (no memo: time decides)
# app uid -> (the Application's cluster, the destination, the destination's resourceVersion when compared)
_watch: dict[str, tuple[Cluster, Cluster, int]] = {}
# app uid -> ((app resourceVersion, its cluster's rv, destination's rv, destination), the status computed then)
_memo: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
# id(cluster) -> gitsource.GITS.generation when the cluster's Applications with git sources were compared
_git_seen: dict[int, int] = {}
# app uid -> the git requests its last render read (the ones gitsource keeps refreshing)
_git_keys: dict[str, list[str]] = {}


# ------------------------------------------------------------------------------ sources


def served(env: SyncEnv, repo: str) -> bool:
    """A repoURL of the sandbox's git server (the only git repositories the sandbox reads)."""
    base = env.git_url().rstrip("/")
    return bool(base) and str(repo).startswith(base + "/")


def rendered_sources(env: SyncEnv, spec: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The sources to render when every source is a chart, a git path the sandbox serves, or a
    ref-only value source; else None (the Application keeps argocd.py's status-only behaviour)."""
    sources = spec.get("sources") or ([spec["source"]] if isinstance(spec.get("source"), dict) else [])
    sources = [s for s in sources if isinstance(s, dict)]
    found = [s for s in sources if s.get("chart") or (s.get("path") and served(env, str(s.get("repoURL") or "")))]
    rest = [s for s in sources if not any(s is f for f in found)]
    if not found or any(s.get("path") or not s.get("ref") for s in rest):
        return None
    return found


def _env(cluster: Cluster) -> SyncEnv | None:
    env = getattr(cluster, "sync_env", None)
    return env if isinstance(env, SyncEnv) else None


def handles(cluster: Cluster, app: dict[str, Any]) -> bool:
    env = _env(cluster)
    return env is not None and rendered_sources(env, app.get("spec") or {}) is not None


# ------------------------------------------------------------------------------ destination


@dataclass
class Destination:
    cluster: Cluster | None = None
    server: str = ""
    invalid: str = ""  # InvalidSpecError
    unreachable: str = ""  # ComparisonError


def _decode(secret: dict[str, Any], key: str) -> str:
    value = (secret.get("data") or {}).get(key)
    if value:
        return base64.b64decode(value).decode()
    return str((secret.get("stringData") or {}).get(key) or "")


def cluster_secrets(cluster: Cluster, control: str) -> list[dict[str, Any]]:
    return [
        s
        for s in cluster.objects("/secrets", control)
        if (s["metadata"].get("labels") or {}).get(CLUSTER_SECRET_LABEL) == "cluster"
    ]


def _virtual(env: SyncEnv, server: str) -> Cluster | None:
    base = env.kube_url().rstrip("/")
    if server == base:
        return env.clusters.get("default")
    prefix = base + "/clusters/"
    if server.startswith(prefix) and "/" not in server[len(prefix) :]:
        return env.clusters.get(server[len(prefix) :])
    return None


def resolve(cluster: Cluster, app: dict[str, Any], control: str) -> Destination:
    env = _env(cluster)
    assert env is not None
    dest = (app.get("spec") or {}).get("destination") or {}
    secrets = cluster_secrets(cluster, control)
    server = str(dest.get("server") or "").rstrip("/")
    if not server:
        name = str(dest.get("name") or "")
        found = [_decode(s, "server").rstrip("/") for s in secrets if _decode(s, "name") == name]
        if not found and name == "in-cluster":
            found = [IN_CLUSTER]
        if not found:
            return Destination(invalid=f"there are no clusters with this name: {name}")
        if len(found) > 1:
            return Destination(invalid=f"there are {len(found)} clusters with the same name: [{' '.join(found)}]")
        server = found[0]
    secret = next((s for s in secrets if _decode(s, "server").rstrip("/") == server), None)
    if server == IN_CLUSTER and secret is None:
        return Destination(cluster=cluster, server=server)
    if secret is None:
        missing = f'cluster "{dest.get("server") or server}" not found'
        return Destination(
            invalid=f'error getting cluster by server "{server}": rpc error: code = NotFound desc = {missing}'
        )
    return _reachable(env, cluster, server, secret)


def _reachable(env: SyncEnv, home: Cluster, server: str, secret: dict[str, Any]) -> Destination:
    target = home if server == IN_CLUSTER else _virtual(env, server)
    prefix = f'Failed to load live state: failed to get cluster info for "{server}": error synchronizing cache state : '
    if target is None:
        host = server.split("://", 1)[-1].split("/", 1)[0]
        return Destination(
            server=server, unreachable=f'{prefix}Get "{server}/version": dial tcp: lookup {host}: no such host'
        )
    try:
        config = json.loads(_decode(secret, "config") or "{}")
    except ValueError:
        config = {}
    token = str(config.get("bearerToken") or "") if isinstance(config, dict) else ""
    expires = target.data["tokens"].get(token, 0) if token else 0
    if server != IN_CLUSTER and (
        not token or token not in target.data["tokens"] or (expires and expires < time.time())
    ):
        return Destination(
            server=server, unreachable=f"{prefix}the server has asked for the client to provide credentials"
        )
    return Destination(cluster=target, server=server)


# ------------------------------------------------------------------------------ render


_served: dict[int, tuple[list[ResourceType], tuple[str, ...]]] = {}


def _api_versions(dest: Cluster) -> tuple[str, ...]:
    """Every served group/version and group/version/Kind (what Argo CD passes as --api-versions)."""
    cached = _served.get(id(dest))
    if cached is not None and cached[0] is dest.types:
        return cached[1]
    found = set()
    for t in dest.types:
        found.add(t.api_version)
        found.add(f"{t.api_version}/{t.kind}")
    result = tuple(sorted(found))
    _served[id(dest)] = (dest.types, result)
    return result


def _values(helm: dict[str, Any]) -> str:
    if isinstance(helm.get("valuesObject"), dict):
        return yaml.safe_dump(helm["valuesObject"], sort_keys=True)
    return str(helm.get("values") or "")


def render_request(
    env: SyncEnv, app: dict[str, Any], source: dict[str, Any], dest: Cluster
) -> helmrender.RenderRequest:
    helm = source.get("helm") or {}
    params = tuple(
        (str(p.get("name", "")), str(p.get("value", "")), bool(p.get("forceString")))
        for p in helm.get("parameters") or []
        if isinstance(p, dict)
    )
    return helmrender.RenderRequest(
        repo=str(source["repoURL"]).rstrip("/"),
        chart=str(source["chart"]),
        version=str(source.get("targetRevision") or ""),
        release=str(helm.get("releaseName") or app["metadata"]["name"]),
        namespace=str(((app.get("spec") or {}).get("destination") or {}).get("namespace") or ""),
        values=_values(helm),
        parameters=params,
        skip_crds=bool(helm.get("skipCrds")),
        kube_version=VERSION["gitVersion"],
        api_versions=_api_versions(dest),
        ca_file=env.ca_file(),
        home=env.helm_home,
    )


def _fetch_error(req: helmrender.RenderRequest) -> str:
    host = req.repo.split("://", 1)[-1].split("/", 1)[0]
    return (
        f"error fetching chart: `helm pull --destination /tmp --version {req.version} --repo {req.repo} {req.chart}` "
        f'failed exit status 1: Error: looks like "{req.repo}" is not a valid chart repository or cannot be '
        f'reached: Get "{req.repo}/index.yaml": dial tcp: lookup {host}: no such host'
    )


def git_request(env: SyncEnv, app: dict[str, Any], source: dict[str, Any], dest: Cluster) -> gitsource.GitRequest:
    blocks = {k: source[k] for k in ("helm", "kustomize", "directory", "plugin") if source.get(k) is not None}
    return gitsource.GitRequest(
        repo=str(source["repoURL"]),
        revision=str(source.get("targetRevision") or ""),
        path=str(source.get("path") or ""),
        source=json.dumps(blocks, sort_keys=True),
        release=str(app["metadata"]["name"]),
        namespace=str(((app.get("spec") or {}).get("destination") or {}).get("namespace") or ""),
        kube_version=VERSION["gitVersion"],
        api_versions=_api_versions(dest),
        ca_file=env.ca_file(),
        cache=env.git_cache,
        helm_home=env.helm_home,
    )


@dataclass
class Rendered:
    """What the repo server answered for every source: the objects, or the first error."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    revisions: dict[int, str] = field(default_factory=dict)  # source index -> commit of a git source
    types: dict[int, str] = field(default_factory=dict)  # source index -> discovered source type
    keys: list[str] = field(default_factory=list)  # the git requests (gitsource keys) the render read


def render(env: SyncEnv, app: dict[str, Any], dest: Cluster) -> Rendered | None:
    """The rendered objects or the ComparisonError message; None while a render runs."""
    spec = app.get("spec") or {}
    sources = spec.get("sources") or [spec.get("source") or {}]
    out = Rendered()
    for index, source in enumerate(sources):
        prefix = f"Failed to load target state: failed to generate manifest for source {index + 1} of {len(sources)}: "
        if not source.get("chart") and source.get("path"):
            request = git_request(env, app, source, dest)
            out.keys.append(request.key())
            git = gitsource.GITS.get(request)
            if git is None:
                return None
            if git.error:
                return Rendered(error=prefix + git.error, keys=out.keys)
            out.revisions[index], out.types[index] = git.revision, git.source_type
            out.objects += [copy.deepcopy(o) for o in git.objects]
            continue
        if not source.get("chart"):
            continue  # a ref-only value source renders nothing (controller/state.go GetRepoObjs)
        req = render_request(env, app, source, dest)
        if req.repo != env.charts_url().rstrip("/"):
            return Rendered(error=prefix + "rpc error: code = Unknown desc = " + _fetch_error(req))
        result = helmrender.RENDERER.get(req)
        if result is None:
            return None
        if result.error:
            return Rendered(error=prefix + "rpc error: code = Unknown desc = " + result.error)
        out.objects += [copy.deepcopy(o) for o in result.objects]
    return out


# ------------------------------------------------------------------------------ items


def instance_name(app: dict[str, Any], control: str) -> str:
    meta = app["metadata"]
    return meta["name"] if meta["namespace"] == control else f"{meta['namespace']}_{meta['name']}"


def find_type(dest: Cluster, api_version: str, kind: str) -> ResourceType | None:
    return next((t for t in dest.types if t.api_version == api_version and t.kind == kind), None)


def _namespaced(dest: Cluster, obj: dict[str, Any], crds: dict[str, bool]) -> bool:
    rtype = find_type(dest, str(obj.get("apiVersion")), str(obj.get("kind")))
    if rtype is not None:
        return rtype.namespaced
    return crds.get(f"{str(obj.get('apiVersion')).rpartition('/')[0]}/{obj.get('kind')}", True)


def _hook(annotations: dict[str, str]) -> tuple[str, bool, tuple[str, ...]] | None:
    """(phase, is hook, delete policies); None for a hook Argo CD skips (tests, delete hooks)."""
    argo = annotations.get("argocd.argoproj.io/hook")
    helm = [h.strip() for h in str(annotations.get("helm.sh/hook") or "").split(",") if h.strip()]
    if argo:
        policies = annotations.get("argocd.argoproj.io/hook-delete-policy") or "BeforeHookCreation"
        phase = argo.split(",")[0].strip()
        return (phase, True, tuple(p.strip() for p in policies.split(","))) if phase in PHASES else None
    if not helm:
        return ("Sync", False, ())
    phases = [HELM_HOOKS[h] for h in helm if h in HELM_HOOKS]
    if not phases:
        return None
    names = {
        "before-hook-creation": "BeforeHookCreation",
        "hook-succeeded": "HookSucceeded",
        "hook-failed": "HookFailed",
    }
    raw = str(annotations.get("helm.sh/hook-delete-policy") or "before-hook-creation").split(",")
    return (phases[0], True, tuple(names.get(p.strip(), p.strip()) for p in raw))


def items(app: dict[str, Any], objects: list[dict[str, Any]], dest: Cluster, control: str) -> list[Item]:
    namespace = str(((app.get("spec") or {}).get("destination") or {}).get("namespace") or "")
    instance = instance_name(app, control)
    crds = {
        f"{(o.get('spec') or {}).get('group')}/{((o.get('spec') or {}).get('names') or {}).get('kind')}": (
            (o.get("spec") or {}).get("scope") == "Namespaced"
        )
        for o in objects
        if o.get("kind") == "CustomResourceDefinition"
    }
    found = []
    for obj in objects:
        meta = obj.setdefault("metadata", {})
        annotations = meta.get("annotations") or {}
        hook = _hook(annotations)
        if hook is None:
            continue
        if _namespaced(dest, obj, crds):
            meta["namespace"] = meta.get("namespace") or namespace
        else:
            meta.pop("namespace", None)
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        key = (group, str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))
        if not hook[1]:
            tracking = f"{instance}:{group}/{key[1]}:{key[2] or namespace}/{key[3]}"
            meta["annotations"] = {**annotations, TRACKING: tracking}
        try:
            wave = int(annotations.get(WAVE, 0))
        except ValueError:
            wave = 0
        found.append(Item(obj, key, hook[0], hook[1], wave, hook[2]))
    found.sort(key=lambda i: i.order)
    return found


# ------------------------------------------------------------------------------ live state


def live(dest: Cluster, item_key: tuple[str, str, str, str], api_version: str) -> dict[str, Any] | None:
    rtype = find_type(dest, api_version, item_key[1])
    if rtype is None:
        return None
    return dest.lookup(rtype.gr, item_key[2] if rtype.namespaced else "", item_key[3])


def _subset(want: Any, have: Any) -> bool:
    if want in ({}, []) and have is None:
        return True  # an empty map or list and an absent field are the same state (the API may drop either)
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_subset(v, have.get(k)) for k, v in want.items() if v is not None)
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(want) == len(have)
            and all(_subset(w, h) for w, h in zip(want, have, strict=True))
        )
    if isinstance(want, (int, float)) and isinstance(have, (int, float)) and not isinstance(want, bool):
        return want == have
    return want == have and type(want) is type(have)


def matches(desired: dict[str, Any], current: dict[str, Any] | None) -> bool:
    if current is None:
        return False
    body = {k: v for k, v in desired.items() if k not in {"apiVersion", "kind", "metadata", "status"}}
    meta = desired.get("metadata") or {}
    cmeta = current.get("metadata") or {}
    return (
        _subset(body, current)
        and _subset(meta.get("labels") or {}, cmeta.get("labels") or {})
        and _subset(meta.get("annotations") or {}, cmeta.get("annotations") or {})
    )


_index: dict[int, tuple[Cluster, int, dict[str, list[tuple[ResourceType, dict[str, Any]]]]]] = {}


def tracked(dest: Cluster, instance: str) -> list[tuple[ResourceType, dict[str, Any]]]:
    """The objects of ``dest`` whose tracking annotation names ``instance`` (one scan per resourceVersion)."""
    cached = _index.get(id(dest))
    if cached is None or cached[0] is not dest or cached[1] != dest.rv:
        by_app: dict[str, list[tuple[ResourceType, dict[str, Any]]]] = {}
        for gr, bucket in list(dest.data["objects"].items()):
            rtype = dest.by_gr.get(gr)
            if rtype is None:
                continue
            for obj in list(bucket.values()):
                value = (obj["metadata"].get("annotations") or {}).get(TRACKING)
                if value:
                    by_app.setdefault(str(value).split(":", 1)[0], []).append((rtype, obj))
        cached = _index[id(dest)] = (dest, dest.rv, by_app)
    return list(cached[2].get(instance, []))


def _entry(group: str, version: str, kind: str, ns: str, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"version": version, "kind": kind, "name": name}
    if group:
        entry["group"] = group
    if ns:
        entry["namespace"] = ns
    return entry


def _images(obj: dict[str, Any]) -> list[str]:
    spec = obj.get("spec") or {}
    pod = (
        spec if obj.get("kind") == "Pod" else ((spec.get("jobTemplate") or {}).get("spec") or spec).get("template", {})
    )
    pod_spec = pod.get("spec") or {} if obj.get("kind") != "Pod" else spec
    return [
        str(c.get("image"))
        for c in (pod_spec.get("initContainers") or []) + (pod_spec.get("containers") or [])
        if c.get("image")
    ]


@dataclass
class Comparison:
    resources: list[dict[str, Any]]
    synced: bool
    health: dict[str, str]
    images: list[str]
    prune: list[tuple[ResourceType, dict[str, Any]]]


def compare(dest: Cluster, found: list[Item], instance: str) -> Comparison:
    resources, images, synced, health = [], set(), True, "Healthy"
    keys = set()
    for item in found:
        if item.hook:
            continue
        keys.add(item.key)
        api_version = str(item.obj.get("apiVersion"))
        current = live(dest, item.key, api_version)
        ok = matches(item.obj, current)
        synced = synced and ok
        entry = _entry(item.key[0], api_version.rpartition("/")[2], *item.key[1:])
        entry["status"] = "Synced" if ok else "OutOfSync"
        if item.wave:
            entry["syncWave"] = item.wave
        state = argohealth.resource_health(current) if current is not None else {"status": "Missing"}
        if state is not None:
            entry["health"] = state
            if argohealth.worse(health, state["status"]):
                health = state["status"]
        if current is not None:
            images.update(_images(current))
        resources.append(entry)
    prune = []
    for rtype, obj in tracked(dest, instance):
        meta = obj["metadata"]
        key = (rtype.group, rtype.kind, str(meta.get("namespace") or ""), meta["name"])
        if key in keys:
            continue
        synced = False
        prune.append((rtype, obj))
        entry = _entry(rtype.group, rtype.version, rtype.kind, key[2], key[3])
        entry.update({"status": "OutOfSync", "requiresPruning": True})
        resources.append(entry)
    resources.sort(key=lambda e: (e.get("group", ""), e["kind"], e.get("namespace", ""), e["name"]))
    return Comparison(resources, synced, {"status": health}, sorted(images), prune)


# ------------------------------------------------------------------------------ apply


def _short(item_key: tuple[str, str, str, str]) -> str:
    group, kind, _, name = item_key
    return f"{kind.lower()}{'.' + group if group else ''}/{name}"


def apply(dest: Cluster, obj: dict[str, Any]) -> str:
    """Server-side apply ``obj`` as argocd-controller; the refusal's message, or ""."""
    api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
    rtype = find_type(dest, api_version, kind)
    meta = obj["metadata"]
    if rtype is None:
        group = api_version.rpartition("/")[0]
        return (
            f"The Kubernetes API could not find {group}/{kind} for requested resource "
            f'{meta.get("namespace", "")}/{meta.get("name")}. Make sure the "{kind}" CRD is installed on the '
            "destination cluster."
        )
    body = json.dumps(obj).encode()
    namespace = str(meta.get("namespace") or "") if rtype.namespaced else ""
    try:
        dest.patch(
            rtype,
            namespace,
            str(meta.get("name")),
            content_type="application/apply-patch+yaml",
            body=body,
            op=Op(manager=MANAGER, force=True),
        )
    except KubeError as exc:
        return exc.message
    return ""


def delete(dest: Cluster, rtype: ResourceType, obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    with contextlib.suppress(KubeError):  # already gone
        dest.delete(rtype, str(meta.get("namespace") or ""), meta["name"], {"propagationPolicy": "Foreground"}, Op())


def ensure_namespace(dest: Cluster, namespace: str) -> str:
    if not namespace or dest.lookup("/namespaces", "", namespace) is not None:
        return ""
    return apply(dest, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


def _result(item: Item, message: str, status: str) -> dict[str, Any]:
    api_version = str(item.obj.get("apiVersion"))
    # ResourceResult's group and namespace are required (no omitempty), unlike ResourceStatus'
    entry = {**_entry(item.key[0], api_version.rpartition("/")[2], *item.key[1:]), "group": item.key[0]}
    entry.update({"namespace": item.key[2], "status": status, "message": message, "syncPhase": item.phase})
    if item.hook:
        entry["hookType"] = item.phase
    return entry


def _groups(found: list[Item]) -> list[list[Item]]:
    groups: list[list[Item]] = []
    for item in found:
        if groups and (groups[-1][0].phase, groups[-1][0].wave) == (item.phase, item.wave):
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _healthy(dest: Cluster, group: list[Item]) -> str:
    """ "ok", "wait" or "failed" for a group just applied."""
    for item in group:
        current = live(dest, item.key, str(item.obj.get("apiVersion")))
        if current is None:
            return "ok" if item.hook else "wait"
        state = argohealth.resource_health(current)
        if state is None:
            continue
        if state["status"] == "Degraded" and item.hook:
            return "failed"
        if state["status"] != "Healthy":
            return "wait"
    return "ok"


def _apply_hook(dest: Cluster, item: Item) -> str:
    """A hook is created anew: ``BeforeHookCreation`` deletes the one a previous sync left."""
    rtype = find_type(dest, str(item.obj.get("apiVersion")), item.key[1])
    current = live(dest, item.key, str(item.obj.get("apiVersion")))
    if rtype is not None and current is not None and "BeforeHookCreation" in item.delete_policies:
        delete(dest, dest.by_gr[rtype.gr], current)
    return apply(dest, item.obj)


def run(dest: Cluster, op: Operation, found: list[Item], comparison: Comparison, prune: bool) -> tuple[str, str]:
    """Advance the sync operation; (phase, message): Running, Succeeded or Failed."""
    groups = _groups(found)
    while op.step < len(groups):
        group = groups[op.step]
        for item in group:
            if item.key in op.applied:
                continue
            error = _apply_hook(dest, item) if item.hook else apply(dest, item.obj)
            op.applied.add(item.key)
            verb = "created" if item.hook else "serverside-applied"
            op.results.append(_result(item, error or f"{_short(item.key)} {verb}", "SyncFailed" if error else "Synced"))
            if error:
                return "Failed", "one or more objects failed to apply, reason: " + error
        last = op.step == len(groups) - 1
        if not last or any(i.hook for i in group):
            verdict = _healthy(dest, group)
            if verdict == "failed":
                _cleanup_hooks(dest, found, "HookFailed")
                return "Failed", "one or more synchronization tasks completed unsuccessfully"
            if verdict == "wait":
                return "Running", "one or more tasks are running"
        op.step += 1
    for rtype, obj in comparison.prune if prune else []:
        delete(dest, rtype, obj)
        meta = obj["metadata"]
        key = (rtype.group, rtype.kind, str(meta.get("namespace") or ""), meta["name"])
        entry = {**_entry(rtype.group, rtype.version, *key[1:]), "group": rtype.group, "namespace": key[2]}
        entry.update({"status": "Pruned", "message": "pruned", "syncPhase": "Sync"})
        op.results.append(entry)
    _cleanup_hooks(dest, found, "HookSucceeded")
    return "Succeeded", "successfully synced (all tasks run)"


def _cleanup_hooks(dest: Cluster, found: list[Item], policy: str) -> None:
    for item in found:
        if item.hook and policy in item.delete_policies:
            current = live(dest, item.key, str(item.obj.get("apiVersion")))
            rtype = find_type(dest, str(item.obj.get("apiVersion")), item.key[1])
            if current is not None and rtype is not None:
                delete(dest, dest.by_gr[rtype.gr], current)


# ------------------------------------------------------------------------------ status


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _heal_delay(attempts: int) -> float:
    """Self-heal backoff (cmd/argocd-application-controller: --self-heal-backoff-timeout-seconds 2,
    factor 3, cap 300; appcontroller.go selfHealRemainingBackoff): the n-th heal of one revision waits
    0 s, 2 s, 6 s, 18 s, ... after the previous operation finished."""
    return 0.0 if attempts <= 0 else min(2.0 * 3 ** (attempts - 1), 300.0)


def _auto_sync(cluster: Cluster, app: dict[str, Any], digest: str, synced: bool) -> Operation | None:
    """The operation to start now, if any (appcontroller.go autoSync at v3.4.4)."""
    uid = app["metadata"]["uid"]
    if app.get("operation"):
        return Operation(digest, prune=_prune_wanted(app))
    automated = ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated")
    if not isinstance(automated, dict) or automated.get("enabled", True) is False or synced:
        _heal_due.discard(uid)
        return None
    if _synced_digest.get(uid, "") != digest:
        return Operation(digest, prune=_prune_wanted(app))  # a new source: synced once, whatever selfHeal says
    last = (app.get("status") or {}).get("operationState") or {}
    if last.get("phase") in {"Failed", "Error"} or not automated.get("selfHeal"):
        return None  # already attempted: no retry of a failed sync, no heal without selfHeal
    attempts = int(((last.get("operation") or {}).get("sync") or {}).get("autoHealAttemptsCount") or 0)
    remaining = _heal_delay(attempts) - (time.monotonic() - _finished.get(uid, 0.0))
    if remaining > 0:
        _heal_due.add(uid)
        cluster.timers = True  # come back when the backoff has passed
        return None
    _heal_due.discard(uid)
    return Operation(digest, prune=_prune_wanted(app), heal_attempts=attempts + 1)


def _sync_error(app: dict[str, Any], digest: str) -> str:
    """The SyncError condition of an automated app whose last sync of this source failed."""
    automated = ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated")
    last = (app.get("status") or {}).get("operationState") or {}
    if not isinstance(automated, dict) or last.get("phase") not in {"Failed", "Error"}:
        return ""
    if _synced_digest.get(app["metadata"]["uid"], "") != digest:
        return ""
    result = last.get("syncResult") or {}
    revisions = result.get("revisions") or [result.get("revision", "")]
    return f"Failed last sync attempt to [{' '.join(str(r) for r in revisions)}]: {last.get('message', '')}"


def _prune_wanted(app: dict[str, Any]) -> bool:
    """A requested operation prunes when its sync says so; an automated one with automated.prune."""
    if app.get("operation"):
        return bool((app["operation"].get("sync") or {}).get("prune"))
    automated = ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated") or {}
    return bool(automated.get("prune"))


def _options(app: dict[str, Any]) -> list[str]:
    return [str(o) for o in ((app.get("spec") or {}).get("syncPolicy") or {}).get("syncOptions") or []]


def sync_status(cluster: Cluster, app: dict[str, Any], status: dict[str, Any], control: str) -> dict[str, Any] | None:
    """Fill ``status`` (built by argocd.py) for a Helm chart Application; None while rendering."""
    env = _env(cluster)
    assert env is not None
    target = resolve(cluster, app, control)
    if target.invalid:
        return invalid_spec(status, app.get("status") or {}, target.invalid)
    if target.unreachable or target.cluster is None:
        return _condition(status, "ComparisonError", target.unreachable)
    dest = target.cluster
    uid = app["metadata"]["uid"]
    seen = (app["metadata"].get("resourceVersion"), cluster.rv, dest.rv, id(dest), gitsource.GITS.generation)
    memo = _memo.get(uid)
    if memo is not None and memo[0] == seen and uid not in _ops and uid not in _heal_due:
        return copy.deepcopy(memo[1])  # nothing changed since the last comparison
    rendered = render(env, app, dest)
    if rendered is None:
        cluster.timers = True
        return None
    if rendered.keys:
        _git_keys[uid] = rendered.keys
        _git_seen[id(cluster)] = gitsource.GITS.generation
    else:
        _git_keys.pop(uid, None)
    if rendered.error:
        return _condition(status, "ComparisonError", rendered.error)
    _git_status(status, rendered)
    found = items(app, rendered.objects, dest, control)
    result = _synced(cluster, app, status, dest=dest, found=found, control=control)
    _memo[uid] = (
        (app["metadata"].get("resourceVersion"), cluster.rv, dest.rv, id(dest), gitsource.GITS.generation),
        copy.deepcopy(result),
    )
    return result


def _git_status(status: dict[str, Any], rendered: Rendered) -> None:
    """A git source's revision is the commit it rendered (the repo server's ManifestResponse.Revision),
    its type the discovered one (controller/state.go sets sourceType from the manifest response)."""
    sync = status["sync"]
    for index, revision in rendered.revisions.items():
        if "revisions" in sync:
            sync["revisions"][index] = revision
            status["sourceTypes"][index] = rendered.types[index]
        else:
            sync["revision"] = revision
            status["sourceType"] = rendered.types[index]


# ComparedTo's zero value as Go marshals it: destination and source are structs (never omitted),
# source.repoURL has no omitempty (pkg/apis/application/v1alpha1/types.go).
NEVER_COMPARED: dict[str, Any] = {"destination": {}, "source": {"repoURL": ""}}


def invalid_spec(status: dict[str, Any], old: dict[str, Any], message: str) -> dict[str, Any]:
    """The status of an Application whose spec the controller refuses before comparing.

    controller/appcontroller.go ``processAppRefreshQueueItem`` (v3.4.4): when ``refreshAppConditions``
    finds an error (``argo.ValidatePermissions``: sources, destination cluster, project) it sets sync
    and health ``Unknown`` and persists the status without comparing, so ``sync.comparedTo`` (and
    ``operationState``) stay what the last comparison (sync) wrote.
    """
    sync = old.get("sync") or {}
    status["sync"] = {"status": "Unknown", "comparedTo": copy.deepcopy(sync.get("comparedTo") or NEVER_COMPARED)}
    for key in ("revision", "revisions"):
        if sync.get(key):
            status["sync"][key] = sync[key]
    status["health"] = {"status": "Unknown"}
    status["conditions"] = [{"type": "InvalidSpecError", "message": message}]
    if old.get("operationState"):
        status["operationState"] = old["operationState"]
    else:
        status.pop("operationState", None)
    return status


def _condition(status: dict[str, Any], kind: str, message: str) -> dict[str, Any]:
    status["sync"]["status"] = "Unknown"
    status["health"] = {"status": "Unknown" if kind == "ComparisonError" else "Missing"}
    status["conditions"] = [{"type": kind, "message": message}]
    status.pop("operationState", None)
    return status


def _synced(
    cluster: Cluster, app: dict[str, Any], status: dict[str, Any], *, dest: Cluster, found: list[Item], control: str
) -> dict[str, Any]:
    uid = app["metadata"]["uid"]
    old = app.get("status") or {}
    instance = instance_name(app, control)
    # the source as written and the commits it resolved to: a new commit is a new source to sync
    spec = app.get("spec") or {}
    sync = status["sync"]
    digest = _digest([spec.get("source"), spec.get("sources"), sync.get("revision"), sync.get("revisions")])
    comparison = compare(dest, found, instance)
    op = _ops.get(uid)
    if op is None:
        op = _auto_sync(cluster, app, digest, comparison.synced)
        if op is not None:
            _ops[uid] = op
    if op is not None:
        if "CreateNamespace=true" in _options(app):
            ensure_namespace(dest, str(((app.get("spec") or {}).get("destination") or {}).get("namespace") or ""))
        phase, message = run(dest, op, found, comparison, op.prune)
        status["operationState"] = _operation_state(app, status, op, phase, message)
        if phase == "Running":
            cluster.timers = True
        else:
            _ops.pop(uid, None)
            _synced_digest[uid] = digest
            _finished[uid] = time.monotonic()
        comparison = compare(dest, found, instance)
    elif old.get("operationState"):
        status["operationState"] = old["operationState"]
    _watch[uid] = (cluster, dest, dest.rv)
    error = _sync_error(app, digest) if op is None else ""
    if error:
        status["conditions"] = [{"type": "SyncError", "message": error}]
    status["resources"] = comparison.resources
    status["summary"] = {"images": comparison.images} if comparison.images else {}
    status["sync"]["status"] = "Synced" if comparison.synced else "OutOfSync"
    status["health"] = comparison.health
    return status


def _operation_state(
    app: dict[str, Any], status: dict[str, Any], op: Operation, phase: str, message: str
) -> dict[str, Any]:
    operation: dict[str, Any] = copy.deepcopy(app.get("operation") or {}) or {
        "initiatedBy": {"automated": True},
        "retry": {"limit": 5},
    }
    sync = status["sync"]
    if op.heal_attempts:
        operation.setdefault("sync", {})["autoHealAttemptsCount"] = op.heal_attempts
    result: dict[str, Any] = {"resources": copy.deepcopy(op.results)}
    if "revisions" in sync:
        operation.setdefault("sync", {})["revisions"] = list(sync["revisions"])
        result.update({"revisions": list(sync["revisions"]), "sources": copy.deepcopy(sync["comparedTo"]["sources"])})
    else:
        operation.setdefault("sync", {})["revision"] = sync["revision"]
        result.update({"revision": sync["revision"], "source": copy.deepcopy(sync["comparedTo"]["source"])})
    return {"operation": operation, "phase": phase, "message": message, "syncResult": result}


# ------------------------------------------------------------------------------ deletion


def delete_resources(cluster: Cluster, app: dict[str, Any], control: str) -> bool:
    """Delete the app's tracked objects, highest wave first; True once none is left."""
    env = _env(cluster)
    if env is None:
        return True
    target = resolve(cluster, app, control)
    if target.cluster is None:
        return True
    left = tracked(target.cluster, instance_name(app, control))
    if not left:
        return True
    cluster.timers = True
    waves = {id(obj): _wave(obj) for _, obj in left}
    top = max(waves.values())
    for rtype, obj in left:
        if waves[id(obj)] == top and not obj["metadata"].get("deletionTimestamp"):
            delete(target.cluster, rtype, obj)
    return False


def _wave(obj: dict[str, Any]) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(WAVE, 0))
    except ValueError:
        return 0


def forget(uid: str) -> None:
    _ops.pop(uid, None)
    _synced_digest.pop(uid, None)
    _watch.pop(uid, None)
    _memo.pop(uid, None)
    _git_keys.pop(uid, None)
    _finished.pop(uid, None)
    _heal_due.discard(uid)


def stale(home: Cluster) -> bool:
    """A destination other than ``home`` changed since its Applications were compared (self-heal, health),
    or a git source's result changed (a new commit) since they were."""
    if id(home) in _git_seen:
        gitsource.GITS.poll({key for keys in list(_git_keys.values()) for key in keys})
        if _git_seen[id(home)] != gitsource.GITS.generation:
            return True
    return any(h is home and d is not home and d.rv != rv for h, d, rv in list(_watch.values()))
