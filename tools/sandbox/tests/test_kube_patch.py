"""Patch and schema semantics of the Kubernetes emulator, on the functions themselves."""

from __future__ import annotations

import pytest

from sandbox.kube import fields, structural
from sandbox.kube.apply import ApplyConflict, Writer, record_update, server_side_apply
from sandbox.kube.errors import KubeError
from sandbox.kube.patch import json_patch, merge_patch, strategic_merge
from sandbox.kube.schema import Node, prune, unknown_fields

POD = Node(model="V1Pod")
SERVICE = Node(model="V1Service")
CONFIGMAP = Node(model="V1ConfigMap")


def test_strategic_merge_lists_follow_upstream_tags() -> None:
    pod = {
        "metadata": {"finalizers": ["a"]},
        "spec": {
            "containers": [{"name": "app", "image": "x:1", "volumeMounts": [{"name": "v", "mountPath": "/a"}]}],
            "volumes": [{"name": "v", "emptyDir": {}}],
            "tolerations": [{"key": "t1", "operator": "Exists"}],
        },
    }
    patch = {
        "metadata": {"finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"]},
        "spec": {
            "containers": [
                {"name": "app", "volumeMounts": [{"name": "w", "mountPath": "/b"}]},
                {"name": "side", "image": "s:1"},
            ],
            "volumes": [{"name": "v", "$retainKeys": ["name", "configMap"], "configMap": {"name": "cm"}}],
            "tolerations": [{"key": "t2", "operator": "Exists"}],
        },
    }
    out = strategic_merge(pod, patch, POD)
    assert out["metadata"]["finalizers"] == ["b"]
    assert [c["name"] for c in out["spec"]["containers"]] == ["app", "side"]
    assert [m["mountPath"] for m in out["spec"]["containers"][0]["volumeMounts"]] == ["/a", "/b"]
    assert out["spec"]["volumes"] == [{"name": "v", "configMap": {"name": "cm"}}]
    assert out["spec"]["tolerations"] == [{"key": "t2", "operator": "Exists"}]
    assert pod["spec"]["containers"][0]["image"] == "x:1"  # the input is not mutated


def test_strategic_merge_directives() -> None:
    svc = {
        "spec": {
            "ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}],
            "selector": {"a": "1", "b": "2"},
        }
    }
    out = strategic_merge(
        svc,
        {
            "spec": {
                "ports": [{"port": 443, "$patch": "delete"}, {"port": 8080}],
                "selector": {"$patch": "replace", "c": "3"},
            }
        },
        SERVICE,
    )
    assert out["spec"]["ports"] == [{"port": 80, "name": "http"}, {"port": 8080}]
    assert out["spec"]["selector"] == {"c": "3"}
    out = strategic_merge(svc, {"spec": {"ports": [{"$patch": "replace"}, {"port": 9}]}}, SERVICE)
    assert out["spec"]["ports"] == [{"port": 9}]
    out = strategic_merge(svc, {"spec": {"$setElementOrder/ports": [{"port": 443}, {"port": 80}]}}, SERVICE)
    assert [p["port"] for p in out["spec"]["ports"]] == [443, 80]
    assert strategic_merge(svc, {"spec": {"selector": {"a": None}}}, SERVICE)["spec"]["selector"] == {"b": "2"}
    with pytest.raises(KubeError) as info:
        strategic_merge(svc, {"spec": {"ports": [{"name": "no-key"}]}}, SERVICE)
    assert info.value.code == 400


def test_json_patch_and_merge_patch() -> None:
    doc = {"a": {"b": [1, 2]}, "c": 1}
    assert json_patch(
        doc, [{"op": "add", "path": "/a/b/-", "value": 3}, {"op": "move", "from": "/c", "path": "/d"}]
    ) == {"a": {"b": [1, 2, 3]}, "d": 1}
    assert json_patch(doc, [{"op": "copy", "from": "/a/b/0", "path": "/e"}])["e"] == 1
    with pytest.raises(KubeError):
        json_patch(doc, [{"op": "replace", "path": "/zzz", "value": 1}])
    assert merge_patch(doc, {"a": {"b": None}, "x": [1]}) == {"a": {}, "c": 1, "x": [1]}


