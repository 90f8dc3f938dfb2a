"""The emulated Argo CD ApplicationSet controller, through the kubernetes Python client.

Upstream rules (argoproj/argo-cd v3.4.4): ``applicationset/generators/cluster.go`` (cluster Secrets
labelled ``argocd.argoproj.io/secret-type=cluster``, params name/nameNormalized/server/project/metadata,
in-cluster only without a selector), ``generators/list.go``, ``utils/utils.go`` (``Render.Replace``: Go
text/template + sprig, ``failed to execute go template ...`` / ``failed to parse template ...``),
``controllers/template/patch.go`` (templatePatch), ``controllers/applicationset_controller.go``
(conditions, owner references, deletion of Applications no longer generated) and the ApplicationSet and
Application CRDs of the stand-in chart (schemas from the registry package), which judge every write.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kube_tools import applications, argo_cd_crds, cluster_secret, install_crds, served_dynamic, wait_for
from kubernetes import client, config, dynamic

NS = "argocd"
SERVERS = {
    "alpha": "https://alpha.example.com",
    "beta": "https://beta.example.com",
    "gamma": "https://gamma.example.com",
}


@pytest.fixture(scope="module")
def api(kubeconfig: Path) -> client.ApiClient:
    api_client = config.new_client_from_config(str(kubeconfig))
    install_crds(api_client, argo_cd_crds("applications", "appprojects", "applicationsets"), NS)
    return api_client


@pytest.fixture(scope="module")
def dyn(api: client.ApiClient) -> dynamic.DynamicClient:
    return served_dynamic(api, "argoproj.io/v1alpha1", "ApplicationSet", timeout=10.0, interval=0.1)


@pytest.fixture
def clusters(api: client.ApiClient) -> Iterator[client.CoreV1Api]:
    core = client.CoreV1Api(api)
    for name, server in SERVERS.items():
        core.create_namespaced_secret(NS, _cluster_secret(name, server))
    yield core
    for name in SERVERS:
        try:
            core.delete_namespaced_secret(f"cluster-{name}", NS)
        except client.ApiException as exc:
            assert exc.status == 404


def _cluster_secret(name: str, server: str) -> dict[str, Any]:
    labels = {"env": "prod" if name != "gamma" else "dev", "lofi": "enabled"}
    annotations = {"lofi/values": json.dumps({"replicas": 2, "region": name})}
    return cluster_secret(name, server, {}, secret_name=f"cluster-{name}", labels=labels, annotations=annotations)


# this module's deadline for the controller's work
_wait = functools.partial(wait_for, timeout=10.0, interval=0.1)


def _appsets(dyn: dynamic.DynamicClient) -> Any:
    return dyn.resources.get(api_version="argoproj.io/v1alpha1", kind="ApplicationSet")


def _owned(dyn: dynamic.DynamicClient, appset: str) -> dict[str, dict[str, Any]]:
    items = applications(dyn).get(namespace=NS).to_dict()["items"]
    return {
        a["metadata"]["name"]: a
        for a in items
        if any(
            r.get("name") == appset and r.get("kind") == "ApplicationSet"
            for r in a["metadata"].get("ownerReferences") or []
        )
    }


def _conditions(dyn: dynamic.DynamicClient, name: str) -> dict[str, dict[str, Any]]:
    obj = _appsets(dyn).get(name=name, namespace=NS).to_dict()
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def _appset(name: str, generators: list[dict[str, Any]], template: dict[str, Any], **spec: Any) -> dict[str, Any]:
    body = {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": generators,
        "template": template,
    }
    body.update(spec)
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": name}, "spec": body}


def _template(
    name: str, server: str = "{{.server}}", namespace: str = "lofi", label: str = "{{.name}}"
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"cluster": label}},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://charts.example.com", "chart": "lofi", "targetRevision": "1.2.3"},
            "destination": {"server": server, "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def _delete(dyn: dynamic.DynamicClient, name: str) -> None:
    _appsets(dyn).delete(name=name, namespace=NS)
    _wait(lambda: not _owned(dyn, name), f"the Applications of {name} to be deleted")


def test_cluster_generator_with_selector(dyn: dynamic.DynamicClient, clusters: client.CoreV1Api) -> None:
    """Three cluster Secrets, a selector matching two by label and one by expression; the in-cluster is
    left out because a selector is set (cluster.go: ``ignoreLocalClusters``). Removing the label removes
    the Application (``deleteInCluster``), restoring it brings it back."""
    selector = {
        "matchLabels": {"lofi": "enabled"},
        "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}],
    }
    body = _appset("lofi", [{"clusters": {"selector": selector}}], _template("lofi-{{.nameNormalized}}"))
    _appsets(dyn).create(body=body, namespace=NS)
    apps = _wait(lambda: len(_owned(dyn, "lofi")) == 3 and _owned(dyn, "lofi"), "three Applications")
    assert sorted(apps) == ["lofi-alpha", "lofi-beta", "lofi-gamma"]
    for name, server in SERVERS.items():
        app = apps[f"lofi-{name}"]
        assert app["spec"]["destination"] == {"server": server, "namespace": "lofi"}
        assert app["metadata"]["labels"] == {"cluster": name}
        assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
        (ref,) = app["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["name"], ref["controller"], ref["blockOwnerDeletion"]) == (
            "ApplicationSet",
            "lofi",
            True,
            True,
        )
    conds = _wait(lambda: _conditions(dyn, "lofi").get("ResourcesUpToDate"), "conditions") and _conditions(dyn, "lofi")
    assert conds["ResourcesUpToDate"]["status"] == "True"
    assert conds["ResourcesUpToDate"]["reason"] == "ApplicationSetUpToDate"
    assert conds["ErrorOccurred"]["status"] == "False"
    assert conds["ParametersGenerated"]["message"] == "Successfully generated parameters for all Applications"
    status = _wait(lambda: _synced(dyn, "lofi", 3), "status.resources to follow the Applications")
    assert [r["name"] for r in status["resources"]] == ["lofi-alpha", "lofi-beta", "lofi-gamma"]
    first = _owned(dyn, "lofi")["lofi-alpha"]
    assert status["resources"][0]["health"]["status"] == first["status"]["health"]["status"]
    assert status["resourcesCount"] == 3

    clusters.patch_namespaced_secret("cluster-beta", NS, {"metadata": {"labels": {"lofi": None}}})
    _wait(lambda: sorted(_owned(dyn, "lofi")) == ["lofi-alpha", "lofi-gamma"], "lofi-beta to be deleted")
    clusters.patch_namespaced_secret("cluster-beta", NS, {"metadata": {"labels": {"lofi": "enabled"}}})
    _wait(lambda: "lofi-beta" in _owned(dyn, "lofi"), "lofi-beta to come back")

    # idle: once the Applications are synced, nothing is rewritten
    _wait(lambda: _synced(dyn, "lofi", 3), "the status to settle")
    version = _appsets(dyn).get(name="lofi", namespace=NS).metadata.resourceVersion
    versions = {n: a["metadata"]["resourceVersion"] for n, a in _wait(lambda: _settled(dyn, "lofi"), "settled").items()}
    time.sleep(1.0)
    assert _appsets(dyn).get(name="lofi", namespace=NS).metadata.resourceVersion == version
    assert {n: a["metadata"]["resourceVersion"] for n, a in _owned(dyn, "lofi").items()} == versions

    _delete(dyn, "lofi")


def _synced(dyn: dynamic.DynamicClient, name: str, count: int) -> dict[str, Any] | None:
    """The ApplicationSet's status once its ``resources`` mirror each Application's own sync status and
    health (applicationset_controller.go ``buildResourceStatus``), whatever they are: the charts of these
    templates come from a repository the sandbox cannot reach, so the Applications report ComparisonError."""
    status = _appsets(dyn).get(name=name, namespace=NS).to_dict().get("status") or {}
    resources = status.get("resources") or []
    apps = _owned(dyn, name)
    mirrored = all(
        r.get("name") in apps
        and r.get("status") == ((apps[r["name"]].get("status") or {}).get("sync") or {}).get("status")
        and r.get("status") is not None
        for r in resources
    )
    return status if len(resources) == count and mirrored else None


def _settled(dyn: dynamic.DynamicClient, name: str) -> dict[str, dict[str, Any]] | None:
    first = _owned(dyn, name)
    time.sleep(0.3)
    again = _owned(dyn, name)
    same = {n: a["metadata"]["resourceVersion"] for n, a in first.items()} == {
        n: a["metadata"]["resourceVersion"] for n, a in again.items()
    }
    return again if same else None


def test_cluster_generator_without_selector_adds_in_cluster(
    dyn: dynamic.DynamicClient, clusters: client.CoreV1Api
) -> None:
    """No selector: every cluster Secret plus the local cluster (cluster.go: in-cluster is added last when
    no Secret has its server)."""
    # Every cluster Secret of the namespace: this module's three, and any an earlier module of the
    # session registered (test_kube_argocd_sync's spokes share the sandbox and the argocd namespace).
    secrets = clusters.list_namespaced_secret(NS, label_selector="argocd.argoproj.io/secret-type=cluster").items
    expected = sorted([f"all-{base64.b64decode(s.data['name']).decode()}" for s in secrets] + ["all-in-cluster"])
    assert len(expected) >= 4
    _appsets(dyn).create(body=_appset("all", [{"clusters": {}}], _template("all-{{.name}}")), namespace=NS)
    apps = _wait(lambda: sorted(_owned(dyn, "all")) == expected and _owned(dyn, "all"), f"Applications {expected}")
    assert apps["all-in-cluster"]["spec"]["destination"]["server"] == "https://kubernetes.default.svc"
    _delete(dyn, "all")


def test_annotation_json_becomes_values_object(dyn: dynamic.DynamicClient, clusters: client.CoreV1Api) -> None:
    """templatePatch renders the annotation's JSON into spec.source.helm.valuesObject (patch.go)."""
    patch = '{"spec": {"source": {"helm": {"valuesObject": {{ index .metadata.annotations "lofi/values" }} }}}}'
    body = _appset(
        "values",
        [{"clusters": {"selector": {"matchLabels": {"env": "prod"}}}}],
        _template("values-{{.name}}"),
        templatePatch=patch,
    )
    _appsets(dyn).create(body=body, namespace=NS)
    apps = _wait(lambda: len(_owned(dyn, "values")) == 2 and _owned(dyn, "values"), "two Applications")
    assert apps["values-alpha"]["spec"]["source"]["helm"]["valuesObject"] == {"replicas": 2, "region": "alpha"}
    assert apps["values-beta"]["spec"]["source"]["chart"] == "lofi"
    # a change of the annotation reaches the Application
    clusters.patch_namespaced_secret(
        "cluster-alpha", NS, {"metadata": {"annotations": {"lofi/values": '{"replicas": 5}'}}}
    )
    _wait(
        lambda: _owned(dyn, "values")["values-alpha"]["spec"]["source"]["helm"]["valuesObject"] == {"replicas": 5},
        "the new values",
    )
    _delete(dyn, "values")


