"""k8s_apply_changed: the comparison, and the module against the Kubernetes emulator."""

from __future__ import annotations

import copy
import json
import socket
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.doks.gitops.plugins.module_utils.k8s_compare import (
    LAST_APPLIED,
    contains,
    difference,
    plan,
)
from ansible_collections.doks.gitops.plugins.modules import argocd_app_wait, k8s_apply_changed
from kubernetes.client.exceptions import ApiException

import sandbox
from sandbox import client
from tests.emulated.doks_helpers import run_module

# ------------------------------------------------------------------ comparison


def applied(obj: dict[str, Any], **live_extra: Any) -> dict[str, Any]:
    """``obj`` as the server keeps it after a client-side apply, plus server-side fields."""
    live = copy.deepcopy(obj)
    live.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = json.dumps(obj, sort_keys=True)
    for key, value in live_extra.items():
        live[key] = value
    return live


CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": "v"}}


def test_dicts_compare_as_subsets() -> None:
    assert contains({"a": 1}, {"a": 1, "b": 2})
    assert not contains({"a": 1, "b": 2}, {"a": 1})
    assert contains({"a": {"b": "x"}}, {"a": {"b": "x", "default": True}})
    assert not contains({"a": {"b": "x"}}, {"a": {"b": "y"}})
    assert not contains({"a": {"b": "x"}}, {"a": "b"})


def test_lists_compare_element_by_element_with_equal_length() -> None:
    assert contains([{"name": "c"}], [{"name": "c", "imagePullPolicy": "IfNotPresent"}])
    assert not contains([{"name": "c"}], [{"name": "c"}, {"name": "d"}])
    assert not contains([{"name": "c"}, {"name": "d"}], [{"name": "d"}, {"name": "c"}])
    assert not contains([1], {"0": 1})


def test_scalars_compare_by_type_and_value() -> None:
    assert not contains(1, True)
    assert not contains("1", 1)
    assert contains(1, 1.0)
    assert not contains({"a": None}, {"a": 1})
    assert contains({"a": None}, {"b": 1})


def test_missing_object_is_applied() -> None:
    assert difference(CM, None) == "missing"


def test_server_added_defaults_and_status_are_no_difference() -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "n"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }
    live = applied(deploy, status={"readyReplicas": 1})
    live["metadata"].update(uid="u", resourceVersion="7", generation=1)
    live["spec"]["replicas"] = 1
    live["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    assert difference(deploy, live) is None


def test_drifted_field_is_applied() -> None:
    live = applied(CM)
    live["data"]["k"] = "edited"
    assert difference(CM, live) == "live fields differ"


def test_field_dropped_from_the_definition_is_applied() -> None:
    before = copy.deepcopy(CM)
    before["data"]["old"] = "x"
    live = applied(before)
    assert difference(CM, live) == "definition differs from the one last applied"


def test_object_without_last_applied_annotation_is_applied() -> None:
    assert difference(CM, copy.deepcopy(CM)) == "not applied by a client-side apply before"


def test_secret_string_data_compares_with_stored_data() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "n"},
        "stringData": {"k": "v"},
    }
    live = applied(secret)
    del live["stringData"]
    live["data"] = {"k": "dg=="}
    assert difference(secret, live) is None
    live["data"] = {"k": "eA=="}
    assert difference(secret, live) == "live fields differ"


def test_plan_keeps_order_and_lists_only_what_differs() -> None:
    other = copy.deepcopy(CM)
    other["metadata"]["name"] = "b"
    live = {("v1", "ConfigMap", "n", "a"): applied(CM)}
    assert [(o["metadata"]["name"], r) for o, _c, r in plan([CM, other], live)] == [("b", "missing")]


# ------------------------------------------------------------------ module on the emulator


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state = Path(tmp_path_factory.mktemp("kube-apply"))
    endpoints = client.start(state)
    yield endpoints
    client.stop(state)


def api(kube: dict[str, Any], method: str, path: str) -> Any:
    k8s = kube["kubernetes"]
    req = urllib.request.Request(k8s["url"] + path, method=method, headers={"Authorization": f"Bearer {k8s['token']}"})
    ctx = ssl.create_default_context(cafile=kube["ca_file"])
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def crd(ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{ns}.example.com"},
        "spec": {
            "group": f"{ns}.example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


def objects(ns: str) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        crd(ns),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flags", "namespace": ns}, "data": {"a": "1"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ctl", "namespace": ns}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "ctl", "namespace": ns, "labels": {"app": "ctl"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "ctl"}},
                "template": {
                    "metadata": {"labels": {"app": "ctl"}},
                    "spec": {"serviceAccountName": "ctl", "containers": [{"name": "ctl", "image": "ctl:1"}]},
                },
            },
        },
    ]