def test_field_sets_use_list_map_keys() -> None:
    pod = {"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 80}]}], "tolerations": [{"key": "k"}]}}
    found = fields.paths(pod, POD)
    assert ("f:spec", "f:containers", 'k:{"name":"app"}', ".") in found
    assert (
        "f:spec",
        "f:containers",
        'k:{"name":"app"}',
        "f:ports",
        'k:{"containerPort":80,"protocol":"TCP"}',
        "f:containerPort",
    ) in found
    assert ("f:spec", "f:tolerations") in found  # atomic
    tree = fields.to_fields_v1(found)
    assert fields.from_fields_v1(tree) == found


def test_apply_ownership_and_conflicts() -> None:
    def writer(manager: str) -> Writer:
        return Writer(manager=manager, api_version="v1", node=CONFIGMAP, now="2026-01-01T00:00:00Z")

    live = server_side_apply(None, {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}, writer("one"), False)
    live = server_side_apply(live, {"metadata": {"name": "c"}, "data": {"b": "2", "c": "3"}}, writer("two"), False)
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(live, {"metadata": {"name": "c"}, "data": {"c": "9"}}, writer("one"), False)
    assert info.value.paths == {("f:data", "f:c")}
    live = server_side_apply(live, {"metadata": {"name": "c"}, "data": {"a": "1"}}, writer("one"), False)
    assert live["data"] == {"a": "1", "b": "2", "c": "3"}  # b is still two's
    live = server_side_apply(live, {"metadata": {"name": "c"}, "data": {"c": "3"}}, writer("two"), False)
    assert live["data"] == {"a": "1", "c": "3"}
    updated = {**live, "data": {"a": "changed", "c": "3"}}
    record_update(live, updated, writer("editor"))
    owners = {e["manager"]: fields.from_fields_v1(e["fieldsV1"]) for e in updated["metadata"]["managedFields"]}
    assert owners["editor"] == {("f:data", "f:a")}
    assert "one" not in owners  # its only field was taken over by the update


def test_prune_and_unknown_fields() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "bogus": 1},
        "data": {"k": "v"},
        "extra": {},
    }
    assert unknown_fields(CONFIGMAP, obj) == ["metadata.bogus", "extra"]
    assert prune(CONFIGMAP, obj) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x"},
        "data": {"k": "v"},
    }


def test_structural_defaults_and_validation() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["size"],
                "properties": {
                    "size": {"type": "integer"},
                    "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                    "port": {"x-kubernetes-int-or-string": True},
                },
            }
        },
    }
    obj = {"spec": {"size": 1, "port": "http"}}
    structural.default(schema, obj)
    assert obj["spec"]["mode"] == "a"
    assert structural.check(schema, obj) == []
    problems = structural.check(schema, {"spec": {"size": "big", "mode": "c"}})
    assert [(reason, field) for reason, _, field in problems] == [
        ("FieldValueTypeInvalid", "spec.size"),
        ("FieldValueNotSupported", "spec.mode"),
    ]
    assert structural.check(schema, {"spec": {}})[0][2] == "spec.size"


def test_atomic_structs_are_owned_whole() -> None:
    deployment = {"spec": {"selector": {"matchLabels": {"app": "a"}}, "replicas": 1}}
    found = fields.paths(deployment, Node(model="V1Deployment"))
    assert ("f:spec", "f:selector") in found
    assert not any(len(p) > 2 and p[1] == "f:selector" for p in found)


def test_apply_keeps_fields_under_an_owned_atomic_parent() -> None:
    writer = Writer(manager="kubectl", api_version="apps/v1", node=Node(model="V1Deployment"), now="t")
    live = {
        "metadata": {
            "name": "d",
            "managedFields": [
                {
                    "manager": "kubectl",
                    "operation": "Apply",
                    "apiVersion": "apps/v1",
                    "time": "t",
                    "fieldsType": "FieldsV1",
                    # granular selector fields, as a client-side apply migration hands them over
                    "fieldsV1": {"f:spec": {"f:selector": {"f:matchLabels": {"f:app": {}}}, "f:replicas": {}}},
                }
            ],
        },
        "spec": {"selector": {"matchLabels": {"app": "a"}}, "replicas": 1},
    }
    applied = {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "a"}}}}
    out = server_side_apply(live, applied, writer, False)
    assert out["spec"] == {"selector": {"matchLabels": {"app": "a"}}}
