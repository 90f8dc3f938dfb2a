"""The emulated Argo CD renders git sources from the sandbox's git server (sandbox/kube/gitsource.py).

A fixture repository is built with the git CLI and placed under the git server's root, then read
by Applications over HTTPS like any client would: Helm (Chart.yaml at the path), Kustomize
(kustomization.yaml) and Directory sources, revisions given as HEAD, branch, tag or full SHA and
reported as the commit SHA, and the ComparisonError messages of Argo CD v3.4.4 for an unknown
repository, revision or path. A repoURL the sandbox does not serve keeps the status-only behaviour.
"""

from __future__ import annotations

import functools
import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_tools import (
    app_status,
    applications,
    argo_cd_crds,
    delete_application,
    install_crds,
    served_dynamic,
    wait_for,
    wait_synced_healthy,
)
from kubernetes import client, config, dynamic
from sandbox_tools import TOOLS

from sandbox import client as sb
from sandbox import gitserver
from sandbox.kube import gitsource

NS = "argocd"
TRACKING = "argocd.argoproj.io/tracking-id"
PREFIX = "Failed to load target state: failed to generate manifest for source 1 of 1: "
_wait = functools.partial(wait_for, timeout=30.0)

CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": "greeting: hello\ncolour: blue\nsize: small\n",
    "charts/web/environments/sandbox/values.yaml": "colour: green\nsize: medium\n",
    "charts/web/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n"
        "  greeting: {{ .Values.greeting | quote }}\n  colour: {{ .Values.colour | quote }}\n"
        "  size: {{ .Values.size | quote }}\n  namespace: {{ .Release.Namespace | quote }}\n"
    ),
    "kustomize/kustomization.yaml": "namePrefix: kz-\nresources:\n  - cm.yaml\n",
    "kustomize/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '1'\n",
    "plain/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-a\ndata:\n  v: a\n",
    "plain/b.json": json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain-b"}}),
    "plain/list.yml": (
        "apiVersion: v1\nkind: List\nitems:\n"
        "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: plain-l1}}\n"
        "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: plain-l2}}\n"
    ),
    "plain/skipped.yaml": "# +argocd:skip-file-rendering\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: skip\n",
    "plain/notes.yaml": "just: some settings\n",
    "plain/README.md": "not a manifest\n",
    "plain/sub/c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-c\n",
    "plain/sub/x-ignored.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-x\n",
}


def _git(env: dict[str, str], *args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


class Fixture:
    """A repository served by the sandbox: ``main`` (two commits), tag ``v1`` (the first), ``feature``."""

    def __init__(self, endpoints: dict[str, Any], work: Path) -> None:
        self.name = f"fixtures-{uuid.uuid4().hex[:8]}"
        self.url = f"{endpoints['git']['url']}/{self.name}.git"
        self.bare = Path(endpoints["git"]["root"]) / f"{self.name}.git"
        self.work = work
        self.env = gitserver.git_env(HOME=str(work), **gitserver.IDENTITY)
        work.mkdir()
        _git(self.env, "init", "--quiet", "--initial-branch=main", cwd=work)
        _git(self.env, "init", "--quiet", "--bare", "--initial-branch=main", str(self.bare), cwd=work)
        self.first = self.commit(CHART, "first")
        _git(self.env, "tag", "-a", "v1", "-m", "v1", cwd=work)
        self.main = self.commit({"charts/web/values.yaml": "greeting: hello\ncolour: blue\nsize: large\n"}, "second")
        _git(self.env, "checkout", "--quiet", "-b", "feature", self.first, cwd=work)
        self.feature = self.commit({"plain/a.yaml": CHART["plain/a.yaml"].replace("v: a", "v: feature")}, "feat")
        _git(self.env, "checkout", "--quiet", "main", cwd=work)
        self.push()

    def commit(self, files: dict[str, str], message: str) -> str:
        for rel, text in files.items():
            (self.work / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.work / rel).write_text(text)
        _git(self.env, "add", "-A", cwd=self.work)
        _git(self.env, "commit", "--quiet", "-m", message, cwd=self.work)
        return _git(self.env, "rev-parse", "HEAD", cwd=self.work)

    def push(self) -> None:
        _git(self.env, "push", "--quiet", "--force", "--tags", str(self.bare), "main", "feature", cwd=self.work)


@pytest.fixture(scope="module")
def repo(sandbox_endpoints: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return Fixture(sandbox_endpoints, tmp_path_factory.mktemp("gitfix") / "work")


@pytest.fixture(scope="module")
def dyn(kubeconfig: Path) -> dynamic.DynamicClient:
    api_client = config.new_client_from_config(str(kubeconfig))
    install_crds(api_client, argo_cd_crds("applications", "appprojects"), NS)
    return served_dynamic(api_client, "argoproj.io/v1alpha1", "Application", timeout=30.0)


def _create(dyn: dynamic.DynamicClient, name: str, source: dict[str, Any], namespace: str | None = None) -> None:
    body = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "source": source,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace or name},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]},
        },
    }
    applications(dyn).create(body=body, namespace=NS)


