"""A spoke's platform comes from ApplicationSets on the hub (issue 20), not from Applications it writes.

The hub writes one ApplicationSet per entry of ``gitops_components`` (roles/gitops/vars/main.yml):
a cluster generator over the registered clusters (Argo CD v3.4.4,
docs/operator-manual/applicationset/Generators-Cluster.md) whose Secret switches the component on
(gitops-bridge: ``enable_<role>``, plus ``doks.gitops/component.<name>`` that the spoke sets when it
delivers it), Go templates with ``missingkey=error`` (GoTemplate.md). The proof that a spoke gets exactly what its
roles render: the ApplicationSet, rendered by the sandbox's ApplicationSet controller
(``sandbox.kube.applicationset.render_application``, Go text/template + sprig as Argo CD's) with a
cluster Secret built as the spoke writes it, gives the Application that ``application.yml.j2``
renders for that component on the spoke, except the resources finalizer:
``syncPolicy.preserveResourcesOnDeletion`` leaves it out (applicationset/utils/utils.go at v3.4.4).
The values travel as a string (``helm.values``, a YAML document for Argo CD, docs/user-guide/helm.md):
a ``templatePatch`` would carry them as ``valuesObject`` through a strategic merge, which drops nulls
(apimachinery strategicpatch, ``IgnoreUnmatchedNulls``), and a null is how a values file removes a
chart default (loki's ``storage_config.boltdb_shipper: null``).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

import sandbox
from sandbox.kube.applicationset import GenerationError, _cluster_params, render_application, selector_matcher
from tests.unit.role_render import ROOT, outputs, render_role
from tests.unit.test_delivery import COMPONENT, VALUES, release_repo

# a null removes a chart default in Helm; it must reach the spoke's Application
VALUES_WITH_NULL = {**VALUES, "storage_config": {"boltdb_shipper": None}}

CATALOGUE = yaml.safe_load((ROOT / "roles/gitops/vars/main.yml").read_text())["gitops_components"]
# A label key's name part: at most 63 characters, alphanumerics, '-', '_' and '.' inside
# (apimachinery pkg/util/validation IsQualifiedName).
QUALIFIED_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")

TASKS = """
    - name: Render the ApplicationSets like tasks/applicationsets.yml
      ansible.builtin.copy:
        dest: "{out}/appsets.json"
        content: "{{{{ lookup('ansible.builtin.template', 'applicationsets.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
    - name: Render the spoke's Application like tasks/application.yml
      ansible.builtin.copy:
        dest: "{out}/app.json"
        content: "{{{{ lookup('ansible.builtin.template', 'application.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
      vars:
        gitops_release_repo: {repo}
    - name: Render what the spoke writes on its cluster Secret like tasks/application.yml
      ansible.builtin.copy:
        dest: "{out}/annotations.json"
        content: "{{{{ lookup('ansible.builtin.template', 'spoke-component.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
      vars:
        gitops_release_repo: {repo}
"""


def helm_release_includes() -> set[tuple[str, str]]:
    """(role, gitops_release_name) of every include of the gitops role's helm_release in roles/*/tasks."""
    found = set()
    for path in ROOT.glob("roles/*/tasks/*.yml"):
        role = path.parts[-3]
        if role == "gitops":
            continue
        text = path.read_text()

        def walk(node: Any, role: str = role) -> None:
            if isinstance(node, list):
                for item in node:
                    walk(item)
            elif isinstance(node, dict):
                inc = node.get("ansible.builtin.include_role")
                if isinstance(inc, dict) and inc.get("tasks_from") == "helm_release":
                    found.add((role, str(node["vars"]["gitops_release_name"])))
                for value in node.values():
                    walk(value)

        if "helm_release" in text:
            walk(yaml.safe_load(text))
    return found


def test_the_catalogue_lists_every_helm_release_of_the_roles() -> None:
    charts = {(c["role"], c["name"]) for c in CATALOGUE if c.get("source", "chart") == "chart"}
    assert charts == helm_release_includes()
    assert len({c["name"] for c in CATALOGUE}) == len(CATALOGUE)


def test_the_catalogue_lists_every_tekton_component_of_the_platform_repository() -> None:
    """tekton delivers tekton-<component> through manifests_release for each entry of tekton_components
    (the core ones and Chains): each is a `source: git` component of the catalogue, and nothing else is."""
    tasks = yaml.safe_load((ROOT / "roles/tekton/tasks/argocd.yml").read_text())
    deliver = next(
        t for t in tasks if t.get("ansible.builtin.include_role", {}).get("tasks_from") == "manifests_release"
    )
    assert deliver["vars"]["gitops_release_name"] == "tekton-{{ tekton_component.name }}"
    assert deliver["loop"] == "{{ tekton_components }}"
    tekton_vars = yaml.safe_load((ROOT / "roles/tekton/vars/main.yml").read_text())
    names = [c["name"] for c in tekton_vars["tekton_components_core"]] + ["chains"]
    assert "'name': 'chains'" in tekton_vars["tekton_components"]
    git = {(c["role"], c["name"]) for c in CATALOGUE if c.get("source", "chart") == "git"}
    assert git == {("tekton", f"tekton-{name}") for name in names}


