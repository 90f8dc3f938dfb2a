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
api_calls:
  description: HTTP attempts this run made, by method (token request included under POST).
  returned: always
  type: dict
  sample: {GET: 6, POST: 1}
"""

import re
import time
from typing import Any, Callable

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.doks.gitops.plugins.module_utils.auth0 import AUTH0_ARGSPEC, Auth0Client, path_id
from ansible_collections.doks.gitops.plugins.module_utils.rest import ApiError

MARKER = "managed_by"
TRIGGER = "post-login"
SET_FIELDS = ("callbacks", "allowed_logout_urls", "web_origins", "allowed_origins", "grant_types")
SCALAR_FIELDS = ("app_type", "description", "token_endpoint_auth_method", "initiate_login_uri", "oidc_conformant")
# Client objects sent whole (current values kept) when one of their fields changes.
WHOLE_OBJECTS = ("jwt_configuration",)
FORBIDDEN_EXTRA = {"name", "client_id", "client_secret", "client_metadata", *SET_FIELDS, *SCALAR_FIELDS}
# PATCH /connections/{id}/clients: "the limit per PATCH request is 50 clients"
# (https://auth0.com/docs/api/management/v2/connections/patch-clients).
CONNECTION_CLIENTS_PER_PATCH = 50
RESERVED_CLAIM_DOMAINS = ("auth0.com", "webtask.io", "webtask.run")

ACTION_CODE = """/**
 * Managed by doks.gitops (auth0_apps): adds the user's roles to the ID and access tokens.
 */
exports.onExecutePostLogin = async (event, api) => {{
  const claim = {claim};
  const roles = (event.authorization && event.authorization.roles) || [];
  api.idToken.setCustomClaim(claim, roles);
  api.accessToken.setCustomClaim(claim, roles);
}};
"""


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


# ---------------------------------------------------------------------- input checks
def validate_claim(claim: str | None) -> str | None:
    """The reason ``claim`` is not a usable namespaced claim, or None."""
    if not claim:
        return "groups_action.claim is required when groups_action.state is present (for example https://example.com/groups)"
    match = re.match(r"^https?://([^/\s]+)/\S+$", claim)
    if not match:
        return (
            f"groups_action.claim {claim!r} must be a namespaced URL such as https://example.com/groups; "
            "plain names like 'groups' or 'roles' are reserved"
        )
    host = match.group(1).lower()
    if any(host == d or host.endswith("." + d) for d in RESERVED_CLAIM_DOMAINS):
        return f"groups_action.claim {claim!r} uses a domain Auth0 reserves ({host}); use your own domain"
    return None


def validate_input(params: dict[str, Any]) -> list[str]:
    errors = []
    names = [a["name"] for a in params["applications"]]
    for name in sorted({n for n in names if names.count(n) > 1}):
        errors.append(f"applications: the name {name!r} is declared more than once")
    for app in params["applications"]:
        if not app["name"].strip():
            errors.append("applications: a name is empty")
        bad = sorted(set(app.get("extra") or {}) & FORBIDDEN_EXTRA)
        jwt_extra = (app.get("extra") or {}).get("jwt_configuration")
        if isinstance(jwt_extra, dict) and "alg" in jwt_extra:
            bad.append("jwt_configuration.alg (signing_alg)")
        if bad:
            errors.append(
                f"applications[{app['name']}].extra: set {', '.join(bad)} with their own options, not in extra"
            )
        if MARKER in (app.get("client_metadata") or {}):
            errors.append(
                f"applications[{app['name']}].client_metadata: the key {MARKER!r} is reserved for the ownership marker"
            )
        for key, value in (app.get("client_metadata") or {}).items():
            if not isinstance(value, str):
                errors.append(f"applications[{app['name']}].client_metadata.{key}: values must be strings")
    connections = params.get("connections")
    if connections is not None:
        if not connections:
            errors.append(
                "connections must name at least one Auth0 connection (the applications would be disabled "
                "everywhere, so nobody could sign in); omit it to leave the connections alone"
            )
        if any(not str(c).strip() for c in connections):
            errors.append("connections: a name is empty")
        for name in sorted({c for c in connections if connections.count(c) > 1}):
            errors.append(f"connections: {name!r} is named more than once")
    return errors + _validate_roles_and_action(params)


def _validate_roles_and_action(params: dict[str, Any]) -> list[str]:
    errors = []
    prefix = params["role_prefix"]
    role_names = [r["name"] for r in params["roles"] or []]
    for name in sorted({n for n in role_names if role_names.count(n) > 1}):
        errors.append(f"roles: the name {name!r} is declared more than once")
    if params["roles"] and not prefix:
        errors.append("role_prefix must not be empty: it tells the roles this module owns")
    for name in role_names:
        if not name.startswith(prefix) or name == prefix:
            errors.append(f"roles: {name!r} must start with role_prefix {prefix!r} (and say more than it)")
    for role in params["roles"] or []:
        if role.get("members_purge") and role.get("members") is None:
            errors.append(
                f"roles[{role['name']}].members_purge needs members: list the members to keep "
                "(an empty list removes every member), or drop members_purge"
            )
    action = params.get("groups_action")
    if action and action["state"] == "present":
        reason = validate_claim(action.get("claim"))
        if reason:
            errors.append(reason)
    return errors


# ---------------------------------------------------------------------- comparison
def _subset(desired: Any, current: Any) -> bool:
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(_subset(v, current.get(k)) for k, v in desired.items())
    return desired == current


def desired_client(app: dict[str, Any], owner: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": app["name"]}
    for key in (*SCALAR_FIELDS, *SET_FIELDS):
        if app.get(key) is not None:
            body[key] = app[key]
    body.update(app.get("extra") or {})
    if app.get("signing_alg"):
        body["jwt_configuration"] = {**(body.get("jwt_configuration") or {}), "alg": app["signing_alg"]}
    body["client_metadata"] = {**(app.get("client_metadata") or {}), MARKER: owner}
    return body


def client_changes(desired: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body that brings ``current`` to ``desired`` (empty when nothing differs)."""
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        have = current.get(key)
        if key == "client_metadata":
            have = have or {}
            meta = {k: v for k, v in value.items() if have.get(k) != v}
            meta.update({k: None for k in have if k not in value})
            if meta:
                patch[key] = meta
        elif key in SET_FIELDS:
            if sorted(set(value)) != sorted(set(have or [])):
                patch[key] = value
        elif not _subset(value, have):
            # Send the whole object, current values kept: the result is the same whether Auth0
            # merges the object or replaces it.
            patch[key] = {**have, **value} if key in WHOLE_OBJECTS and isinstance(have, dict) else value
    return patch


