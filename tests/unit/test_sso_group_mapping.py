"""Every group mapping derives from the one list of Auth0 groups, judged by the real engines.

The groups claim ``https://doks.gitops/groups`` is written by auth0_apps' post-login Action and
carries the user's Auth0 role names, ``<auth0_apps_role_prefix><key>`` for each key of
``auth0_apps_groups`` (``gitops-admins``, ``gitops-developers``, ``gitops-viewers`` by default).
The roles are rendered the way ``site.yml`` sees them (auth0_apps' defaults are public to every
role of the play, also with ``--tags argocd``), then:

- Grafana's ``role_attribute_path`` is evaluated with ``jmespath`` (PyPI, the JMESPath spec that
  Grafana's go-jmespath implements) on an ID-token payload;
- Argo CD's ``policy.csv`` is evaluated with ``casbin`` (PyPI pycasbin; Argo CD's RBAC is Casbin)
  with Argo CD's own model ``assets/model.conf`` at v3.4.4.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any

import casbin
import jmespath
import pytest
import yaml

from tests.unit.role_render import ROOT, ansible_playbook, outputs, render_role

CLAIM = "https://doks.gitops/groups"
ISSUER = "https://tenant.eu.auth0.com/"

# argoproj/argo-cd v3.4.4 assets/model.conf (quoted): Argo CD's Casbin model.
ARGOCD_MODEL = """
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && globOrRegexMatch(r.res, p.res) && globOrRegexMatch(r.act, p.act) && globOrRegexMatch(r.obj, p.obj)
"""
# argoproj/argo-cd v3.4.4 assets/builtin-policy.csv (the lines the cases below reach).
ARGOCD_BUILTIN_POLICY = """\
p, role:readonly, applications, get, */*, allow
p, role:readonly, logs, get, */*, allow
p, role:admin, applications, sync, */*, allow
p, role:admin, applications, delete, */*, allow
p, role:admin, applications, action/*, */*, allow
p, role:admin, clusters, create, *, allow
"""

GRAFANA_TASKS = """
    - name: Render the kube-prometheus-stack values
      ansible.builtin.copy:
        dest: "{out}/kps.json"
        content: "{{{{ lookup('ansible.builtin.template', 'kube-prometheus-stack-values.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
    - name: Write the group names every role sees
      ansible.builtin.copy:
        dest: "{out}/names.json"
        content: "{{{{ gitops_sso_group_names | default({{}}) | to_json }}}}"
        mode: "0600"
"""
ARGOCD_TASKS = """
    - name: Load the role's vars like the role does
      ansible.builtin.include_vars: {vars_file}
    - name: Render the argo-cd values
      ansible.builtin.copy:
        dest: "{out}/argocd.json"
        content: "{{{{ lookup('ansible.builtin.template', 'argocd-values.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
"""
AUTH0_TASKS = """
    - name: Render the Auth0 roles auth0_apps creates
      ansible.builtin.copy:
        dest: "{out}/roles.json"
        content: "{{{{ lookup('ansible.builtin.template', 'roles.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