def apply(kube: dict[str, Any], capsys: pytest.CaptureFixture[str], defs: list[dict[str, Any]], **extra: Any) -> Any:
    args = {"kubeconfig": kube["kubernetes"]["kubeconfig"], "definitions": defs, "wait": True, "wait_sleep": 1, **extra}
    return run_module(k8s_apply_changed.main, capsys, args)


def requests_since(kube: dict[str, Any], seq: int) -> list[dict[str, Any]]:
    return client.requests(kube, "kubernetes", since=seq)


def api_calls(log: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Method and path of the requests that read or write objects (not API discovery)."""
    calls = []
    for entry in log:
        path = entry["path"].split("?", 1)[0]
        parts = path.strip("/").split("/")
        discovery = len(parts) <= {"api": 2, "apis": 3}.get(parts[0], 0)
        if not discovery and not path.startswith(("/openapi", "/version")):
            calls.append((entry["method"], entry["path"]))
    return calls


def test_second_apply_only_lists(kube: dict[str, Any], capsys) -> None:
    defs = objects("first")
    result = apply(kube, capsys, defs)
    assert result["changed"] is True, result
    assert [(a["kind"], a["method"]) for a in result["applied"]] == [
        ("Namespace", "create"),
        ("CustomResourceDefinition", "create"),
        ("ConfigMap", "create"),
        ("ServiceAccount", "create"),
        ("Deployment", "create"),
    ]
    assert api(kube, "GET", "/apis/apps/v1/namespaces/first/deployments/ctl")["status"]["readyReplicas"] == 1
    established = api(kube, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.first.example.com")
    assert {"type": "Established", "status": "True"} in [
        {k: c[k] for k in ("type", "status")} for c in established["status"]["conditions"]
    ]
    seq = client.last_seq(kube, "kubernetes")
    again = apply(kube, capsys, defs)
    assert again["changed"] is False, again
    assert (again["applied"], again["unchanged"], again["lists"]) == ([], 5, 5)
    log = requests_since(kube, seq)
    assert {e["method"] for e in log} == {"GET"}, log
    calls = api_calls(log)
    assert sorted(calls) == sorted(
        [
            ("GET", "/api/v1/namespaces"),
            ("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"),
            ("GET", "/api/v1/namespaces/first/configmaps"),
            ("GET", "/api/v1/namespaces/first/serviceaccounts"),
            ("GET", "/apis/apps/v1/namespaces/first/deployments"),
        ]
    ), calls


def test_drifted_field_is_patched_and_deleted_object_recreated(kube: dict[str, Any], capsys) -> None:
    defs = objects("drift")
    apply(kube, capsys, defs)
    k8s = kube["kubernetes"]
    body = json.dumps({"data": {"a": "edited"}}).encode()
    req = urllib.request.Request(
        k8s["url"] + "/api/v1/namespaces/drift/configmaps/flags",
        data=body,
        method="PATCH",
        headers={"Authorization": f"Bearer {k8s['token']}", "Content-Type": "application/merge-patch+json"},
    )
    urllib.request.urlopen(req, context=ssl.create_default_context(cafile=kube["ca_file"]), timeout=30).close()
    api(kube, "DELETE", "/api/v1/namespaces/drift/serviceaccounts/ctl")
    seq = client.last_seq(kube, "kubernetes")
    result = apply(kube, capsys, defs)
    assert result["changed"] is True
    assert [(a["kind"], a["method"], a["reason"]) for a in result["applied"]] == [
        ("ConfigMap", "apply", "live fields differ"),
        ("ServiceAccount", "create", "missing"),
    ]
    writes = [c for c in api_calls(requests_since(kube, seq)) if c[0] != "GET"]
    assert writes == [
        ("PATCH", "/api/v1/namespaces/drift/configmaps/flags"),
        ("POST", "/api/v1/namespaces/drift/serviceaccounts"),
    ]
    assert api(kube, "GET", "/api/v1/namespaces/drift/configmaps/flags")["data"] == {"a": "1"}
    assert api(kube, "GET", "/api/v1/namespaces/drift/serviceaccounts/ctl")["metadata"]["name"] == "ctl"


def test_check_mode_reports_and_diffs_without_writing(kube: dict[str, Any], capsys) -> None:
    defs = objects("preview")
    apply(kube, capsys, defs)
    changed = copy.deepcopy(defs)
    changed[2]["data"]["a"] = "2"
    seq = client.last_seq(kube, "kubernetes")
    result = apply(kube, capsys, changed, _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True
    assert [a["name"] for a in result["applied"]] == ["flags"]
    assert result["diff"]["before"] == {"ConfigMap preview/flags": {**defs[2], "data": {"a": "1"}}}
    assert result["diff"]["after"] == {"ConfigMap preview/flags": changed[2]}
    writes = [e for e in requests_since(kube, seq) if e["method"] != "GET"]
    assert [(e["method"], e["path"]) for e in writes] == [("PATCH", "/api/v1/namespaces/preview/configmaps/flags")]
    assert all("dryRun=All" in e["query"] for e in writes), writes
    assert api(kube, "GET", "/api/v1/namespaces/preview/configmaps/flags")["data"] == {"a": "1"}


def test_incomplete_definition_fails_before_any_request(kube: dict[str, Any], capsys) -> None:
    seq = client.last_seq(kube, "kubernetes")
    result = apply(kube, capsys, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}])
    assert result["failed"] is True
    assert "definitions[0] needs apiVersion, kind and metadata.name" in result["msg"]
    assert requests_since(kube, seq) == []


PRUNE_LABELS = {"app.kubernetes.io/managed-by": "doks.gitops", "app.kubernetes.io/component": "network-boundary"}


def policy(ns: str, name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns, "labels": dict(PRUNE_LABELS if labels is None else labels)},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


def prune_of(*namespaces: str) -> dict[str, Any]:
    return {
        "label_selectors": [f"{k}={v}" for k, v in PRUNE_LABELS.items()],
        "namespaces": list(namespaces),
        "kinds": [{"api_version": "networking.k8s.io/v1", "kind": "NetworkPolicy"}],
    }


def test_prune_deletes_only_labelled_undeclared_objects_of_its_namespaces(kube: dict[str, Any], capsys) -> None:
    """kubectl apply --prune -l semantics (kubectl reference, "apply --prune"): an object goes only
    when it carries every selected label, is in a pruned namespace and is no longer declared; an
    object of the user's (no label), another namespace's, and a declared one stay. A no-op sends
    no write; check mode sends the delete as a dry run only."""
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in ("prn-a", "prn-b")]
    kept, old, other = policy("prn-a", "default-deny"), policy("prn-a", "allow-old"), policy("prn-b", "allow-old")
    users = policy("prn-a", "users-own", labels={"team": "web"})
    apply(kube, capsys, [*namespaces, kept, old, other, users])
    seq = client.last_seq(kube, "kubernetes")
    preview = apply(
        kube, capsys, [*namespaces, kept], prune=prune_of("prn-a"), _ansible_check_mode=True, _ansible_diff=True
    )
    assert preview["changed"] is True
    assert preview["pruned"] == [
        {"api_version": "networking.k8s.io/v1", "kind": "NetworkPolicy", "namespace": "prn-a", "name": "allow-old"}
    ]
    assert preview["diff"]["after"] == {"NetworkPolicy prn-a/allow-old": "absent (pruned)"}
    writes = [e for e in requests_since(kube, seq) if e["method"] != "GET"]
    assert [e["method"] for e in writes] == ["DELETE"] and all("dryRun=All" in e["query"] for e in writes), writes
    assert api(kube, "GET", "/apis/networking.k8s.io/v1/namespaces/prn-a/networkpolicies/allow-old")

    result = apply(kube, capsys, [*namespaces, kept], prune=prune_of("prn-a"))
    assert result["changed"] is True and result["pruned"] == preview["pruned"], result
    names = {
        (p["metadata"]["namespace"], p["metadata"]["name"])
        for p in api(kube, "GET", "/apis/networking.k8s.io/v1/networkpolicies")["items"]
        if p["metadata"]["namespace"].startswith("prn-")
    }
    assert names == {("prn-a", "default-deny"), ("prn-a", "users-own"), ("prn-b", "allow-old")}

    seq = client.last_seq(kube, "kubernetes")
    again = apply(kube, capsys, [*namespaces, kept], prune=prune_of("prn-a"))
    assert (again["changed"], again["pruned"]) == (False, []), again
    assert {e["method"] for e in requests_since(kube, seq)} == {"GET"}


def test_prune_without_a_label_selector_is_refused_before_any_request(kube: dict[str, Any], capsys) -> None:
    seq = client.last_seq(kube, "kubernetes")
    result = apply(kube, capsys, [policy("prn-c", "x")], prune={**prune_of("prn-c"), "label_selectors": [" "]})
    assert result["failed"] is True
    assert "prune.label_selectors is empty" in result["msg"]
    assert requests_since(kube, seq) == []


def test_unchanged_deployment_that_is_not_ready_is_waited_for(kube: dict[str, Any], capsys) -> None:
    defs = objects("stuck")
    pod_spec = defs[-1]["spec"]["template"]["spec"]
    pod_spec["nodeSelector"] = {"doks.gitops/pool": "no-such-pool"}
    first = apply(kube, capsys, defs, wait=False)
    assert first["changed"] is True, first
    seq = client.last_seq(kube, "kubernetes")
    result = apply(kube, capsys, defs, wait_timeout=2)
    assert result["failed"] is True
    assert result["msg"] == '"Deployment" "ctl": Timed out waiting until ready'
    calls = api_calls(requests_since(kube, seq))
    polls = [c for c in calls if c == ("GET", "/apis/apps/v1/namespaces/stuck/deployments/ctl")]
    assert len(polls) >= 2, calls
    assert {m for m, _p in calls} == {"GET"}


# ------------------------------------------------------------ Argo CD Applications
ARGO_CRDS = sandbox.CHARTS / "argo-cd" / "crds"


def argocd_objects() -> list[dict[str, Any]]:
    """What the emulated Argo CD needs to act: its CRDs and its namespace."""
    crds = [
        yaml.safe_load((ARGO_CRDS / f"{n}.yaml").read_text())
        for n in ("applications.argoproj.io", "appprojects.argoproj.io")
    ]
    return [*crds, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}]


def application(kube: dict[str, Any], name: str, replicas: int = 1, version: str = "3.13.1") -> dict[str, Any]:
    """A metrics-server Application on the sandbox's chart server, as roles/gitops/templates/application.yml.j2 writes one."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": kube["artifacts"]["charts"],
                "chart": "metrics-server",
                "targetRevision": version,
                "helm": {
                    "releaseName": name,
                    "valuesObject": {
                        "replicas": replicas,
                        "apiService": {"create": False},
                        "args": ["--kubelet-insecure-tls"],
                    },
                },
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]},
        },
    }