def _condition(dyn: dynamic.DynamicClient, name: str) -> dict[str, Any]:
    status = _wait(lambda: app_status(dyn, name).get("conditions") and app_status(dyn, name), f"a condition on {name}")
    assert status["sync"]["status"] == "Unknown"
    assert status["health"]["status"] == "Unknown"
    return dict(status["conditions"][0])


def _configmap(kubeconfig: Path, namespace: str, name: str) -> dict[str, Any] | None:
    api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    try:
        return api.read_namespaced_config_map(name, namespace).to_dict()
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_helm_source_renders_the_chart_at_the_path_with_value_files(
    dyn: dynamic.DynamicClient, repo: Fixture, kubeconfig: Path, tmp_path: Path
) -> None:
    """reposerver/repository/repository.go helmTemplate: ``helm template .`` in the app path with the
    release name, ``helm.valueFiles`` (relative to the path), then valuesObject, then parameters;
    the status names the commit (ManifestResponse.Revision) and the discovered type Helm."""
    source = {
        "repoURL": repo.url,
        "path": "charts/web",
        "targetRevision": "main",
        "helm": {
            "releaseName": "web-rel",
            "valueFiles": ["environments/sandbox/values.yaml"],
            "valuesObject": {"size": "xl"},
            "parameters": [{"name": "greeting", "value": "hi"}],
        },
    }
    _create(dyn, "git-helm", source)
    status = wait_synced_healthy(dyn, "git-helm")
    assert status["sync"]["revision"] == repo.main
    assert status["sourceType"] == "Helm"
    assert [(r["kind"], r["name"]) for r in status["resources"]] == [("ConfigMap", "web-rel-cm")]
    live = _configmap(kubeconfig, "git-helm", "web-rel-cm")
    assert live is not None
    assert live["data"] == {"greeting": "hi", "colour": "green", "size": "xl", "namespace": "git-helm"}
    assert live["metadata"]["annotations"][TRACKING] == "git-helm:/ConfigMap:git-helm/web-rel-cm"
    # the same as the test's own helm run on the same commit
    _git(repo.env, "worktree", "add", "--quiet", "--detach", str(tmp_path / "wt"), repo.main, cwd=repo.work)
    chart = tmp_path / "wt" / "charts" / "web"
    args = [str(TOOLS / "helm"), "template", ".", "--name-template", "web-rel", "--namespace", "git-helm"]
    args += ["--values", "environments/sandbox/values.yaml", "--values", "-", "--set", "greeting=hi"]
    done = subprocess.run(args, input="size: xl\n", cwd=chart, capture_output=True, text=True, check=True)
    assert yaml.safe_load(done.stdout)["data"] == live["data"]
    assert status["operationState"]["syncResult"]["revision"] == repo.main


def test_kustomize_and_directory_sources(dyn: dynamic.DynamicClient, repo: Fixture, kubeconfig: Path) -> None:
    """discovery.AppType: kustomization.yaml makes Kustomize (``kubectl kustomize``), none of the
    markers Directory; findManifests reads *.yaml/*.yml/*.json of the path only (no recurse), expands
    a List, skips the skip-rendering marker and files that hold no Kubernetes object."""
    _create(dyn, "git-kz", {"repoURL": repo.url, "path": "kustomize", "targetRevision": "HEAD"})
    _create(dyn, "git-dir", {"repoURL": repo.url, "path": "plain"})
    status = wait_synced_healthy(dyn, "git-kz")
    assert status["sourceType"] == "Kustomize"
    assert [r["name"] for r in status["resources"]] == ["kz-settings"]
    assert _configmap(kubeconfig, "git-kz", "kz-settings") is not None
    status = wait_synced_healthy(dyn, "git-dir")
    assert status["sourceType"] == "Directory"
    assert status["sync"]["revision"] == repo.main
    assert sorted(r["name"] for r in status["resources"]) == ["plain-a", "plain-b", "plain-l1", "plain-l2"]