"""

SSO_VARS: dict[str, Any] = {
    "auth0_apps_issuer": ISSUER,
    "auth0_apps_groups_claim": CLAIM,
    "auth0_apps_clients": {
        "grafana": {"client_id": "grafana-id", "client_secret": "s1"},
        "argocd": {"client_id": "argocd-id", "client_secret": "s2"},
    },
    "doks_cluster_spaces_bucket": "logs-bucket",
}


def fresh(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


AUTH0_CONNECTION = {
    "auth0_apps_domain": "tenant.eu.auth0.com",
    "auth0_apps_client_id": "m",
    "auth0_apps_client_secret": "x",
    # the role refuses applications enabled on every connection of the tenant (issue #18)
    "auth0_apps_connections": ["corporate-sso"],
}


def grafana(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    tmp_path = fresh(tmp_path, "grafana")
    result = render_role(
        tmp_path, "observability", GRAFANA_TASKS, {**SSO_VARS, **overrides}, defaults_of=("auth0_apps",)
    )
    return outputs(tmp_path, result)


def argocd_policy(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    tmp_path = fresh(tmp_path, "argocd")
    result = render_role(
        tmp_path,
        "argocd",
        ARGOCD_TASKS,
        {**SSO_VARS, **overrides},
        defaults_of=("auth0_apps",),
        vars_file=ROOT / "roles/argocd/vars/main.yml",
    )
    return outputs(tmp_path, result)["argocd"]["configs"]["rbac"]


def id_token(groups: list[str] | None) -> dict[str, Any]:
    """An Auth0 ID-token payload (userinfo has the same claims) after the post-login Action ran."""
    token: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "auth0|64f1c0ffee",
        "aud": "grafana-id",
        "iat": 1764633600,
        "exp": 1764669600,
        "email": "jane@example.com",
        "email_verified": True,
        "name": "Jane Doe",
    }
    if groups is not None:
        token[CLAIM] = groups
    return token


@pytest.fixture(scope="module")
def default_grafana(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return grafana(tmp_path_factory.mktemp("grafana"))


@pytest.mark.parametrize(
    ("groups", "role"),
    [
        (["gitops-admins"], "Admin"),
        (["gitops-developers", "gitops-admins"], "Admin"),
        (["gitops-developers"], "Editor"),
        (["gitops-viewers"], "Viewer"),
        (["platform-admins", "developers"], None),
        ([], None),
        (None, None),
    ],
)
def test_grafana_roles_follow_the_auth0_role_names(
    default_grafana: dict[str, Any], groups: list[str] | None, role: str | None
) -> None:
    """Admins are Grafana Admins, developers Editors, viewers Viewers; anyone else is refused.

    Grafana generic OAuth (grafana.com docs, configure-security/configure-authentication/
    generic-oauth, "Configure role mapping"): "If no valid role is found, the user is assigned the
    role specified by the auto_assign_org_role option. You can disable this default role
    assignment by setting role_attribute_strict = true. This setting denies user access if no role
    or an invalid role is returned after evaluating the role_attribute_path and the org_mapping
    expressions." So the expression has no ``'Viewer'`` fallback and ``role_attribute_strict`` is
    true: a tenant user in no platform group gets no Grafana account (``allow_sign_up`` creates
    users only after the role check passed). On main every signed-in user was a Viewer (all Loki
    logs). JMESPath spec: "An identifier can also be quoted ... quoted-string" — the namespaced
    claim holds ``:`` and ``/`` so it must be the quoted identifier ``"https://doks.gitops/groups"``.
    """
    ini = default_grafana["kps"]["grafana"]["grafana.ini"]["auth.generic_oauth"]
    path = ini["role_attribute_path"]
    assert '"https://doks.gitops/groups"' in path
    assert ini["role_attribute_strict"] is True
    assert "org_mapping" not in ini  # the only role source is role_attribute_path
    assert grafana_login(ini, id_token(groups)) == role


def test_grafana_reads_only_the_namespaced_claim(default_grafana: dict[str, Any]) -> None:
    """The roles come from the post-login Action's namespaced claim alone: a plain ``groups`` claim
    (which an identity provider or another Action may add) grants nothing."""
    ini = default_grafana["kps"]["grafana"]["grafana.ini"]["auth.generic_oauth"]
    assert grafana_login(ini, {**id_token([]), "groups": ["gitops-admins"]}) is None
    assert grafana_login(ini, {**id_token(None), "groups": ["gitops-admins"]}) is None


def grafana_login(ini: dict[str, Any], claims: dict[str, Any]) -> str | None:
    """The role Grafana gives, None when it refuses the login.

    Grafana's ``util.SearchJSONForStringAttr`` keeps a string result and turns anything else
    (``false``/``null`` from a failed ``&&`` chain) into ``""``; an empty or unknown role with
    ``role_attribute_strict`` denies the login (valid org roles: ``None``, ``Viewer``, ``Editor``,
    ``Admin``).
    """
    found = jmespath.search(ini["role_attribute_path"], claims)
    role = found if isinstance(found, str) else ""
    if role in ("None", "Viewer", "Editor", "Admin"):
        return role
    assert ini["role_attribute_strict"] is True, "without role_attribute_strict Grafana would assign a default role"
    return None


def test_grafana_follows_another_prefix_and_group_list(tmp_path: Path) -> None:
    """The names come from ``auth0_apps_groups`` + ``auth0_apps_role_prefix``, never a literal."""
    groups = {"admins": {"description": "a"}, "developers": {"description": "d"}}
    rendered = grafana(tmp_path, auth0_apps_role_prefix="acme-", auth0_apps_groups=groups)
    assert rendered["names"] == {"admins": "acme-admins", "developers": "acme-developers"}
    path = rendered["kps"]["grafana"]["grafana.ini"]["auth.generic_oauth"]["role_attribute_path"]
    assert jmespath.search(path, id_token(["acme-admins"])) == "Admin"
    assert jmespath.search(path, id_token(["acme-developers"])) == "Editor"
    assert jmespath.search(path, id_token(["gitops-admins"])) in (None, False)


def test_an_inventory_mapping_still_wins(tmp_path: Path) -> None:
    rendered = grafana(tmp_path, observability_grafana_admin_groups=["sre"], observability_grafana_editor_groups=[])
    path = rendered["kps"]["grafana"]["grafana.ini"]["auth.generic_oauth"]["role_attribute_path"]
    assert jmespath.search(path, id_token(["sre"])) == "Admin"
    assert jmespath.search(path, id_token(["gitops-admins", "gitops-developers"])) in (None, False)
    assert jmespath.search(path, id_token(["gitops-viewers"])) == "Viewer"


@pytest.mark.parametrize(
    "overrides",
    [{}, {"auth0_apps_role_prefix": "acme-", "auth0_apps_groups": {"ops": {}, "admins": {"members": []}}}],
)
def test_the_names_are_the_roles_auth0_apps_creates(tmp_path: Path, overrides: dict[str, Any]) -> None:
    """The one rule: gitops_sso_group_names equals the Auth0 role names of auth0_apps' roles.yml.j2."""
    auth0 = fresh(tmp_path, "auth0")
    created = outputs(
        auth0, render_role(auth0, "auth0_apps", AUTH0_TASKS, {**SSO_VARS, **AUTH0_CONNECTION, **overrides})
    )["roles"]
    names = grafana(tmp_path, **overrides)
    assert sorted(names["names"].values()) == sorted(r["name"] for r in created)