def test_every_component_label_key_is_a_qualified_name() -> None:
    """The selector label ``doks.gitops/component.<name>`` and the annotation keys must be valid keys."""
    names = [c["name"] for c in CATALOGUE]
    names = ["oauth2-proxy" if "oauth2" in n else "argocd" if "argocd_release" in n else n for n in names]
    for name in names:
        for key in (f"component.{name}", f"{name}.values", f"{name}.namespace"):
            assert QUALIFIED_NAME.match(key), key


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp_path = tmp_path_factory.mktemp("appsets")
    result = render_role(
        tmp_path,
        "gitops",
        TASKS,
        {**COMPONENT, "gitops_hub": "hub", "gitops_release_values": VALUES_WITH_NULL},
        defaults_of=("argocd",),
        repo=json.dumps(release_repo()),
    )
    return outputs(tmp_path, result)


def appset_of(rendered: dict[str, Any], name: str) -> dict[str, Any]:
    (appset,) = [a for a in rendered["appsets"] if a["metadata"]["name"] == f"platform-{name}"]
    return appset


def spoke_secret(annotations: dict[str, str], enabled: bool = True) -> dict[str, Any]:
    """The spoke's cluster Secret on the hub after its registration and its component patch."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "cluster-localhost",
            "namespace": "argocd",
            "labels": {
                "argocd.argoproj.io/secret-type": "cluster",
                "enable_observability": "true" if enabled else "false",
                "doks.gitops/component.metrics-server": "true",
            },
            "annotations": annotations,
        },
        "data": {"name": base64.b64encode(b"localhost").decode(), "server": base64.b64encode(b"https://s").decode()},
    }


def test_one_applicationset_per_component(rendered: dict[str, Any]) -> None:
    assert len(rendered["appsets"]) == len(CATALOGUE)
    appset = appset_of(rendered, "metrics-server")
    spec = appset["spec"]
    assert (spec["goTemplate"], spec["goTemplateOptions"]) == (True, ["missingkey=error"])
    assert spec["syncPolicy"] == {"preserveResourcesOnDeletion": True}
    assert spec["generators"] == [
        {
            "clusters": {
                "selector": {
                    "matchLabels": {"enable_observability": "true", "doks.gitops/component.metrics-server": "true"}
                }
            }
        }
    ]
    assert appset["metadata"]["namespace"] == "argocd"


def test_the_applicationsets_fit_the_applicationset_crd(rendered: dict[str, Any]) -> None:
    crd = yaml.safe_load((sandbox.CHARTS / "argo-cd/crds/applicationsets.argoproj.io.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    # one validator for every ApplicationSet: jsonschema.validate checks the (large) schema itself on each call
    schema = version["schema"]["openAPIV3Schema"]
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    for appset in rendered["appsets"]:
        validator.validate(appset)


def test_the_generated_application_is_the_one_the_spoke_renders(rendered: dict[str, Any]) -> None:
    appset = appset_of(rendered, "metrics-server")
    secret = spoke_secret(rendered["annotations"])
    assert selector_matcher(appset["spec"]["generators"][0]["clusters"]["selector"])(secret["metadata"]["labels"])
    generated = render_application(appset["spec"]["template"], _cluster_params(secret, True), appset)
    expected = rendered["app"]
    assert expected["metadata"].pop("finalizers") == ["resources-finalizer.argocd.argoproj.io"]
    assert "finalizers" not in generated["metadata"]
    assert generated == {k: v for k, v in expected.items() if k in ("metadata", "spec")}
    assert yaml.safe_load(generated["spec"]["source"]["helm"]["values"]) == VALUES_WITH_NULL
    crd = yaml.safe_load((sandbox.CHARTS / "argo-cd/crds/applications.argoproj.io.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    jsonschema.validate(
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **generated}, version["schema"]["openAPIV3Schema"]
    )


def test_a_cluster_without_the_switch_gets_nothing(rendered: dict[str, Any]) -> None:
    """gitops-bridge: ``enable_<role>: "false"`` on the registration keeps the component away."""
    appset = appset_of(rendered, "metrics-server")
    secret = spoke_secret(rendered["annotations"], enabled=False)
    assert not selector_matcher(appset["spec"]["generators"][0]["clusters"]["selector"])(secret["metadata"]["labels"])


def test_the_annotations_carry_no_secret_and_are_strings(rendered: dict[str, Any]) -> None:
    annotations = rendered["annotations"]
    assert set(annotations) == {
        f"doks.gitops/metrics-server.{f}" for f in ("repo", "chart", "version", "namespace", "values")
    }
    assert all(isinstance(v, str) for v in annotations.values())
    assert json.loads(annotations["doks.gitops/metrics-server.values"]) == VALUES_WITH_NULL


def test_a_missing_annotation_fails_the_generation(rendered: dict[str, Any]) -> None:
    """Go's ``index`` gives "" for a missing map key, even with ``missingkey=error`` (text/template
    docs: missingkey applies to field and map lookups ``.x``, ``index`` returns the zero value), so a
    registration without the values annotation would silently get the chart's defaults. The
    values string guards every annotation with sprig's ``hasKey`` and ``fail`` (Argo CD's Go
    template functions are sprig's, docs/operator-manual/applicationset/GoTemplate.md)."""
    appset = appset_of(rendered, "metrics-server")
    annotations = {k: v for k, v in rendered["annotations"].items() if not k.endswith(".values")}
    with pytest.raises(GenerationError, match=re.escape("doks.gitops/metrics-server.values is missing")):
        render_application(appset["spec"]["template"], _cluster_params(spoke_secret(annotations), True), appset)