def test_list_generator(dyn: dynamic.DynamicClient) -> None:
    """List elements are the params (list.go); with goTemplate numbers are float64 and print as Go does."""
    elements = [
        {"env": "dev", "replicas": 1, "url": "https://kubernetes.default.svc"},
        {"env": "stage", "replicas": 100000000, "url": "https://kubernetes.default.svc"},
    ]
    template = _template("list-{{.env}}", server="{{.url}}")
    template["metadata"]["annotations"] = {"replicas": "{{.replicas}}", "quoted": "{{ .env | upper | quote }}"}
    template["metadata"]["labels"] = {"env": "{{.env}}"}
    _appsets(dyn).create(body=_appset("list", [{"list": {"elements": elements}}], template), namespace=NS)
    apps = _wait(lambda: len(_owned(dyn, "list")) == 2 and _owned(dyn, "list"), "two Applications")
    assert apps["list-dev"]["metadata"]["annotations"] == {"replicas": "1", "quoted": '"DEV"'}
    assert apps["list-stage"]["metadata"]["annotations"]["replicas"] == "1e+08"
    _delete(dyn, "list")


def test_fasttemplate_without_go_template(dyn: dynamic.DynamicClient) -> None:
    """goTemplate false: fasttemplate replaces known string params and leaves unknown tags as written."""
    body = _appset(
        "fast",
        [{"list": {"elements": [{"env": "qa"}]}}],
        _template("fast-{{env}}", server="https://kubernetes.default.svc", label="{{env}}"),
    )
    body["spec"]["goTemplate"] = False
    del body["spec"]["goTemplateOptions"]
    body["spec"]["template"]["metadata"]["annotations"] = {"cluster": "{{ unknown }}"}
    _appsets(dyn).create(body=body, namespace=NS)
    apps = _wait(lambda: _owned(dyn, "fast"), "one Application")
    assert apps["fast-qa"]["metadata"]["annotations"] == {"cluster": "{{ unknown }}"}
    assert apps["fast-qa"]["metadata"]["labels"] == {"cluster": "qa"}
    _delete(dyn, "fast")