def test_directory_recurse_include_exclude(dyn: dynamic.DynamicClient, repo: Fixture) -> None:
    """getPotentiallyValidManifestFile: exclude, then include, glob-matched against the path relative
    to the app path (util/glob: ``*`` spans ``/``, ``{a,b}`` alternatives), subdirectories with recurse."""
    directory = {"recurse": True, "include": "{sub/*,a.yaml}", "exclude": "sub/x-*"}
    _create(dyn, "git-rec", {"repoURL": repo.url, "path": "plain", "directory": directory})
    status = wait_synced_healthy(dyn, "git-rec")
    assert sorted(r["name"] for r in status["resources"]) == ["plain-a", "plain-c"]


@pytest.mark.parametrize(("revision", "expected"), [("v1", "first"), ("feature", "feature"), ("SHA", "first")])
def test_target_revision_resolves_to_the_commit(
    dyn: dynamic.DynamicClient, repo: Fixture, kubeconfig: Path, revision: str, expected: str
) -> None:
    """util/git/client.go lsRemote: a branch or tag by short name, a full SHA as given; the status
    (and the operation) carry the commit checked out."""
    name = f"git-rev-{revision.lower()}"
    target = repo.first if revision == "SHA" else revision
    _create(dyn, name, {"repoURL": repo.url, "path": "plain", "targetRevision": target})
    status = wait_synced_healthy(dyn, name)
    assert status["sync"]["revision"] == getattr(repo, expected)
    live = _configmap(kubeconfig, name, "plain-a")
    assert live is not None and live["data"] == {"v": "feature" if expected == "feature" else "a"}


def test_unknown_repository_revision_and_path_are_comparison_errors(dyn: dynamic.DynamicClient, repo: Fixture) -> None:
    """controller/state.go wraps the repo server's error: "Failed to load target state: failed to
    generate manifest for source 1 of 1: rpc error: code = <code> desc = <message>" with
    util/git/client.go lsRemote "failed to list refs: repository not found" (go-git's
    transport.ErrRepositoryNotFound for a 404) and "unable to resolve '<rev>' to a commit SHA";
    util/app/path/path.go Path "<path>: app path does not exist"; repository.go checkoutRevision
    "Failed to checkout revision <sha>: `git fetch origin <sha> --tags --force --prune` failed ..."
    (codes.Internal) for a SHA the remote does not have."""
    base = repo.url.rpartition("/")[0]
    try:
        _assert_comparison_errors(dyn, repo, base)
    finally:
        # a failing source is generated again every ERROR_RETRY seconds, git-err-sha with two
        # fetches: leaving them would put fetches into test_idle_git_applications_only_list_refs
        for name in ("git-err-repo", "git-err-rev", "git-err-path", "git-err-sha"):
            delete_application(dyn, name)


def _assert_comparison_errors(dyn: dynamic.DynamicClient, repo: Fixture, base: str) -> None:
    _create(dyn, "git-err-repo", {"repoURL": f"{base}/missing.git", "path": "x"})
    _create(dyn, "git-err-rev", {"repoURL": repo.url, "path": "plain", "targetRevision": "no-such-branch"})
    _create(dyn, "git-err-path", {"repoURL": repo.url, "path": "no/such/dir"})
    sha = "0123456789abcdef0123456789abcdef01234567"
    _create(dyn, "git-err-sha", {"repoURL": repo.url, "path": "plain", "targetRevision": sha})
    assert _condition(dyn, "git-err-repo") == {
        "type": "ComparisonError",
        "message": PREFIX + "rpc error: code = Unknown desc = failed to list refs: repository not found",
        "lastTransitionTime": app_status(dyn, "git-err-repo")["conditions"][0]["lastTransitionTime"],
    }
    message = _condition(dyn, "git-err-rev")["message"]
    assert message == PREFIX + "rpc error: code = Unknown desc = unable to resolve 'no-such-branch' to a commit SHA"
    message = _condition(dyn, "git-err-path")["message"]
    assert message == PREFIX + "rpc error: code = Unknown desc = no/such/dir: app path does not exist"
    message = _condition(dyn, "git-err-sha")["message"]
    expected = f"rpc error: code = Internal desc = Failed to checkout revision {sha}: "
    expected += f"`git fetch origin {sha} --tags --force --prune` failed exit status 128: "
    assert message.startswith(PREFIX + expected), message
    assert "not our ref" in message