def test_the_fallback_equals_auth0_apps_defaults() -> None:
    """Plays without auth0_apps (molecule) fall back to auth0_apps' own defaults, not other names."""
    gitops = (ROOT / "roles/gitops/defaults/main.yml").read_text()
    auth0 = yaml.safe_load((ROOT / "roles/auth0_apps/defaults/main.yml").read_text())
    fallback = "{" + ", ".join(f"'{key}': {{}}" for key in auth0["auth0_apps_groups"]) + "}"
    assert gitops.count(f"auth0_apps_groups | default({fallback})") == 2
    assert f"auth0_apps_role_prefix | default('{auth0['auth0_apps_role_prefix']}')" in gitops


def argocd_enforcer(rbac: dict[str, Any]) -> casbin.Enforcer:
    model = casbin.Enforcer.new_model(text=ARGOCD_MODEL)
    enforcer = casbin.Enforcer(model)
    # policy.matchMode glob: util/rbac/rbac.go globMatchFunc returns `glob.Match(pattern, val)`
    # (util/glob: gobwas/glob compiled without separators, so `*` also matches `/`), v3.4.4.
    enforcer.add_function("globOrRegexMatch", fnmatch.fnmatchcase)
    for line in (ARGOCD_BUILTIN_POLICY + rbac["policy.csv"]).splitlines():
        fields = [f.strip() for f in line.split(",")]
        if fields[0] == "p":
            enforcer.add_policy(*fields[1:])
        elif fields[0] == "g":
            enforcer.add_grouping_policy(*fields[1:])
    return enforcer


def argocd_allows(rbac: dict[str, Any], groups: list[str], res: str, act: str, obj: str) -> bool:
    """Argo CD's EnforceClaims: the default role, then every group of the scopes claim."""
    enforcer = argocd_enforcer(rbac)
    subjects = [rbac["policy.default"], *groups]
    return any(enforcer.enforce(s, res, act, obj) for s in subjects if s)