def test_missing_key_is_an_error_and_creates_nothing(dyn: dynamic.DynamicClient, clusters: client.CoreV1Api) -> None:
    """missingkey=error on an annotation a cluster lacks: Go's error in the ErrorOccurred condition
    (reason RenderTemplateParamsError), no Application (GenerateApplications fails the whole set)."""
    template = _template("miss-{{.name}}")
    template["metadata"]["annotations"] = {"team": "{{ .metadata.annotations.team }}"}
    _appsets(dyn).create(
        body=_appset("miss", [{"clusters": {"selector": {"matchLabels": {"env": "prod"}}}}], template), namespace=NS
    )
    cond = _wait(lambda: _conditions(dyn, "miss").get("ErrorOccurred"), "the error condition")
    assert cond["status"] == "True"
    assert cond["reason"] == "RenderTemplateParamsError"
    assert cond["message"] == (
        "failed to execute go template {{ .metadata.annotations.team }}: template: base:1:3: "
        'executing "base" at <.metadata.annotations.team>: map has no entry for key "team"'
    )
    conds = _conditions(dyn, "miss")
    assert conds["ParametersGenerated"]["status"] == "False"
    assert conds["ResourcesUpToDate"]["status"] == "False"
    assert not _owned(dyn, "miss")
    _appsets(dyn).delete(name="miss", namespace=NS)