def test_repository_the_sandbox_does_not_serve_keeps_the_status_only_behaviour(dyn: dynamic.DynamicClient) -> None:
    """No network: a git repoURL elsewhere is never fetched; the status comes from the spec alone
    (argocd.py), the revision stays the targetRevision and nothing is applied."""
    source = {"repoURL": "https://github.com/example/doks-gitops.git", "path": "plain", "targetRevision": "main"}
    _create(dyn, "git-foreign", source)
    status = wait_synced_healthy(dyn, "git-foreign")
    assert status["sync"]["revision"] == "main"
    assert status["sourceType"] == "Directory"
    assert not status.get("resources")


def test_a_new_commit_is_synced(dyn: dynamic.DynamicClient, repo: Fixture, kubeconfig: Path) -> None:
    """An automated Application follows its branch: a commit pushed to main is resolved (after the
    revision cache), synced, and reported as the new revision."""
    _create(dyn, "git-follow", {"repoURL": repo.url, "path": "plain", "targetRevision": "main"})
    wait_synced_healthy(dyn, "git-follow")
    newer = repo.commit({"plain/a.yaml": CHART["plain/a.yaml"].replace("v: a", "v: newer")}, "newer")
    repo.push()
    _wait(lambda: app_status(dyn, "git-follow")["sync"].get("revision") == newer, "the new commit", timeout=20.0)
    status = wait_synced_healthy(dyn, "git-follow")
    assert status["sync"]["revision"] == newer
    live = _wait(
        lambda: ((_configmap(kubeconfig, "git-follow", "plain-a") or {}).get("data") or {}).get("v") == "newer",
        "the new content",
    )
    assert live
    repo.main = newer


def test_deleted_application_leaves_no_objects(dyn: dynamic.DynamicClient, repo: Fixture, kubeconfig: Path) -> None:
    """resources-finalizer.argocd.argoproj.io: the git source's objects go before the Application."""
    body_source = {"repoURL": repo.url, "path": "kustomize"}
    _create(dyn, "git-del", body_source)
    wait_synced_healthy(dyn, "git-del")
    applications(dyn).patch(
        name="git-del",
        namespace=NS,
        body={"metadata": {"finalizers": ["resources-finalizer.argocd.argoproj.io"]}},
        content_type="application/merge-patch+json",
    )
    delete_application(dyn, "git-del")
    assert _configmap(kubeconfig, "git-del", "kz-settings") is None


def _lofi_root(endpoints: dict[str, Any], tag: str) -> dict[str, Any]:
    image: dict[str, Any] = {"repository": "registry.digitalocean.com/example/lofi"}
    if tag:
        image["tag"] = tag
    values = {
        "applicationsNamespace": NS,
        "project": "default",
        "environment": "sandbox",
        "gitops": {"repoURL": endpoints["git"]["doks_gitops"], "targetRevision": "main"},
        "app": {
            "name": "lofi-gt",
            "namespace": "lofi-gt",
            "values": {
                "image": image,
                "replicaCount": 1,
                "ingress": {"enabled": False},
                "networkPolicy": {"ingressControllerNamespace": "traefik", "prometheusNamespace": "observability"},
            },
        },
        "pipeline": {"enabled": False},
    }
    return {
        "repoURL": endpoints["git"]["doks_gitops"],
        "path": "application/argocd",
        "targetRevision": "main",
        "helm": {"valuesObject": values},
    }