def public_view(client: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """What --diff shows of a client: the managed fields, never a secret."""
    return {k: client.get(k) for k in ["client_id", *keys] if k not in ("client_secret",)}


# ---------------------------------------------------------------------- reconciler
class Reconciler:
    def __init__(self, module: AnsibleModule, api: Auth0Client) -> None:
        self.module = module
        self.api = api
        self.params = module.params
        self.check = module.check_mode
        self.changed = False
        self.warnings: list[str] = []
        self.before: dict[str, Any] = {"applications": {}, "roles": {}, "action": {}, "connections": {}}
        self.after: dict[str, Any] = {"applications": {}, "roles": {}, "action": {}, "connections": {}}
        self.result: dict[str, Any] = {"applications": {}, "roles": {}, "deleted": {"applications": [], "roles": []}}

    # -------------------------------------------------------------- helpers
    def write(self, method: str, path: str, body: Any = None) -> Any:
        self.changed = True
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
        self.changed = True
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
            self.warnings.append(f"POST {path} got no answer ({lost.message}) but the object was created; using it")
        return created

    # -------------------------------------------------------------- read + plan
    def run(self) -> dict[str, Any]:
        self.api.token()
        if self.params["return_secrets"] and "read:client_keys" not in self.api.scopes:
            raise ApiError(
                "return_secrets needs the read:client_keys scope, which the management client's token lacks; "
                "authorise the client for it on the Auth0 Management API or set return_secrets: false"
            )
        clients = self.read_clients()
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
        calls: dict[str, int] = {}
        for method, _url, _status in self.api.calls:
            calls[method] = calls.get(method, 0) + 1
        self.result["api_calls"] = calls
        return self.result

    def owned_clients(self) -> list[dict[str, Any]]:
        owner = self.params["owner"]
        return [
            c
            for c in self.api.offset_pages("/clients", "clients", {"is_global": "false"})
            if (c.get("client_metadata") or {}).get(MARKER) == owner
        ]

    def read_clients(self) -> dict[str, dict[str, Any]]:
        by_name: dict[str, list[dict[str, Any]]] = {}
        for client in self.owned_clients():
            by_name.setdefault(client.get("name", ""), []).append(client)
        dupes = {n: cs for n, cs in by_name.items() if len(cs) > 1}
        if dupes:
            detail = "; ".join(f"{n!r}: {', '.join(c['client_id'] for c in cs)}" for n, cs in sorted(dupes.items()))
            raise ApiError(
                f"two or more clients owned by {self.params['owner']!r} share a name ({detail}); "
                "delete the extra one(s) in Auth0 or remove their client_metadata.managed_by marker, then re-run"
            )
        return {name: cs[0] for name, cs in by_name.items()}

    def read_connections(self) -> dict[str, str] | None:
        """Name -> id of the tenant's connections (checkpoint paging); every named one must exist."""
        if self.params.get("connections") is None:
            return None
        query = {"fields": "id,name", "include_fields": "true"}
        found = {c["name"]: c["id"] for c in self.api.checkpoint_pages("/connections", "connections", query)}
        missing = [n for n in self.params["connections"] if n not in found]
        if missing:
            raise ApiError(
                f"connections: {', '.join(repr(n) for n in missing)} is not a connection of the tenant "
                f"(it has: {', '.join(sorted(found)) or 'none'}); create it in Auth0 (Authentication) or "
                "name an existing one (auth0_apps_connections in the doks.gitops roles)"
            )
        return found

    def apply_connections(self, connections: dict[str, str]) -> None:
        """Enable the declared applications on the named connections and disable them on the others
        (one GET per connection; a PATCH only where something changes; other clients untouched)."""
        named = set(self.params["connections"])
        ours = {
            entry["client_id"]: name
            for name, entry in self.result["applications"].items()
            if entry.get("client_id") is not None
        }
        pending = sorted(n for n, e in self.result["applications"].items() if e.get("client_id") is None)
        self.result["connections"] = {}
        for conn_name, conn_id in sorted(connections.items()):
            path = f"/connections/{path_id(conn_id)}/clients"
            enabled = {c["client_id"] for c in self.api.checkpoint_pages(path, "clients")} & set(ours)
            want = set(ours) if conn_name in named else set()
            changes = [{"client_id": cid, "status": True} for cid in sorted(want - enabled)]
            changes += [{"client_id": cid, "status": False} for cid in sorted(enabled - want)]
            before = sorted(ours[c] for c in enabled)
            after = sorted([ours[c] for c in want] + (pending if conn_name in named else []))
            if conn_name not in named and not enabled:
                continue
            self.result["connections"][conn_name] = {
                "id": conn_id,
                "applications": after,
                "action": "updated" if changes or after != before else "unchanged",
            }
            if after != before:
                self.before["connections"][conn_name] = before
                self.after["connections"][conn_name] = after
            for start in range(0, len(changes), CONNECTION_CLIENTS_PER_PATCH):
                self.write("PATCH", path, changes[start : start + CONNECTION_CLIENTS_PER_PATCH])

    def read_roles(self) -> dict[str, dict[str, Any]]:
        prefix = self.params["role_prefix"]
        if self.params["roles"] is None or (not self.params["roles"] and not self.params["purge"]):
            return {}
        roles = self.api.offset_pages("/roles", "roles", {"name_filter": prefix})
        return {r["name"]: r for r in roles if r["name"].startswith(prefix)}

    def read_action(self) -> dict[str, Any] | None:
        spec = self.params.get("groups_action")
        if not spec:
            return None
        found = list(self.api.action_pages("/actions/actions", "actions", {"actionName": spec["name"]}))
        return next((a for a in found if a.get("name") == spec["name"]), None)

    # -------------------------------------------------------------- clients
    def apply_clients(self, owned: dict[str, dict[str, Any]]) -> None:
        owner = self.params["owner"]
        for app in self.params["applications"]:
            desired = desired_client(app, owner)
            keys = [k for k in desired if k != "name"]
            current = owned.get(app["name"])
            if current is None:
                self.before["applications"][app["name"]] = {}
                self.after["applications"][app["name"]] = public_view(desired, ["name", *keys])
                created = self.create("/clients", desired, lambda name=app["name"]: self.find_client(name))
                entry: dict[str, Any] = {
                    "client_id": created.get("client_id") if created else None,
                    "action": "created",
                }
                if self.params["return_secrets"] and created:
                    entry["client_secret"] = created.get("client_secret")
                self.result["applications"][app["name"]] = entry
                continue
            patch = client_changes(desired, current)
            entry = {"client_id": current["client_id"], "action": "updated" if patch else "unchanged"}
            if patch:
                self.before["applications"][app["name"]] = public_view(current, list(patch))
                after = {**current, **patch}
                if "client_metadata" in patch:
                    after["client_metadata"] = desired["client_metadata"]
                self.after["applications"][app["name"]] = public_view(after, list(patch))
                self.write("PATCH", f"/clients/{path_id(current['client_id'])}", patch)
            if self.params["return_secrets"]:
                entry["client_secret"] = current.get("client_secret")
            self.result["applications"][app["name"]] = entry
        if self.params["purge"]:
            declared = {a["name"] for a in self.params["applications"]}
            for name, client in sorted(owned.items()):
                if name not in declared:
                    self.before["applications"][name] = public_view(client, ["name"])
                    self.after["applications"][name] = {}
                    self.write("DELETE", f"/clients/{path_id(client['client_id'])}")
                    self.result["deleted"]["applications"].append(client["client_id"])

    def find_client(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.owned_clients() if c.get("name") == name), None)

    # -------------------------------------------------------------- roles
    def apply_roles(self, owned: dict[str, dict[str, Any]]) -> None:
        if self.params["roles"] is None:
            return
        for spec in self.params["roles"]:
            current = owned.get(spec["name"])
            entry: dict[str, Any]
            if current is None:
                self.before["roles"][spec["name"]] = {}
                self.after["roles"][spec["name"]] = {"name": spec["name"], "description": spec["description"]}
                body = {"name": spec["name"], "description": spec["description"]}
                created = self.create("/roles", body, lambda name=spec["name"]: self.find_role(name), shared=True)
                entry = {"id": created.get("id") if created else None, "action": "created"}
                members: list[str] = []
            else:
                entry = {"id": current["id"], "action": "unchanged"}
                if (current.get("description") or "") != spec["description"]:
                    self.before["roles"][spec["name"]] = {"description": current.get("description")}
                    self.after["roles"][spec["name"]] = {"description": spec["description"]}
                    self.write("PATCH", f"/roles/{path_id(current['id'])}", {"description": spec["description"]})
                    entry["action"] = "updated"
                members = [] if spec["members"] is None else self.role_members(current["id"])
            if spec["members"] is not None:
                entry["members"] = self.apply_members(spec, entry, members)
            self.result["roles"][spec["name"]] = entry
        if self.params["purge"]:
            declared = {r["name"] for r in self.params["roles"]}
            for name, role in sorted(owned.items()):
                if name not in declared:
                    self.before["roles"][name] = {"name": name, "id": role["id"]}
                    self.after["roles"][name] = {}
                    self.write("DELETE", f"/roles/{path_id(role['id'])}")
                    self.result["deleted"]["roles"].append(role["id"])

    def find_role(self, name: str) -> dict[str, Any] | None:
        return next(
            (r for r in self.api.offset_pages("/roles", "roles", {"name_filter": name}) if r["name"] == name), None
        )

    def role_members(self, role_id: str) -> list[dict[str, Any]]:
        return list(self.api.checkpoint_pages(f"/roles/{path_id(role_id)}/users", "users"))

    def apply_members(self, spec: dict[str, Any], entry: dict[str, Any], current: list[dict[str, Any]]) -> list[str]:
        wanted = sorted({m.strip().lower() for m in spec["members"]})
        have = {(u.get("email") or "").lower(): u["user_id"] for u in current}
        add_ids: list[str] = []
        found: set[str] = set()
        for email in wanted:
            if email in have:
                continue
            users = self.api.call("GET", "/users-by-email", query={"email": email}) or []
            if users:
                found.add(email)
            if not users:
                message = f"roles[{spec['name']}].members: no Auth0 user has the e-mail {email} yet; not added"
                if self.params["missing_members"] == "fail":
                    raise ApiError(message)
                self.warnings.append(message)
                continue
            add_ids.extend(u["user_id"] for u in users)
        # Members nobody listed (added by hand) stay unless the role's membership is purged.
        remove = sorted(uid for email, uid in have.items() if email not in wanted) if spec["members_purge"] else []
        kept = wanted if spec["members_purge"] else sorted({*wanted, *have})
        if add_ids or remove:
            entry["members_added"] = [e for e in wanted if e not in have and e in found]
            entry["members_removed"] = sorted(email for email, uid in have.items() if uid in remove)
            before = sorted(have)
            self.before["roles"].setdefault(spec["name"], {})["members"] = before
            self.after["roles"].setdefault(spec["name"], {})["members"] = kept
            if entry["action"] == "unchanged":
                entry["action"] = "updated"
        if add_ids and entry.get("id") is not None:
            self.write("POST", f"/roles/{path_id(entry['id'])}/users", {"users": add_ids})
        elif add_ids:
            self.changed = True
        for uid in remove:
            self.write("DELETE", f"/users/{path_id(uid)}/roles", {"roles": [entry["id"]]})
        return kept

    # -------------------------------------------------------------- action
    def apply_action(self, current: dict[str, Any] | None) -> None:
        spec = self.params["groups_action"]
        bindings = list(self.api.action_pages(f"/actions/triggers/{TRIGGER}/bindings", "bindings"))
        if spec["state"] == "absent":
            self.remove_action(current, bindings)
            return
        self.result["groups_claim"] = spec["claim"]
        desired = {
            "name": spec["name"],
            "supported_triggers": [{"id": TRIGGER, "version": "v3"}],
            "code": ACTION_CODE.format(claim=_js_string(spec["claim"])),
            "runtime": spec["runtime"],
            "dependencies": [],
            "secrets": [],
        }
        action = current
        if current is None:
            self.before["action"] = {}
            self.after["action"] = {"name": spec["name"], "claim": spec["claim"], "runtime": spec["runtime"]}
            action = self.create("/actions/actions", desired, self.read_action, shared=True)
            needs_deploy = True
        else:
            patch = {k: desired[k] for k in ("code", "runtime") if current.get(k) != desired[k]}
            triggers = sorted(t.get("id") for t in current.get("supported_triggers") or [])
            if triggers != [TRIGGER]:
                patch["supported_triggers"] = desired["supported_triggers"]
            if patch:
                self.before["action"] = {k: current.get(k) for k in patch}
                self.after["action"] = dict(patch)
                action = self.write("PATCH", f"/actions/actions/{path_id(current['id'])}", patch) or current
            needs_deploy = bool(patch) or not current.get("all_changes_deployed") or not current.get("deployed_version")
        version = (current or {}).get("deployed_version") or {}
        if needs_deploy:
            self.changed = True
            if not self.check and action:
                self.wait_built(action["id"], spec["wait_timeout"])
                version = self.api.call("POST", f"/actions/actions/{path_id(action['id'])}/deploy") or {}
        action_id = action.get("id") if action else None
        bound = any((b.get("action") or {}).get("id") == action_id and action_id for b in bindings)
        if not bound:
            refs = [
                {"ref": {"type": "action_id", "value": b["action"]["id"]}, "display_name": b.get("display_name")}
                for b in bindings
                if b.get("action")
            ]
            refs.append({"ref": {"type": "action_id", "value": action_id}, "display_name": spec["name"]})
            self.before["action"]["bindings"] = [b.get("display_name") for b in bindings]
            self.after["action"]["bindings"] = [r["display_name"] for r in refs]
            self.write("PATCH", f"/actions/triggers/{TRIGGER}/bindings", {"bindings": refs})
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
        rest = [b for b in bindings if (b.get("action") or {}).get("id") != current["id"]]
        self.before["action"] = {"name": current["name"], "bindings": [b.get("display_name") for b in bindings]}
        self.after["action"] = {}
        if len(rest) != len(bindings):
            refs = [
                {"ref": {"type": "action_id", "value": b["action"]["id"]}, "display_name": b.get("display_name")}
                for b in rest
            ]
            self.write("PATCH", f"/actions/triggers/{TRIGGER}/bindings", {"bindings": refs})
        self.write("DELETE", f"/actions/actions/{path_id(current['id'])}")

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


def _js_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> None:
    module = AnsibleModule(argument_spec=_argument_spec(), supports_check_mode=True)
    errors = validate_input(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    api = Auth0Client.from_params(module.params)
    reconciler = Reconciler(module, api)
    try:
        result = reconciler.run()
    except ApiError as exc:
        module.fail_json(msg=exc.message, status=exc.status, changed=reconciler.changed)
    for warning in reconciler.warnings:
        module.warn(warning)
    diff = {"before": reconciler.before, "after": reconciler.after}
    module.exit_json(changed=reconciler.changed, diff=diff, **result)


if __name__ == "__main__":
    main()