def test_unknown_function_is_an_error(dyn: dynamic.DynamicClient) -> None:
    """A function neither text/template nor sprig defines fails at parse time (Render.Replace)."""
    template = _template("fn-{{ shout .env }}", server="https://kubernetes.default.svc", label="{{.env}}")
    _appsets(dyn).create(body=_appset("fn", [{"list": {"elements": [{"env": "dev"}]}}], template), namespace=NS)
    cond = _wait(lambda: _conditions(dyn, "fn").get("ErrorOccurred"), "the error condition")
    assert cond["message"] == (
        'failed to parse template fn-{{ shout .env }}: template: base:1: function "shout" not defined'
    )
    assert not _owned(dyn, "fn")
    _appsets(dyn).delete(name="fn", namespace=NS)


def test_unsupported_generator_is_reported(dyn: dynamic.DynamicClient) -> None:
    """A generator the sandbox does not emulate fails loudly in the condition, nothing is generated."""
    git = {
        "git": {
            "repoURL": "https://github.com/acme/gitops.git",
            "revision": "HEAD",
            "directories": [{"path": "apps/*"}],
        }
    }
    _appsets(dyn).create(body=_appset("git", [git], _template("git-{{.path.basename}}")), namespace=NS)
    cond = _wait(lambda: _conditions(dyn, "git").get("ErrorOccurred"), "the error condition")
    assert cond["reason"] == "ApplicationGenerationFromParamsError"
    assert "git generator is not emulated" in cond["message"]
    _appsets(dyn).delete(name="git", namespace=NS)