APP_PATH = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"


def test_applied_application_is_waited_for_until_delivered(kube: dict[str, Any], capsys) -> None:
    """The module waits until the emulated Argo CD compared the spec just applied (status.sync.comparedTo,
    ApplicationSpec.BuildComparedToStatus in argo-cd v3.4.4) and reports it Synced and Healthy; a second
    call finds it delivered in its LIST: no write, no poll."""
    assert not apply(kube, capsys, argocd_objects()).get("failed")
    first = apply(kube, capsys, [application(kube, "ms-wait")], wait_timeout=60)
    assert first["changed"] is True, first
    live = api(kube, "GET", f"{APP_PATH}/ms-wait")
    assert live["status"]["sync"]["comparedTo"]["source"] == live["spec"]["source"]
    assert (live["status"]["sync"]["status"], live["status"]["health"]["status"]) == ("Synced", "Healthy")
    assert (
        api(kube, "GET", "/apis/apps/v1/namespaces/ms-wait/deployments/ms-wait-metrics-server")["spec"]["replicas"] == 1
    )
    seq = client.last_seq(kube, "kubernetes")
    again = apply(kube, capsys, [application(kube, "ms-wait")])
    assert (again["changed"], again["applied"], again["lists"]) == (False, [], 1), again
    assert api_calls(requests_since(kube, seq)) == [("GET", APP_PATH)]


