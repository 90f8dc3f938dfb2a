#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: auth0_apps
short_description: Keep Auth0 OIDC applications, groups (roles) and the groups-claim Action converged
version_added: 0.1.0
description:
  - Declares the Auth0 applications (clients), the platform groups (Auth0 roles and their members)
    and the post-login Action that puts the user's roles into the ID and access tokens under a
    namespaced claim. The Action is deployed and bound to the C(post-login) trigger without
    disturbing the other bindings.
  - Objects are matched by name among the objects this module owns. A client is owned when its
    C(client_metadata) holds C(managed_by) equal to O(owner); a role is owned when its name starts
    with O(role_prefix); the Action is owned by its name. Objects it does not own are never
    changed or deleted, even when their names match (Auth0 allows duplicate client names).
  - Two owned clients with the same name is an error that names both client ids; nothing is
    written in that case.
  - Only changed fields are sent. Arrays of URLs and grant types are compared as sets, the way
    Auth0 applies them; a run with nothing to change sends no write. Check mode reports what
    would change and writes nothing; C(--diff) shows before and after without secrets.
  - Calls are retried on 429 and 5xx honouring C(Retry-After) and C(x-ratelimit-reset); a create
    is never repeated (after a timeout or 5xx the module looks the object up, and fails asking to run
    again when it does not exist).
author:
  - doks.gitops maintainers (@doks-gitops)
extends_documentation_fragment:
  - doks.gitops.auth0
  - doks.gitops.api
attributes:
  check_mode:
    support: full
    description: Computes and reports every change without writing.
  diff_mode:
    support: full
    description: Returns before/after of every changed object, without secrets.
  action_group:
    support: full
    membership:
      - doks.gitops.auth0
    description: Use C(module_defaults) with the C(group/doks.gitops.auth0) group for credentials.