@pytest.fixture(scope="module")
def default_rbac(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return argocd_policy(tmp_path_factory.mktemp("argocd"))


def test_argocd_maps_every_platform_group(default_rbac: dict[str, Any]) -> None:
    """Argo CD RBAC: "g, <user/group>, <role>" assigns a group of the claim named in ``scopes``.

    (argo-cd docs operator-manual/rbac.md at v3.4.4: "scopes ... the groups claim" and
    "g, my-org:team-beta, role:admin"); on main ``argocd_rbac_group_roles`` was empty.
    """
    lines = default_rbac["policy.csv"].splitlines()
    assert "g, gitops-admins, role:admin" in lines
    assert "g, gitops-developers, role:developer" in lines
    assert "g, gitops-viewers, role:readonly" in lines
    assert default_rbac["scopes"] == f"[{CLAIM}]"


@pytest.mark.parametrize(
    ("groups", "request_", "allowed"),
    [
        (["gitops-admins"], ("clusters", "create", "*"), True),
        (["gitops-admins"], ("applications", "delete", "platform/argocd"), True),
        (["gitops-developers"], ("applications", "sync", "applications/lofi"), True),
        (["gitops-developers"], ("applications", "action/apps/Deployment/restart", "applications/lofi"), True),
        (["gitops-developers"], ("applications", "sync", "platform/argocd"), False),
        (["gitops-developers"], ("applications", "sync", "apps-root/lofi-apps"), False),
        (["gitops-developers"], ("applications", "delete", "applications/lofi"), False),
        (["gitops-developers"], ("clusters", "create", "*"), False),
        (["gitops-viewers"], ("applications", "get", "platform/argocd"), True),
        (["gitops-viewers"], ("applications", "sync", "applications/lofi"), False),
        (["platform-admins"], ("applications", "sync", "applications/lofi"), False),
        (["platform-admins"], ("applications", "get", "applications/lofi"), False),
        ([], ("applications", "get", "applications/lofi"), False),
        ([], ("logs", "get", "applications/lofi"), False),
        (["gitops-viewers"], ("logs", "get", "applications/lofi"), True),
    ],
)
def test_argocd_policy_judged_by_casbin(
    default_rbac: dict[str, Any], groups: list[str], request_: tuple[str, str, str], allowed: bool
) -> None:
    """Argo CD's own Casbin model decides: admins admin, developers sync their apps, viewers read.

    A user in no platform group gets nothing: argo-helm argo-cd chart values.yaml (10.1.1),
    ``configs.rbac."policy.default"``: "The name of the default role which Argo CD will falls back
    to, when authorizing API requests (optional). If omitted or empty, users may be still be able
    to login, but will see no apps, projects, etc..."; builtin-policy.csv at v3.4.4 grants
    ``role:readonly`` ``logs, get``, so on main (``policy.default: role:readonly``) every user of
    the tenant read every application and its logs.
    """
    assert default_rbac["policy.default"] == ""
    assert argocd_allows(default_rbac, groups, *request_) is allowed


def test_argocd_names_follow_the_prefix_and_can_be_overridden(tmp_path: Path) -> None:
    rbac = argocd_policy(fresh(tmp_path, "a"), auth0_apps_role_prefix="acme-")
    assert argocd_allows(rbac, ["acme-admins"], "clusters", "create", "*")
    assert not argocd_allows(rbac, ["gitops-admins"], "clusters", "create", "*")
    rbac = argocd_policy(fresh(tmp_path, "b"), argocd_rbac_group_roles={"sre": "role:admin"})
    assert argocd_allows(rbac, ["sre"], "clusters", "create", "*")
    assert not argocd_allows(rbac, ["gitops-admins"], "clusters", "create", "*")


GATES_PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files: {files}
  tasks:
    - name: Write the allowed groups of both gates
      ansible.builtin.copy:
        dest: "{out}"
        content: "{{{{ {{'oauth2_proxy': ingress_certmanager_oauth2_proxy_allowed_groups,
                       'tekton': tekton_dashboard_allowed_groups}} | to_json }}}}"
        mode: "0600"
"""


def test_gates_allow_the_platform_groups(tmp_path: Path) -> None:
    """oauth2-proxy lets every platform group in; the read-write Tekton Dashboard admins and developers.

    oauth2-proxy ``--allowed-group``: "restrict logins to members of this group (may be given
    multiple times)" (oauth2-proxy docs, configuration/overview, v7.15); on main both lists were
    empty, so every user of the tenant passed both gates.
    """
    files = [
        ROOT / "roles" / r / "defaults/main.yml" for r in ("gitops", "auth0_apps", "ingress_certmanager", "tekton")
    ]
    out = tmp_path / "gates.json"
    (tmp_path / "play.yml").write_text(GATES_PLAY.format(files=json.dumps([str(f) for f in files]), out=out))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"), "ANSIBLE_NOCOLOR": "1"}
    result = ansible_playbook(["play.yml"], cwd=tmp_path, env=env, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(out.read_text()) == {
        "oauth2_proxy": ["gitops-admins", "gitops-developers", "gitops-viewers"],
        "tekton": ["gitops-admins", "gitops-developers"],
    }