def test_new_values_are_not_judged_on_the_old_status(kube: dict[str, Any], capsys) -> None:
    """Right after the apply the status still reads Synced/Healthy for the previous values; the module
    waits until Argo CD compared and synced the new ones (the Deployment has the new replicas)."""
    apply(kube, capsys, argocd_objects())
    assert apply(kube, capsys, [application(kube, "ms-values")], wait_timeout=60)["changed"] is True
    seq = client.last_seq(kube, "kubernetes")
    result = apply(kube, capsys, [application(kube, "ms-values", replicas=2)], wait_timeout=60)
    assert [a["reason"] for a in result["applied"]] != [], result
    assert (
        api(kube, "GET", "/apis/apps/v1/namespaces/ms-values/deployments/ms-values-metrics-server")["spec"]["replicas"]
        == 2
    )
    polls = [c for c in api_calls(requests_since(kube, seq)) if c == ("GET", f"{APP_PATH}/ms-values")]
    assert len(polls) >= 2, "the first poll, right after the apply, must find the status stale"


def test_application_not_delivered_in_time_fails_with_its_state(kube: dict[str, Any], capsys) -> None:
    """A chart version the chart server does not have: Argo CD reports a ComparisonError (controller/state.go
    CompareAppState); the failure names the Application, its sync/health and the condition."""
    apply(kube, capsys, argocd_objects())
    result = apply(
        kube,
        capsys,
        [application(kube, "ms-missing", version="0.0.1")],
        wait_timeout=3,
        wait_progressing_kinds=["Ingress"],
    )
    assert result["failed"] is True
    msg = result["msg"]
    assert msg.startswith(
        "Application argocd/ms-missing is Unknown/Unknown after 3s (wanted Synced/Healthy, or Progressing only for Ingress). "
        "Not delivered: it is Unknown."
    ), msg
    assert (
        "Conditions: ComparisonError: Failed to load target state: failed to generate manifest for source 1 of 1: "
        in msg
    )
    assert msg.endswith("Resources not Synced/Healthy: none reported."), msg