def test_unknown_destination_is_a_validation_error(dyn: dynamic.DynamicClient) -> None:
    """validateGeneratedApplications: a server no cluster Secret registers is refused, other Applications
    are still created."""
    elements = [
        {"env": "ok", "url": "https://kubernetes.default.svc"},
        {"env": "bad", "url": "https://nowhere.example.com"},
    ]
    _appsets(dyn).create(
        body=_appset(
            "dest", [{"list": {"elements": elements}}], _template("dest-{{.env}}", server="{{.url}}", label="{{.env}}")
        ),
        namespace=NS,
    )
    cond = _wait(lambda: _conditions(dyn, "dest").get("ErrorOccurred"), "the error condition")
    assert cond["reason"] == "ApplicationValidationError"
    assert cond["message"] == (
        'application destination spec is invalid: error getting cluster by server "https://nowhere.example.com": '
        'rpc error: code = NotFound desc = cluster "https://nowhere.example.com" not found'
    )
    assert sorted(_owned(dyn, "dest")) == ["dest-ok"]
    _delete(dyn, "dest")


def test_generated_application_is_judged_by_the_crd_schema(dyn: dynamic.DynamicClient) -> None:
    """The Application goes through the normal create path: an invalid name (a rendered value with an
    upper-case letter) is refused by the API server and reported as upstream reports a failed create."""
    _appsets(dyn).create(
        body=_appset(
            "schema",
            [{"list": {"elements": [{"env": "Dev"}]}}],
            _template("schema-{{.env}}", server="https://kubernetes.default.svc", label="{{.env}}"),
        ),
        namespace=NS,
    )
    cond = _wait(lambda: _conditions(dyn, "schema").get("ErrorOccurred"), "the error condition")
    assert cond["reason"] == "UpdateApplicationError"
    assert 'Application.argoproj.io "schema-Dev" is invalid' in cond["message"]
    assert not _owned(dyn, "schema")
    _appsets(dyn).delete(name="schema", namespace=NS)


def test_applicationset_schema_refuses_wrong_types(dyn: dynamic.DynamicClient) -> None:
    """The ApplicationSet itself is judged by the CRD: goTemplate must be a boolean."""
    body = _appset("typed", [{"list": {"elements": [{"env": "dev"}]}}], _template("typed-{{.env}}"))
    body["spec"]["goTemplate"] = "yes"
    with pytest.raises(client.ApiException) as exc:
        _appsets(dyn).create(body=body, namespace=NS)
    assert exc.value.status == 422


def test_deleting_the_applicationset_deletes_its_applications(dyn: dynamic.DynamicClient) -> None:
    """Owner references (controller, blockOwnerDeletion) make the garbage collector delete the
    Applications; their resources finalizer is then removed by the application controller."""
    _appsets(dyn).create(
        body=_appset(
            "gone",
            [{"list": {"elements": [{"env": "a"}, {"env": "b"}]}}],
            _template("gone-{{.env}}", server="https://kubernetes.default.svc", label="{{.env}}"),
        ),
        namespace=NS,
    )
    _wait(lambda: len(_owned(dyn, "gone")) == 2, "two Applications")
    _appsets(dyn).delete(name="gone", namespace=NS)
    _wait(
        lambda: (
            not [
                a
                for a in applications(dyn).get(namespace=NS).to_dict()["items"]
                if a["metadata"]["name"].startswith("gone-")
            ]
        ),
        "the Applications to be gone",
    )


def test_create_only_policy_does_not_delete(dyn: dynamic.DynamicClient) -> None:
    """applicationsSync: create-only keeps an Application that is no longer generated."""
    body = _appset(
        "keep",
        [{"list": {"elements": [{"env": "a"}, {"env": "b"}]}}],
        _template("keep-{{.env}}", server="https://kubernetes.default.svc", label="{{.env}}"),
        syncPolicy={"applicationsSync": "create-only"},
    )
    _appsets(dyn).create(body=body, namespace=NS)
    _wait(lambda: len(_owned(dyn, "keep")) == 2, "two Applications")
    _appsets(dyn).patch(
        name="keep",
        namespace=NS,
        body={"spec": {"generators": [{"list": {"elements": [{"env": "a"}]}}]}},
        content_type="application/merge-patch+json",
    )
    _wait(lambda: _conditions(dyn, "keep").get("ResourcesUpToDate"), "reconciled")
    time.sleep(0.5)
    assert sorted(_owned(dyn, "keep")) == ["keep-a", "keep-b"]
    _delete(dyn, "keep")