options:
  applications:
    description:
      - The applications (OIDC clients) to keep. Each is matched by O(applications[].name) among
        owned clients.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Application name, unique among the declared applications.
        type: str
        required: true
      app_type:
        description: Auth0 application type.
        type: str
        choices: [regular_web, spa, native, non_interactive]
        default: regular_web
      description:
        description: Free-text description.
        type: str
      callbacks:
        description: Allowed callback (redirect) URLs.
        type: list
        elements: str
      allowed_logout_urls:
        description: URLs Auth0 may redirect to after logout.
        type: list
        elements: str
      web_origins:
        description: Allowed web origins (for silent authentication and CORS).
        type: list
        elements: str
      allowed_origins:
        description: Allowed origins for cross-origin requests.
        type: list
        elements: str
      grant_types:
        description: Grant types the application may use, for example V(authorization_code) and V(refresh_token).
        type: list
        elements: str
      token_endpoint_auth_method:
        description: How the application authenticates at the token endpoint.
        type: str
        choices: [none, client_secret_post, client_secret_basic]
      initiate_login_uri:
        description: HTTPS URL Auth0 uses to start a login at the application.
        type: str
      oidc_conformant:
        description:
          - Whether the application follows the OIDC-conformant flows. Auth0 creates clients
            with V(false) when it is not sent; the platform's applications need V(true).
        type: bool
        default: true
      signing_alg:
        description:
          - Algorithm Auth0 signs the application's ID tokens with, sent as
            C(jwt_configuration.alg) and compared on every run (a drifted value is corrected).
          - Auth0 signs with V(HS256) (the client secret) when a client is created without it
            ("Can be C(HS256) (default) or C(RS256)", Management API client type). Argo CD,
            oauth2-proxy and Grafana verify ID tokens against the tenant's JWKS, which needs an
            asymmetric algorithm such as V(RS256).
        type: str
        choices: [RS256, HS256, PS256, RS512]
        default: RS256
      client_metadata:
        description:
          - Extra string metadata. The key C(managed_by) is reserved for the ownership marker.
            Keys present on the client but not declared here are removed.
        type: dict
      extra:
        description:
          - Further client fields sent as they are (for example C(jwt_configuration.lifetime_in_seconds),
            C(refresh_token), C(organization_usage)); compared as a subset of what Auth0 returns.
            C(jwt_configuration.alg) is set with O(applications[].signing_alg).
        type: dict
  roles:
    description:
      - The platform groups, kept as Auth0 roles. Every name must start with O(role_prefix).
      - Omit it to leave roles alone (even with O(purge)); an empty list with O(purge) removes
        every owned role.
    type: list
    elements: dict
    suboptions:
      name:
        description: Role name (starts with O(role_prefix)).
        type: str
        required: true
      description:
        description: Role description.
        type: str
        default: ""
      members:
        description:
          - E-mail addresses of the role's members; omit to leave membership alone. Listed users
            are added; members who are not listed (for example added by hand in the Auth0
            dashboard) are kept unless O(roles[].members_purge) is set. Users are found by
            e-mail; a member without an Auth0 user yet is handled per O(missing_members).
        type: list
        elements: str
      members_purge:
        description:
          - Remove the role's members that O(roles[].members) does not list, so that the list is
            the whole membership. Needs O(roles[].members) (an empty list then removes every
            member). Check mode and C(--diff) show who would be removed.
        type: bool
        default: false
  role_prefix:
    description: Name prefix of the roles this module owns (and may purge).
    type: str
    default: gitops-
  groups_action:
    description:
      - The post-login Action that adds the user's roles to the ID and access tokens under
        O(groups_action.claim). Omit to leave Actions alone.
    type: dict
    suboptions:
      state:
        description: V(present) deploys and binds the Action; V(absent) unbinds and deletes it.
        type: str
        choices: [present, absent]
        default: present
      name:
        description: Action name (the ownership marker of the Action).
        type: str
        default: gitops-groups-claim
      claim:
        description:
          - Namespaced claim name, for example V(https://example.com/groups). Plain names such as
            V(groups) or V(roles) are reserved and refused, as are Auth0's own domains.
        type: str
      runtime:
        description: Node.js runtime of the Action.
        type: str
        default: node22
      wait_timeout:
        description: Seconds to wait for the Action to be built before it is deployed.
        type: float
        default: 60
  connections:
    description:
      - Names of the Auth0 connections the declared applications are enabled on. Each declared
        application is enabled on these connections and disabled on every other connection of
        the tenant; clients this module does not own are never added or removed.
      - A tenant enables every new application on all its connections (tenant flag
        C(enable_client_connections), on by default), among them the default database
        connection C(Username-Password-Authentication), where anyone may sign up. Name the
        connections whose users may sign in (for example the company's enterprise or Google
        Workspace connection).
      - Uses C(GET) and C(PATCH /api/v2/connections/{id}/clients) (scopes C(read:connections),
        C(update:connections)); a name that is not a connection of the tenant fails before any write.
      - Omit it to leave the applications' connections alone.
    type: list
    elements: str
  owner:
    description: Value of C(client_metadata.managed_by) that marks the clients this module owns.
    type: str
    default: doks.gitops
  purge:
    description:
      - Delete owned clients and roles that are not declared. Objects the module does not own are
        never touched.
    type: bool
    default: false
  return_secrets:
    description:
      - Return each application's C(client_secret) (needs the C(read:client_keys) scope). Register
        the result with C(no_log) when you set this.
    type: bool
    default: false
  missing_members:
    description: What to do when a member's e-mail matches no Auth0 user yet.
    type: str
    choices: [warn, fail]
    default: warn
"""

EXAMPLES = r"""
- name: Keep the platform's SSO applications, groups and groups claim
  doks.gitops.auth0_apps:
    domain: example.eu.auth0.com
    client_id: "{{ lookup('ansible.builtin.env', 'AUTH0_CLIENT_ID') }}"
    client_secret: "{{ lookup('ansible.builtin.env', 'AUTH0_CLIENT_SECRET') }}"
    applications:
      - name: argocd
        callbacks: [https://argocd.example.com/auth/callback]
        allowed_logout_urls: [https://argocd.example.com]
        web_origins: [https://argocd.example.com]
        grant_types: [authorization_code, refresh_token]
        token_endpoint_auth_method: client_secret_post
      - name: grafana
        callbacks: [https://grafana.example.com/login/generic_oauth]
    roles:
      - name: gitops-admins
        description: Platform administrators
        members: [alice@example.com]
        members_purge: true  # alice only: anyone else in the role is removed
      - name: gitops-developers
        members: [bob@example.com]  # bob is added; members added by hand stay
      - name: gitops-viewers  # no members: membership left alone
    groups_action:
      claim: https://example.com/groups
    purge: true
    return_secrets: true
  register: sso
  no_log: true

- name: Preview the changes without writing (credentials from AUTH0_* environment variables)
  doks.gitops.auth0_apps:
    applications:
      - name: grafana
        callbacks: [https://grafana.example.com/login/generic_oauth]
  check_mode: true
  diff: true
"""

RETURN = r"""
applications:
  description:
    - Per declared application (by name) its C(client_id), what was done (C(created), C(updated),
      C(unchanged)) and, with O(return_secrets), its C(client_secret). Register the result with
      C(no_log) when secrets are returned.
  returned: always
  type: dict
  sample:
    argocd: {client_id: 0yTiOaBvLwYTUSMKw4ssLqZnDy1LlkGu, action: unchanged}
roles:
  description:
    - Per declared role its C(id), C(action) and, when O(roles[].members) is set, its member
      e-mails after the run (C(members)) and, when the membership changes, who was added
      (C(members_added)) and removed (C(members_removed); only with O(roles[].members_purge)).
  returned: always
  type: dict
  sample:
    gitops-admins: {id: rol_9kE4Vn0R6bD2aQ1z, action: created, members: [alice@example.com],
                    members_added: [alice@example.com], members_removed: []}
connections:
  description:
    - With O(connections), per connection that is named or had a declared application enabled, its
      C(id), the declared applications enabled on it after the run (C(applications)) and C(action)
      (C(updated) or C(unchanged)).
  returned: when O(connections) is set
  type: dict
  sample:
    corporate-sso: {id: con_8Xr2bGdL0q4TmZ1a, applications: [argocd, grafana], action: unchanged}
deleted:
  description: Ids of the owned clients and roles removed by O(purge).
  returned: always
  type: dict
  sample: {applications: [], roles: []}
action:
  description: The groups-claim Action (id, name, deployed version number, whether it is bound).
  returned: when O(groups_action) is set
  type: dict
  sample: {id: 7d2c5e60-3a0c-4f1b-9a2e-2a1f0c9d7e11, name: gitops-groups-claim, version: 1, bound: true}
issuer:
  description: OIDC issuer URL of the tenant, with the trailing slash.
  returned: always
  type: str
  sample: https://example.eu.auth0.com/
groups_claim:
  description: The claim the Action writes the user's roles to.
  returned: when O(groups_action) is set
  type: str
  sample: https://example.com/groups
actions:
  description:
    - What the run did (or would do in check mode), one sentence each; also returned on failure,
      up to the step that failed. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample:
    - create application grafana
    - add alice@example.com to role gitops-admins
    - deploy Action gitops-groups-claim
api_calls:
  description:
    - HTTP attempts this run made, by kind (also on failure). The token request changes nothing
      on the tenant and counts under C(get); C(write) is 0 when nothing was sent that could
      change the tenant.
  returned: always
  type: dict
  sample: {get: 7, write: 0}
"""

import time
from typing import Any, Callable

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.doks.gitops.plugins.module_utils import auth0
from ansible_collections.doks.gitops.plugins.module_utils.auth0 import AUTH0_ARGSPEC, TRIGGER, Auth0Client, path_id
from ansible_collections.doks.gitops.plugins.module_utils.rest import ApiError, Run, run_module


def _argument_spec() -> dict[str, Any]:
    app = {
        "name": {"type": "str", "required": True},
        "app_type": {
            "type": "str",
            "default": "regular_web",
            "choices": ["regular_web", "spa", "native", "non_interactive"],
        },
        "description": {"type": "str"},
        "callbacks": {"type": "list", "elements": "str"},
        "allowed_logout_urls": {"type": "list", "elements": "str"},
        "web_origins": {"type": "list", "elements": "str"},
        "allowed_origins": {"type": "list", "elements": "str"},
        "grant_types": {"type": "list", "elements": "str"},
        "token_endpoint_auth_method": {"type": "str", "choices": ["none", "client_secret_post", "client_secret_basic"]},
        "initiate_login_uri": {"type": "str"},
        "oidc_conformant": {"type": "bool", "default": True},
        "signing_alg": {"type": "str", "default": "RS256", "choices": ["RS256", "HS256", "PS256", "RS512"]},
        "client_metadata": {"type": "dict"},
        "extra": {"type": "dict"},
    }
    role = {
        "name": {"type": "str", "required": True},
        "description": {"type": "str", "default": ""},
        "members": {"type": "list", "elements": "str"},
        "members_purge": {"type": "bool", "default": False},
    }
    action = {
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "name": {"type": "str", "default": "gitops-groups-claim"},
        "claim": {"type": "str"},
        "runtime": {"type": "str", "default": "node22"},
        "wait_timeout": {"type": "float", "default": 60},
    }
    return {
        **AUTH0_ARGSPEC,
        "applications": {"type": "list", "elements": "dict", "default": [], "options": app},
        "roles": {"type": "list", "elements": "dict", "options": role},
        "role_prefix": {"type": "str", "default": "gitops-"},
        "groups_action": {"type": "dict", "options": action},
        "connections": {"type": "list", "elements": "str"},
        "owner": {"type": "str", "default": "doks.gitops"},
        "purge": {"type": "bool", "default": False},
        "return_secrets": {"type": "bool", "default": False},
        "missing_members": {"type": "str", "default": "warn", "choices": ["warn", "fail"]},
    }


# ---------------------------------------------------------------------- reconciler
class Reconciler:
    """Reads the tenant, hands what it read to the planning (module_utils/auth0.py), sends the plan."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.api: Auth0Client = run.client
        self.params = run.params
        self.check = run.check
        self.before: dict[str, Any] = {"applications": {}, "roles": {}, "action": {}, "connections": {}}
        self.after: dict[str, Any] = {"applications": {}, "roles": {}, "action": {}, "connections": {}}
        self.result: dict[str, Any] = {"applications": {}, "roles": {}, "deleted": {"applications": [], "roles": []}}

    # -------------------------------------------------------------- helpers
    def did(self, action: str) -> None:
        """Record one change (done, or in check mode to be done) for the result's ``actions``."""
        self.run.actions.append(action)

    def write(self, method: str, path: str, body: Any = None) -> Any:
        if self.check:
            return None
        return self.api.call(method, path, body)

    def create(
        self,
        path: str,
        body: dict[str, Any],
        lookup: Callable[[], dict[str, Any] | None],
        shared: bool = False,
    ) -> dict[str, Any] | None:
        """POST a new object once (:meth:`rest.JsonClient.create_once`): after a timeout or 5xx it is
        looked up, and the run fails asking to run again when it never shows up.

        A ``shared`` object (a role, the Action: one per tenant, unique by name) that answers 409
        was created since it was read, by the run of another cluster on the same tenant (several
        clusters of one inventory converge in parallel): look it up and use it.
        """
        if self.check:
            return None
        try:
            created, lost = self.api.http.create_once(lambda: self.api.call("POST", path, body), lookup, "the object")
        except ApiError as exc:
            found = lookup() if shared and exc.status == 409 else None
            if found is None:
                raise
            return found
        if lost is not None:
            self.run.module.warn(f"POST {path} got no answer ({lost.message}) but the object was created; using it")
        return created

    def show(self, section: str, name: str, diff: tuple[Any, Any] | None, key: str | None = None) -> None:
        """Record a planned step's ``(before, after)`` for --diff (under ``key`` of the object when given)."""
        if diff is None:
            return
        if key is None:
            self.before[section][name], self.after[section][name] = diff
        else:
            self.before[section].setdefault(name, {})[key] = diff[0]
            self.after[section].setdefault(name, {})[key] = diff[1]

    # -------------------------------------------------------------- read
    def reconcile(self) -> dict[str, Any]:
        self.api.token()
        problem = auth0.scope_problem(self.params, self.api.scopes)
        if problem:
            raise ApiError(problem)
        clients = auth0.clients_by_name(self.owned_clients(), self.params["owner"])
        connections = self.read_connections()
        roles = self.read_roles()
        action = self.read_action()
        self.apply_clients(clients)
        if connections is not None:
            self.apply_connections(connections)
        self.apply_roles(roles)
        if self.params.get("groups_action"):
            self.apply_action(action)
        self.result["issuer"] = self.api.issuer
        self.result["diff"] = {"before": self.before, "after": self.after}
        return self.result

    def owned_clients(self) -> list[dict[str, Any]]:
        clients = self.api.offset_pages("/clients", "clients", {"is_global": "false"})
        return auth0.owned_clients(clients, self.params["owner"])

    def read_connections(self) -> dict[str, str] | None:
        """Name -> id of the tenant's connections (checkpoint paging); every named one must exist."""
        if self.params.get("connections") is None:
            return None
        query = {"fields": "id,name", "include_fields": "true"}
        found = self.api.checkpoint_pages("/connections", "connections", query)
        return auth0.connections_by_name(found, self.params["connections"])

    def read_roles(self) -> dict[str, dict[str, Any]]:
        if not auth0.reads_roles(self.params):
            return {}
        prefix = self.params["role_prefix"]
        return auth0.owned_roles(self.api.offset_pages("/roles", "roles", {"name_filter": prefix}), prefix)

    def read_action(self) -> dict[str, Any] | None:
        spec = self.params.get("groups_action")
        if not spec:
            return None
        found = list(self.api.action_pages("/actions/actions", "actions", {"actionName": spec["name"]}))
        return auth0.first_named(found, spec["name"])

    # -------------------------------------------------------------- clients
    def apply_clients(self, owned: dict[str, dict[str, Any]]) -> None:
        for step in auth0.plan_clients(self.params, owned):
            name = step["name"]
            self.show("applications", name, step["diff"])
            if step["op"] == "create":
                created = self.create("/clients", step["body"], lambda name=name: self.find_client(name))
                self.did(f"create application {name}")
                self.result["applications"][name] = auth0.created_client(created, self.params["return_secrets"])
            elif step["op"] == "delete":
                self.write("DELETE", f"/clients/{path_id(step['client_id'])}")
                self.did(f"delete application {name} ({step['client_id']})")
                self.result["deleted"]["applications"].append(step["client_id"])
            else:
                if step["op"] == "update":
                    self.write("PATCH", f"/clients/{path_id(step['client_id'])}", step["body"])
                    self.did(f"update application {name}: {', '.join(sorted(step['body']))}")
                self.result["applications"][name] = step["entry"]

    def find_client(self, name: str) -> dict[str, Any] | None:
        return auth0.first_named(self.owned_clients(), name)

    # -------------------------------------------------------------- connections
    def apply_connections(self, connections: dict[str, str]) -> None:
        """Enable the declared applications on the named connections and disable them on the others
        (one GET per connection; a PATCH only where something changes; other clients untouched)."""
        named = set(self.params["connections"])
        ours, pending = auth0.connection_targets(self.result["applications"])
        self.result["connections"] = {}
        for conn_name, conn_id in sorted(connections.items()):
            path = f"/connections/{path_id(conn_id)}/clients"
            enabled = [c["client_id"] for c in self.api.checkpoint_pages(path, "clients")]
            step = auth0.plan_connection(conn_id, conn_name in named, ours, pending, enabled)
            if step is None:
                continue
            self.result["connections"][conn_name] = step["entry"]
            self.show("connections", conn_name, step["diff"])
            for body in step["patches"]:
                self.write("PATCH", path, body)
            if step["action"]:
                self.did(f"{step['action']} on connection {conn_name}")

    # -------------------------------------------------------------- roles
    def apply_roles(self, owned: dict[str, dict[str, Any]]) -> None:
        for step in auth0.plan_roles(self.params, owned):
            name = step["name"]
            self.show("roles", name, step["diff"])
            if step["op"] == "delete":
                self.write("DELETE", f"/roles/{path_id(step['id'])}")
                self.did(f"delete role {name}")
                self.result["deleted"]["roles"].append(step["id"])
                continue
            if step["op"] == "create":
                created = self.create("/roles", step["body"], lambda name=name: self.find_role(name), shared=True)
                self.did(f"create role {name}")
                entry: dict[str, Any] = {"id": created.get("id") if created else None, "action": "created"}
            else:
                entry = {"id": step["id"], "action": "unchanged"}
                if step["op"] == "update":
                    entry["action"] = "updated"
                    self.write("PATCH", f"/roles/{path_id(step['id'])}", step["body"])
                    self.did(f"update role {name}: description")
            if step["spec"]["members"] is not None:
                self.apply_members(step, entry)
            self.result["roles"][name] = entry

    def find_role(self, name: str) -> dict[str, Any] | None:
        return auth0.first_named(self.api.offset_pages("/roles", "roles", {"name_filter": name}), name)

    def apply_members(self, step: dict[str, Any], entry: dict[str, Any]) -> None:
        """Add the listed members (looked up by e-mail) and, with members_purge, remove the others."""
        current = (
            []
            if step["id"] is None
            else list(self.api.checkpoint_pages(f"/roles/{path_id(step['id'])}/users", "users"))
        )

        def users_by_email(email: str) -> list[dict[str, Any]] | None:
            return self.api.call("GET", "/users-by-email", query={"email": email})

        plan = auth0.plan_members(step["spec"], current, users_by_email, self.params["missing_members"])
        for warning in plan["warnings"]:
            self.run.module.warn(warning)
        if plan["diff"] is not None:
            entry["members_added"] = plan["added"]
            entry["members_removed"] = plan["removed"]
            self.show("roles", step["name"], plan["diff"], key="members")
            if entry["action"] == "unchanged":
                entry["action"] = "updated"
        if plan["add"] and entry.get("id") is not None:
            self.write("POST", f"/roles/{path_id(entry['id'])}/users", {"users": plan["add"]})
        if plan["add"]:
            self.did(f"add {', '.join(plan['added'])} to role {step['name']}")
        for uid in plan["remove"]:
            self.write("DELETE", f"/users/{path_id(uid)}/roles", {"roles": [entry["id"]]})
        if plan["remove"]:
            self.did(f"remove {', '.join(plan['removed'])} from role {step['name']}")
        entry["members"] = plan["members"]

    # -------------------------------------------------------------- action
    def apply_action(self, current: dict[str, Any] | None) -> None:
        spec = self.params["groups_action"]
        bindings = list(self.api.action_pages(f"/actions/triggers/{TRIGGER}/bindings", "bindings"))
        if spec["state"] == "absent":
            self.remove_action(current, bindings)
            return
        self.result["groups_claim"] = spec["claim"]
        plan = auth0.plan_action(spec, current)
        if plan["diff"] is not None:
            self.before["action"], self.after["action"] = plan["diff"]
        action = current
        name = spec["name"]
        if plan["op"] == "create":
            action = self.create("/actions/actions", plan["body"], self.read_action, shared=True)
            self.did(f"create Action {name}")
        elif plan["op"] == "update" and current is not None:
            action = self.write("PATCH", f"/actions/actions/{path_id(current['id'])}", plan["body"]) or current
            self.did(f"update Action {name}: {', '.join(sorted(plan['body']))}")
        version = (current or {}).get("deployed_version") or {}
        if plan["deploy"]:
            if not self.check and action:
                self.wait_built(action["id"], spec["wait_timeout"])
                version = self.api.call("POST", f"/actions/actions/{path_id(action['id'])}/deploy") or {}
            self.did(f"deploy Action {name}")
        action_id = action.get("id") if action else None
        binding = auth0.plan_binding(bindings, action_id, name)
        if binding is not None:
            self.before["action"]["bindings"], self.after["action"]["bindings"] = binding["diff"]
            self.write("PATCH", f"/actions/triggers/{TRIGGER}/bindings", binding["body"])
            self.did(f"bind Action {name} to the {TRIGGER} trigger")
        self.result["action"] = {"id": action_id, "name": spec["name"], "version": version.get("number"), "bound": True}

    def remove_action(self, current: dict[str, Any] | None, bindings: list[dict[str, Any]]) -> None:
        self.result["action"] = {
            "id": None,
            "name": self.params["groups_action"]["name"],
            "version": None,
            "bound": False,
        }
        if current is None:
            return
        plan = auth0.plan_unbind(bindings, current)
        self.before["action"], self.after["action"] = plan["diff"]
        if plan["bindings"] is not None:
            self.write("PATCH", f"/actions/triggers/{TRIGGER}/bindings", plan["bindings"])
            self.did(f"unbind Action {current['name']} from the {TRIGGER} trigger")
        self.write("DELETE", f"/actions/actions/{path_id(current['id'])}")
        self.did(f"delete Action {current['name']}")

    def wait_built(self, action_id: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            action = self.api.call("GET", f"/actions/actions/{path_id(action_id)}")
            status = action.get("status")
            if status == "built":
                return
            if status == "failed":
                raise ApiError(
                    f"the Action {action.get('name')} failed to build: {action.get('errors') or 'no details'}"
                )
            if time.monotonic() + delay > deadline:
                raise ApiError(f"the Action {action.get('name')} is still {status} after {timeout:.0f}s; re-run later")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def main() -> None:
    module = AnsibleModule(argument_spec=_argument_spec(), supports_check_mode=True)
    errors = auth0.validate_input(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    run_module(module, Auth0Client.from_params, lambda run: Reconciler(run).reconcile())


if __name__ == "__main__":
    main()
