"""With ``gitops_delivery: argocd`` a platform component is an Argo CD Application, not a Helm release.

The Application the gitops role declares (``templates/application.yml.j2``, issue 20) must carry
exactly what the Helm path would install: the same chart, pin, repository (or mirror) and values
(``spec.source.helm.valuesObject``, Argo CD's docs/user-guide/helm.md "Helm Value precedence" at
v3.4.4), into the same namespace. It is judged by the Application CRD the sandbox's API server
serves (``sandbox.CHARTS/argo-cd/crds``, generated from argoproj/argo-cd's manifests) and admitted
by the platform AppProject the argocd role applies, as the sandbox's Argo CD checks it
(``ValidateDestination``/``IsSourcePermitted``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import sandbox
from sandbox.kube.argocd import _destination_problem
from tests.unit.role_render import ROOT, outputs, render_role

TASKS = """
    - name: Render the Application like tasks/application.yml
      ansible.builtin.copy:
        dest: "{out}/app.json"
        content: "{{{{ lookup('ansible.builtin.template', 'application.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
      vars:
        gitops_release_repo: {repo}
"""
CHART = {"name": "metrics-server", "repo": "https://kubernetes-sigs.github.io/metrics-server/", "version": "3.13.0"}
VALUES = {"args": ["--kubelet-preferred-address-types=InternalIP"], "nodeSelector": {"pool": "tools"}}
COMPONENT = {
    "gitops_delivery": "argocd",
    "gitops_release_name": "metrics-server",
    "gitops_release_namespace": "kube-system",
    "gitops_release_chart": CHART,
    "gitops_release_values": VALUES,
}


def release_repo() -> str:
    """The chart's repository or the mirror, as tasks/helm_release.yml chooses it for both deliveries
    (read from the task file, so that this test renders what the role runs, not a copy of it)."""
    (deliver,) = yaml.safe_load((ROOT / "roles/gitops/tasks/helm_release.yml").read_text())
    return str(deliver["vars"]["gitops_release_repo"])


def application(tmp_path: Path, **variables: Any) -> dict[str, Any]:
    repo = json.dumps(release_repo())
    result = render_role(tmp_path, "gitops", TASKS, {**COMPONENT, **variables}, defaults_of=("argocd",), repo=repo)
    return outputs(tmp_path, result)["app"]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return application(tmp_path_factory.mktemp("app"))


def test_the_application_carries_the_release_helm_would_install(app: dict[str, Any]) -> None:
    source = app["spec"]["source"]
    assert (source["repoURL"], source["chart"], source["targetRevision"]) == (CHART["repo"], CHART["name"], "3.13.0")
    assert source["helm"] == {"releaseName": "metrics-server", "valuesObject": VALUES}
    assert app["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "kube-system"}
    assert app["metadata"]["namespace"] == "argocd"
    # the wave is the catalogue's (roles/gitops/vars/main.yml gitops_components), the one place it is set
    assert app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "0"


def test_argo_cd_prunes_self_heals_and_cleans_up_by_default(app: dict[str, Any]) -> None:
    policy = app["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert {"CreateNamespace=true", "ServerSideApply=true"} <= set(policy["syncOptions"])
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]


def test_the_inventory_tunes_prune_self_heal_and_the_mirror(tmp_path: Path) -> None:
    app = application(
        tmp_path,
        gitops_delivery_prune=False,
        gitops_delivery_self_heal=False,
        gitops_helm_repo_mirror="https://charts.internal.example/",
        argocd_namespace="gitops",
    )
    assert app["spec"]["syncPolicy"]["automated"] == {"prune": False, "selfHeal": False}
    assert app["spec"]["source"]["repoURL"] == "https://charts.internal.example/"
    assert app["metadata"]["namespace"] == "gitops"


def test_the_application_fits_the_application_crd(app: dict[str, Any]) -> None:
    crd = yaml.safe_load((sandbox.CHARTS / "argo-cd/crds/applications.argoproj.io.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    assert app["apiVersion"] == f"{crd['spec']['group']}/v1alpha1"
    assert app["kind"] == crd["spec"]["names"]["kind"]
    jsonschema.validate(app, version["schema"]["openAPIV3Schema"])


def test_the_platform_project_admits_the_application(app: dict[str, Any]) -> None:
    defaults = yaml.safe_load((Path(__file__).resolve().parents[2] / "roles/argocd/defaults/main.yml").read_text())
    project = defaults["argocd_platform_project"]
    assert app["spec"]["project"] == project["name"]
    assert _destination_problem(project["name"], project, app["spec"]["destination"]) is None


def test_argo_cd_own_application_does_not_cascade(tmp_path: Path) -> None:
    """Argo CD docs (docs/user-guide/app_deletion.md at v3.4.4): the resources finalizer makes the
    controller delete the app's resources before the Application goes. On Argo CD's own Application
    that deletes the controller that has to remove the finalizer, so it never finishes."""
    app = application(tmp_path, gitops_release_name="argocd", gitops_release_cascade=False)
    assert "finalizers" not in app["metadata"]


def test_a_spoke_application_lives_on_the_hub_and_targets_the_spoke(tmp_path: Path) -> None:
    """On a spoke (gitops_hub names another host) the Application is the hub's, named <spoke>-<component>
    so that every spoke's fits in one namespace, with the spoke's registered cluster name as destination
    (Argo CD resolves ``destination.name`` through the cluster Secrets, util/argo/argo.go at v3.4.4)."""
    app = application(tmp_path, gitops_hub="hub")
    assert app["metadata"]["name"] == "localhost-metrics-server"
    assert app["metadata"]["labels"]["doks.gitops/cluster"] == "localhost"
    assert app["spec"]["destination"] == {"name": "localhost", "namespace": "kube-system"}


SPOKE_TASKS = """
    - name: Render the spoke's cluster Secret metadata like tasks/register_spoke.yml
      ansible.builtin.copy:
        dest: "{out}/spoke.json"
        content: >-
          {{{{ {{'labels': lookup('ansible.builtin.template', 'spoke-labels.yml.j2') | from_yaml,
                'annotations': lookup('ansible.builtin.template', 'spoke-annotations.yml.j2') | from_yaml}} | to_json }}}}
        mode: "0600"
