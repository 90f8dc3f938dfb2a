"""The Argo CD projects the argocd role applies are boundaries, not pass-throughs.

Argo CD docs (docs/operator-manual/cluster-bootstrapping.md at v3.4.4, "App of Apps is an
admin-only tool"): "The ability to create Applications in arbitrary Projects is an admin-level capability.
... Projects with access to the namespace in which Argo CD is installed effectively have
admin-level privileges." On main the ``applications`` project admitted any repository (``*``) and
any namespace (``*``, so ``argocd`` and ``kube-system`` too), and the app-of-apps roots lived in it:
whoever could push to the GitOps repository was cluster-admin.

Admission is judged by the sandbox's Argo CD emulator (``sandbox/kube/argocd.py``, the checks of
Argo CD's ``ValidateDestination``/``IsSourcePermitted``: glob match of repoURL against
``sourceRepos``, of server and namespace against ``destinations``), and every rendered AppProject
against the AppProject CRD schema the sandbox API server enforces (the rendered projects were also
checked once against argoproj/argo-cd v3.4.4 manifests/crds/appproject-crd.yaml, every field known).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from sandbox.kube.argocd import _destination_problem, _namespace_problem
from tests.unit.role_render import ROOT, outputs, render_role

REPO = "https://github.com/example/doks-gitops.git"
SERVER = "https://kubernetes.default.svc"
TASKS = """
    - name: Render the AppProjects like tasks/projects.yml
      ansible.builtin.copy:
        dest: "{out}/projects.json"
        content: "{{{{ lookup('ansible.builtin.template', 'appprojects.yml.j2') | ansible.builtin.from_yaml_all | select | list | to_json }}}}"
        mode: "0600"
      vars:
        argocd_projects_to_apply:
          - "{{{{ argocd_platform_project }}}}"
          - "{{{{ argocd_applications_project }}}}"
          - "{{{{ argocd_apps_root_project }}}}"