def test_lofi_app_of_apps_from_the_served_repository(
    dyn: dynamic.DynamicClient, sandbox_endpoints: dict[str, Any], kubeconfig: Path
) -> None:
    """The lofi charts as Argo CD reads them from doks-gitops.git: the root (application/argocd)
    renders the child Application whose source is application/deployment with the environment's
    value file; the child renders too. Before the pipeline promoted a digest (environments/sandbox/
    values.yaml has none) and without image.tag, the chart refuses to render (its ``required``), which
    the child reports as the ComparisonError of the failed ``helm template``; with a tag it syncs and
    its Deployment becomes Healthy."""
    revision = sandbox_endpoints["git"]["doks_gitops_revision"]
    _create(dyn, "lofi-root", _lofi_root(sandbox_endpoints, ""), namespace=NS)
    status = wait_synced_healthy(dyn, "lofi-root")
    assert status["sync"]["revision"] == revision
    assert [(r["kind"], r["name"]) for r in status["resources"]] == [("Application", "lofi-gt")]
    child = applications(dyn).get(name="lofi-gt", namespace=NS).to_dict()
    source = child["spec"]["source"]
    assert (source["path"], source["targetRevision"]) == ("application/deployment", "main")
    assert source["helm"]["valueFiles"] == ["environments/sandbox/values.yaml"]
    message = _condition(dyn, "lofi-gt")["message"]
    assert message.startswith(PREFIX + "rpc error: code = Unknown desc = `helm template . --name-template lofi-gt")
    assert "image.digest is empty and no image.tag is set" in message

    applications(dyn).patch(
        name="lofi-root",
        namespace=NS,
        body={"spec": {"source": _lofi_root(sandbox_endpoints, "0.1.0")}},
        content_type="application/merge-patch+json",
    )
    status = wait_synced_healthy(dyn, "lofi-gt")
    assert status["sync"]["revision"] == revision
    kinds = sorted(r["kind"] for r in status["resources"])
    assert kinds == ["Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service"]
    apps = client.AppsV1Api(config.new_client_from_config(str(kubeconfig)))
    deployment = apps.read_namespaced_deployment("lofi-gt", "lofi-gt")
    assert deployment.spec.template.spec.containers[0].image == "registry.digitalocean.com/example/lofi:0.1.0"
    assert deployment.status.ready_replicas == 1


def test_idle_git_applications_only_list_refs(
    dyn: dynamic.DynamicClient, sandbox_endpoints: dict[str, Any], repo: Fixture
) -> None:
    """An unchanged repository costs one ``ls-remote`` per revision-cache period (3 s), shared by
    every Application reading it (two of its own here, plus those the module's other tests left),
    and no fetch: with protocol v2 a listing is one GET of info/refs and one POST (``ls-refs``); a
    fetch would add a POST of its own."""
    for name, path in (("git-idle-plain", "plain"), ("git-idle-kustomize", "kustomize")):
        _create(dyn, name, {"repoURL": repo.url, "path": path, "targetRevision": "main"})
        wait_synced_healthy(dyn, name)
    failing = [
        a["metadata"]["name"]
        for a in applications(dyn).get(namespace=NS).to_dict()["items"]
        if repo.url in {s.get("repoURL") for s in [a["spec"].get("source") or {}, *(a["spec"].get("sources") or [])]}
        and any(c["type"].endswith("Error") for c in (a.get("status") or {}).get("conditions") or [])
    ]
    assert failing == [], "a failing Application is generated again (and fetches) every ERROR_RETRY seconds"
    since = sb.last_seq(sandbox_endpoints, "git")
    time.sleep(6.0)
    log = [e for e in sb.requests(sandbox_endpoints, "git", since) if e["path"].startswith(f"/{repo.name}.git/")]
    listings = [e for e in log if e["method"] == "GET"]
    assert [e["path"] for e in listings] == [f"/{repo.name}.git/info/refs"] * len(listings)
    assert 1 <= len(listings) <= 3, [(round(e["time"] % 1000, 2), e["method"]) for e in log]
    assert len(log) == 2 * len(listings), "an unchanged repository was fetched again"


def test_a_deleted_application_is_no_longer_refreshed(
    dyn: dynamic.DynamicClient, sandbox_endpoints: dict[str, Any], tmp_path: Path
) -> None:
    """The application controller refreshes the Applications its informer holds
    (controller/appcontroller.go processAppRefreshQueueItem: a key no longer in the informer's
    index is dropped, "This happens after app was deleted"): once the only Application reading a
    repository is deleted (no finalizer, so the API server removes it at once), that repository is
    not listed or fetched again."""
    alone = Fixture(sandbox_endpoints, tmp_path / "work")
    _create(dyn, "git-gone", {"repoURL": alone.url, "path": "plain", "targetRevision": "main"})
    wait_synced_healthy(dyn, "git-gone")
    since = sb.last_seq(sandbox_endpoints, "git")
    delete_application(dyn, "git-gone")
    deleted = time.time()

    def reads() -> list[dict[str, Any]]:
        return [e for e in sb.requests(sandbox_endpoints, "git", since) if e["path"].startswith(f"/{alone.name}.git/")]

    # quiet for two revision-cache periods; refreshed for ever (every 3 s), it never is
    _wait(lambda: time.time() - max([deleted, *(e["time"] for e in reads())]) > 2 * gitsource.REVISION_TTL, "quiet")
    log = reads()
    assert len(log) <= 2, "more than the one listing under way when the Application went"