"""


def test_a_spoke_registration_carries_switches_and_metadata(tmp_path: Path) -> None:
    """The cluster Secret follows Argo CD's declarative setup (label ``argocd.argoproj.io/secret-type:
    cluster``) and the gitops-bridge convention: ``enable_<addon>`` labels, metadata in annotations.
    Label values are strings (Kubernetes rejects booleans in ``metadata.labels``)."""
    result = render_role(
        tmp_path,
        "argocd",
        SPOKE_TASKS,
        {"argocd_oidc_enabled": False, "tekton_enabled": False, "gitops_domain": "spoke.example.com"},
        defaults_of=("auth0_apps", "lofi_pipeline"),
    )
    spoke = outputs(tmp_path, result)["spoke"]
    labels, annotations = spoke["labels"], spoke["annotations"]
    assert labels["argocd.argoproj.io/secret-type"] == "cluster"
    assert (labels["enable_tekton"], labels["enable_observability"], labels["enable_falco"]) == (
        "false",
        "true",
        "false",
    )
    assert all(isinstance(v, str) for v in {**labels, **annotations}.values())
    assert annotations["doks.gitops/domain"] == "spoke.example.com"
    assert yaml.safe_load(annotations["doks.gitops/placement-tools"])["nodeSelector"]


def test_one_task_declares_the_application_and_waits_for_it() -> None:
    """The argocd delivery of a component on its own cluster's Argo CD is one module run (apply, then
    wait on the same connection): doks.gitops.k8s_apply_changed with wait, Ingresses allowed to stay
    Progressing. A spoke instead patches its registration (metadata only, a merge patch) and waits for
    the Application the hub's ApplicationSet generates, judged on the spec.source it asked for."""
    tasks = yaml.safe_load((Path(__file__).parents[2] / "roles/gitops/tasks/application.yml").read_text())
    applies = [t for t in tasks if "doks.gitops.k8s_apply_changed" in t]
    own, spoke = (
        [t for t in applies if t["doks.gitops.k8s_apply_changed"].get("patch") != "merge"],
        [t for t in applies if t["doks.gitops.k8s_apply_changed"].get("patch") == "merge"],
    )
    assert len(own) == len(spoke) == 1
    args = own[0]["doks.gitops.k8s_apply_changed"]
    assert (args["wait"], args["wait_sleep"], args["wait_progressing_kinds"]) == (True, 2, ["Ingress"])
    assert "gitops_delivery_wait_timeout" in args["wait_timeout"]
    assert "not gitops_delivery_spoke | bool" in own[0]["when"]
    (patched,) = spoke[0]["doks.gitops.k8s_apply_changed"]["definitions"]
    assert (patched["kind"], sorted(patched)) == ("Secret", ["apiVersion", "kind", "metadata"])
    (wait,) = [t for t in tasks if "doks.gitops.argocd_app_wait" in t]
    assert "application.yml.j2" in wait["doks.gitops.argocd_app_wait"]["source"]
    # under --check the patch is a dry run: the source the wait asks for never comes, so the spoke's
    # wait is skipped as the own cluster's apply skips its wait (else --check --diff of a changed
    # value would time out)
    assert "not ansible_check_mode" in wait["when"]
    assert not [t for t in tasks if "wait_application" in str(t)]