"""
VARS = {"argocd_oidc_enabled": False}


def projects(tmp_path: Path, with_lofi: bool = True, **variables: Any) -> Any:
    result = render_role(
        tmp_path,
        "argocd",
        TASKS,
        {**VARS, **variables},
        defaults_of=("auth0_apps", "lofi_pipeline") if with_lofi else ("auth0_apps",),
        preflight="expect_failure" in variables,
    )
    if "expect_failure" in variables:
        return result
    return {p["metadata"]["name"]: p for p in outputs(tmp_path, result)["projects"]}


def admits(project: dict[str, Any], namespace: str, server: str = SERVER) -> bool:
    spec = project["spec"]
    return _destination_problem(project["metadata"]["name"], spec, {"server": server, "namespace": namespace}) is None


@pytest.fixture(scope="module")
def two_apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return projects(
        tmp_path_factory.mktemp("two"),
        lofi_pipeline_gitops_repo_url=REPO,
        lofi_pipeline_apps=[{"name": "lofi"}, {"name": "demo", "app_namespace": "shop"}],
    )


def test_applications_admit_only_the_declared_repository_and_namespaces(two_apps: dict[str, Any]) -> None:
    apps = two_apps["applications"]["spec"]
    assert apps["sourceRepos"] == [REPO]
    assert sorted(d["namespace"] for d in apps["destinations"]) == ["demo-ci", "lofi", "lofi-ci", "shop"]
    for namespace in ("lofi", "lofi-ci", "shop", "demo-ci"):
        assert admits(two_apps["applications"], namespace)
    for namespace in ("argocd", "kube-system", "observability", "tekton-pipelines", "traefik", "default", "demo"):
        assert not admits(two_apps["applications"], namespace), namespace
    assert not admits(two_apps["applications"], "lofi", server="https://other-cluster:6443")


def test_applications_have_no_cluster_scoped_kind_and_no_guard_rail_kinds(two_apps: dict[str, Any]) -> None:
    """No cluster-scoped kind, and not the namespace guard rails the platform owns.

    Argo CD docs (docs/operator-manual/declarative-setup.md at v3.4.4, AppProject example):
    "Deny all cluster-scoped resources from being created, except for ..." (the
    ``clusterResourceWhitelist``, here empty) and "Allow all namespaced-scoped resources to be
    created, except for ResourceQuota, LimitRange, NetworkPolicy" (``namespaceResourceBlacklist``).
    NetworkPolicy stays allowed: the app chart ships its own default-deny policy.
    """
    apps = two_apps["applications"]["spec"]
    assert apps["clusterResourceWhitelist"] == []
    denied = {(k["group"], k["kind"]) for k in apps["namespaceResourceBlacklist"]}
    assert {("", "ResourceQuota"), ("", "LimitRange"), ("rbac.authorization.k8s.io", "RoleBinding")} <= denied
    assert ("networking.k8s.io", "NetworkPolicy") not in denied  # the app chart ships its own default-deny


def test_the_root_project_only_creates_applications_in_the_applications_namespace(two_apps: dict[str, Any]) -> None:
    root = two_apps["apps-root"]["spec"]
    assert root["sourceRepos"] == [REPO]
    assert root["destinations"] == [{"server": SERVER, "namespace": "argocd-apps"}]
    assert root["clusterResourceWhitelist"] == []
    assert root["namespaceResourceWhitelist"] == [{"group": "argoproj.io", "kind": "Application"}]
    assert admits(two_apps["apps-root"], "argocd-apps")
    assert not admits(two_apps["apps-root"], "argocd")
    assert not admits(two_apps["apps-root"], "lofi")


def test_a_child_application_from_git_cannot_name_the_platform_project(two_apps: dict[str, Any]) -> None:
    """A child Application lives in argocd-apps, where only the applications project may be used.

    Argo CD v3.4.4 (docs/operator-manual/app-any-namespace.md; ``AppProject.IsAppNamespacePermitted``):
    an Application outside the control plane's namespace may only use a project whose
    ``sourceNamespaces`` list its namespace. On main the children lived in ``argocd``, where an
    Application may name any project: whoever could push the app-of-apps chart could write
    ``project: platform`` (any repository, any namespace, cluster-scoped kinds) and be cluster-admin.
    """
    child = {"metadata": {"name": "lofi", "namespace": "argocd-apps"}}
    assert two_apps["applications"]["spec"]["sourceNamespaces"] == ["argocd-apps"]
    assert _namespace_problem(child, "argocd", "applications", two_apps["applications"]["spec"]) is None
    for name in ("platform", "apps-root"):
        assert "sourceNamespaces" not in two_apps[name]["spec"]
        problem = _namespace_problem(child, "argocd", name, two_apps[name]["spec"])
        assert problem == f"application 'lofi' in namespace 'argocd-apps' is not permitted to use project '{name}'"


def test_without_declared_applications_the_projects_admit_nothing(tmp_path: Path) -> None:
    got = projects(tmp_path, with_lofi=False)
    for name in ("applications", "apps-root"):
        assert got[name]["spec"]["sourceRepos"] == []
    assert got["applications"]["spec"]["destinations"] == []
    assert not admits(got["applications"], "argocd")


OPEN = {"name": "applications", "sourceNamespaces": ["argocd-apps"]}


@pytest.mark.parametrize(
    ("project", "variable"),
    [
        (
            {**OPEN, "sourceRepos": [REPO], "destinations": [{"server": SERVER, "namespace": "argocd"}]},
            "argocd_applications_project.destinations",
        ),
        (
            {**OPEN, "sourceRepos": [REPO], "destinations": [{"server": SERVER, "namespace": "*"}]},
            "argocd_applications_project.destinations",
        ),
        (
            {**OPEN, "sourceRepos": ["*"], "destinations": [{"server": SERVER, "namespace": "lofi"}]},
            "argocd_applications_project.sourceRepos",
        ),
        (
            {**OPEN, "sourceRepos": [REPO], "destinations": [{"server": SERVER, "namespace": "kube-system"}]},
            "argocd_applications_project.destinations",
        ),
    ],
)
def test_the_role_refuses_an_open_applications_project(tmp_path: Path, project: dict[str, Any], variable: str) -> None:
    """The role's first task (preflight, RULES['argocd']) refuses it before anything is rendered or applied."""
    result = projects(tmp_path, argocd_applications_project=project, expect_failure=True)
    assert result.returncode != 0
    lines = [x.strip() for x in (result.stdout + result.stderr).splitlines() if x.strip().startswith(f"- {variable}:")]
    assert lines and all("Fix:" in x for x in lines), result.stdout[-3000:]
    assert not list((tmp_path / "out").iterdir())


def test_every_project_fits_the_appproject_crd(two_apps: dict[str, Any]) -> None:
    crd = yaml.safe_load((ROOT / "sandbox/charts/argo-cd/crds/appprojects.argoproj.io.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema = version["schema"]["openAPIV3Schema"]
    for project in two_apps.values():
        assert project["apiVersion"] == f"{crd['spec']['group']}/v1alpha1"
        assert project["kind"] == crd["spec"]["names"]["kind"]
        jsonschema.validate(project, schema)