def test_argocd_app_wait_judges_an_application_it_did_not_apply(kube: dict[str, Any], capsys) -> None:
    """doks.gitops.argocd_app_wait (the argocd role's wait gate) reads with the same rules and only reads."""
    apply(kube, capsys, argocd_objects())
    apply(kube, capsys, [application(kube, "ms-gate")], wait=False)
    seq = client.last_seq(kube, "kubernetes")
    args = {"kubeconfig": kube["kubernetes"]["kubeconfig"], "name": "ms-gate", "timeout": 60, "sleep": 1}
    result = run_module(argocd_app_wait.main, capsys, args)
    assert (result.get("failed"), result["sync"], result["health"], result["changed"]) == (
        None,
        "Synced",
        "Healthy",
        False,
    )
    assert {m for m, _p in api_calls(requests_since(kube, seq))} == {"GET"}
    missing = run_module(argocd_app_wait.main, capsys, {**args, "name": "nowhere", "timeout": 1})
    assert missing["msg"] == "Application argocd/nowhere does not exist after 1s."


def test_argocd_app_wait_does_not_take_the_previous_spec_for_the_expected_one(kube: dict[str, Any], capsys) -> None:
    """An Application another controller rewrites after the play changed its input (the ApplicationSet
    controller after a spoke patched its registration) is, until then, Synced and Healthy on its
    previous spec.source: with ``source`` the wait holds until the spec is the expected one."""
    apply(kube, capsys, argocd_objects())
    apply(kube, capsys, [application(kube, "ms-src")])
    args = {"kubeconfig": kube["kubernetes"]["kubeconfig"], "name": "ms-src", "timeout": 2, "sleep": 1}
    expected = application(kube, "ms-src", replicas=2)["spec"]["source"]
    stale = run_module(argocd_app_wait.main, capsys, {**args, "source": expected})
    assert stale["failed"] is True and "another spec.source" in stale["msg"], stale
    current = application(kube, "ms-src")["spec"]["source"]
    assert run_module(argocd_app_wait.main, capsys, {**args, "timeout": 60, "source": current})["health"] == "Healthy"


def cluster_secret(ns: str, token: str) -> dict[str, Any]:
    """A spoke's cluster Secret as roles/argocd/tasks/register_spoke.yml applies it (client-side apply)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": "cluster-spoke",
            "namespace": ns,
            "labels": {"argocd.argoproj.io/secret-type": "cluster", "enable_observability": "true"},
            "annotations": {"doks.gitops/domain": "spoke.example.com"},
        },
        "stringData": {"name": "spoke", "server": "https://spoke.example.com", "config": token},
    }


COMPONENT_PATCH = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {
        "name": "cluster-spoke",
        "labels": {"doks.gitops/component.metrics-server": "true"},
        "annotations": {"doks.gitops/metrics-server.values": '{"replicas": 2}'},
    },
}


def test_merge_patch_sets_metadata_only_and_a_reregistration_keeps_it(kube: dict[str, Any], capsys) -> None:
    """patch=merge sends an RFC 7386 merge patch of the subset given, nothing of the Secret's data,
    never the last-applied annotation; a later client-side apply of the registration (kubectl's
    three-way merge, kubernetes.core's apply: it removes only keys of its own last-applied
    configuration) keeps the keys, and the patch is then unchanged: no write."""
    ns = "merge"
    apply(
        kube,
        capsys,
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, cluster_secret(ns, "tok-secret-1")],
    )
    patch = copy.deepcopy(COMPONENT_PATCH)
    patch["metadata"]["namespace"] = ns
    seq = client.last_seq(kube, "kubernetes")
    result = apply(kube, capsys, [patch], patch="merge", _ansible_diff=True)
    assert result["changed"] is True and [a["method"] for a in result["applied"]] == ["merge"], result
    writes = [e for e in requests_since(kube, seq) if e["method"] != "GET"]
    assert [(e["method"], e["path"]) for e in writes] == [("PATCH", f"/api/v1/namespaces/{ns}/secrets/cluster-spoke")]
    assert "tok-secret" not in json.dumps(result["diff"]) and '"stringData"' not in json.dumps(result["diff"])
    live = api(kube, "GET", f"/api/v1/namespaces/{ns}/secrets/cluster-spoke")
    assert live["metadata"]["labels"]["doks.gitops/component.metrics-server"] == "true"
    assert "doks.gitops/metrics-server.values" not in live["metadata"]["annotations"][LAST_APPLIED]
    # the token is renewed: the registration is applied again, client-side
    again = apply(kube, capsys, [cluster_secret(ns, "tok-secret-2")])
    assert [a["method"] for a in again["applied"]] == ["apply"], again
    live = api(kube, "GET", f"/api/v1/namespaces/{ns}/secrets/cluster-spoke")
    assert live["metadata"]["labels"]["doks.gitops/component.metrics-server"] == "true"
    assert live["metadata"]["annotations"]["doks.gitops/metrics-server.values"] == '{"replicas": 2}'
    seq = client.last_seq(kube, "kubernetes")
    unchanged = apply(kube, capsys, [patch], patch="merge")
    assert (unchanged["changed"], unchanged["applied"]) == (False, [])
    assert {e["method"] for e in requests_since(kube, seq)} == {"GET"}


def test_merge_patch_of_a_missing_object_fails(kube: dict[str, Any], capsys) -> None:
    patch = copy.deepcopy(COMPONENT_PATCH)
    patch["metadata"]["namespace"] = "nowhere"
    result = apply(kube, capsys, [patch], patch="merge")
    assert result["failed"] is True and "patch=merge changes existing objects only" in result["msg"]


# ------------------------------------------------------------- server-side apply
MANAGER = "doks.gitops.test"


def ssa_objects(ns: str) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/managed-by": "doks.gitops", "tier": "ci"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "build", "namespace": ns, "labels": dict(labels)},
            "automountServiceAccountToken": False,
        },
    ]


def managers(kube: dict[str, Any], path: str) -> list[tuple[str, str]]:
    fields = api(kube, "GET", path)["metadata"].get("managedFields") or []
    return sorted((f["manager"], f["operation"]) for f in fields)


def test_server_side_apply_writes_once_as_its_manager_then_only_lists(kube: dict[str, Any], capsys) -> None:
    """Kubernetes "Server-Side Apply": an apply (PATCH, application/apply-patch+yaml) records its
    fieldManager with operation Apply in managedFields; the second run compares against that entry
    and sends no write."""
    defs = ssa_objects("ssa-once")
    seq = client.last_seq(kube, "kubernetes")
    result = apply(kube, capsys, defs, server_side_apply={"field_manager": MANAGER})
    assert result["changed"] is True, result
    writes = [e for e in requests_since(kube, seq) if e["method"] != "GET"]
    assert [(e["method"], e["path"].split("?")[0]) for e in writes] == [
        ("PATCH", "/api/v1/namespaces/ssa-once"),
        ("PATCH", "/api/v1/namespaces/ssa-once/serviceaccounts/build"),
    ]
    assert all(f"fieldManager={MANAGER}" in e["query"] for e in writes), writes
    assert managers(kube, "/api/v1/namespaces/ssa-once/serviceaccounts/build") == [(MANAGER, "Apply")]
    seq = client.last_seq(kube, "kubernetes")
    again = apply(kube, capsys, defs, server_side_apply={"field_manager": MANAGER})
    assert (again["changed"], again["applied"], again["unchanged"]) == (False, [], 2), again
    assert {e["method"] for e in requests_since(kube, seq)} == {"GET"}


def test_server_side_apply_removes_a_dropped_label_and_takes_over_once(kube: dict[str, Any], capsys) -> None:
    """A label the manager applied and no longer declares is removed by the server on the next apply
    ("If a field was previously applied by a manager and that manager applies again without it, the
    field is removed"); an object written by a client-side apply is applied once by the new manager."""
    defs = ssa_objects("ssa-drop")
    apply(kube, capsys, defs[:1])  # client-side: kubectl's manager, operation Update
    result = apply(kube, capsys, defs, server_side_apply={"field_manager": MANAGER})
    assert [(a["kind"], a["reason"]) for a in result["applied"]] == [
        ("Namespace", f"not applied by {MANAGER} before"),
        ("ServiceAccount", "missing"),
    ]
    dropped = copy.deepcopy(defs)
    del dropped[1]["metadata"]["labels"]["tier"]
    result = apply(kube, capsys, dropped, server_side_apply={"field_manager": MANAGER})
    assert [(a["kind"], a["reason"]) for a in result["applied"]] == [
        ("ServiceAccount", f"{MANAGER} applied metadata.labels.tier, which the definition no longer sets"),
    ]
    live = api(kube, "GET", "/api/v1/namespaces/ssa-drop/serviceaccounts/build")
    assert live["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "doks.gitops"}
    again = apply(kube, capsys, dropped, server_side_apply={"field_manager": MANAGER})
    assert again["changed"] is False, again


def test_server_side_apply_with_a_merge_patch_is_refused_before_any_request(kube: dict[str, Any], capsys) -> None:
    seq = client.last_seq(kube, "kubernetes")
    result = apply(kube, capsys, ssa_objects("ssa-merge"), patch="merge", server_side_apply={"field_manager": MANAGER})
    assert result["failed"] is True and "exclude each other" in result["msg"]
    assert requests_since(kube, seq) == []


# ---------------------------------------------------------------------- messages
def test_a_refused_token_names_the_kubeconfig_and_the_renewal() -> None:
    exc = ApiException(status=401, reason="Unauthorized")
    exc.body = json.dumps({"kind": "Status", "status": "Failure", "message": "Unauthorized", "code": 401})
    assert k8s_apply_changed.cluster_failure(exc, "/home/u/.kube/doks.yaml") == (
        "the cluster answered HTTP 401: Unauthorized; the kubeconfig /home/u/.kube/doks.yaml holds a token the "
        "cluster no longer accepts (expired or revoked): renew it (run the play with --tags doks_cluster)"
    )
    forbidden = ApiException(status=403, reason="Forbidden")
    forbidden.body = '{"kind":"Status","message":"namespaces is forbidden: User \\"x\\" cannot list resource"}'
    assert k8s_apply_changed.cluster_failure(forbidden, "k") == (
        'the cluster answered HTTP 403: namespaces is forbidden: User "x" cannot list resource'
    )


def test_an_unreachable_cluster_reads_as_a_sentence(capsys, tmp_path: Path) -> None:
    """urllib3's MaxRetryError(NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x...>'))
    becomes one sentence naming the kubeconfig's server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}}
    result = run_module(k8s_apply_changed.main, capsys, {"kubeconfig": str(kubeconfig), "definitions": [obj]})
    assert result["failed"]
    assert result["msg"] == (
        f"Cannot reach the cluster: 127.0.0.1:{port} refused the connection (nothing listens there); "
        "check the server of the kubeconfig (gitops_kubeconfig)"
    ), result["msg"]
