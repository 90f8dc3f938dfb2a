# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Auth0 for doks.gitops.auth0_apps: a small Management API v2 client, and the planning as pure functions.

The client (no SDK, on the shared JSON client):

* One access token per client object (client credentials grant), requested on first use.
* Retries, backoff and the "never repeat a create blindly" rule come from
  :mod:`.rest` (:class:`JsonClient`); this module only adds Auth0's token, paging and error
  messages.
* Every list is paged: offset paging (``page``/``per_page``/``include_totals``) stops at
  ``total``; checkpoint paging (``from``/``take``) follows ``next``. One request per page.

The planning (below the client) takes the module's parameters and what the module read, as plain
dicts and lists, and returns what to send and what ``--diff`` shows: the input checks, the desired
client, the compare (URL and grant-type arrays as sets, objects as a subset), the steps for
clients, connections, roles, members and the groups-claim Action. It makes no HTTP call (the
membership plan asks a function given to it for users by e-mail); the module
(plugins/modules/auth0_apps.py) reads, hands over, and sends. Tested without a server in
tests/unit/plugins/module_utils/test_auth0.py.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.doks.gitops.plugins.module_utils import rest
from ansible_collections.doks.gitops.plugins.module_utils.rest import (
    ApiError,
    JsonClient,
    RetryPolicy,
    retry_policy_from_params,
    summarize_body,
)

PER_PAGE = 100
TOKEN_PATH = "/oauth/token"  # noqa: S105 - the token endpoint's path, not a secret

# Argument spec of the doks.gitops.auth0 doc fragment (credentials) + doks.gitops.api.
AUTH0_ARGSPEC: dict[str, Any] = {
    "domain": {"type": "str", "required": True, "fallback": (env_fallback, ["AUTH0_DOMAIN"])},
    "client_id": {"type": "str", "required": True, "fallback": (env_fallback, ["AUTH0_CLIENT_ID"])},
    "client_secret": {
        "type": "str",
        "required": True,
        "no_log": True,
        "fallback": (env_fallback, ["AUTH0_CLIENT_SECRET"]),
    },
    "audience": {"type": "str", "fallback": (env_fallback, ["AUTH0_AUDIENCE"])},
    "timeout": {"type": "float", "default": 30},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "retries": {"type": "int", "default": 5},
    "retry_max_delay": {"type": "float", "default": 30},
}


# What a network or TLS failure's fix names: the module option, then the role variable.
SETTINGS = {
    "url": "domain (auth0_apps_domain in the doks.gitops roles)",
    "ca_path": "ca_path (auth0_apps_ca_path)",
    "timeout": "timeout (auth0_apps_timeout)",
}


def error_message(status: int, body: Any) -> str:
    """Auth0's error bodies as one clear sentence (Management API and /oauth/token shapes)."""
    if isinstance(body, dict):
        code = body.get("errorCode") or body.get("error")
        message = body.get("message") or body.get("error_description") or ""
        if body.get("errorCode") == "insufficient_scope":
            scopes = message.partition("expected any of:")[2].strip() or "?"
            return (
                f"the management client lacks the scope {scopes} this call needs (HTTP 403: {message}); "
                "authorise it for the Auth0 Management API with that scope"
            )
        if status == 401 and body.get("error") == "access_denied":
            return f"HTTP 401 access_denied: {message or 'Unauthorized'}; check client_id and client_secret"
        if status == 403 and body.get("error") == "access_denied":
            return f"HTTP 403 access_denied: {message}; authorise the client for the audience"
        return f"HTTP {status} {code or ''}: {message}".replace("  ", " ").strip()
    return f"HTTP {status}: {summarize_body(body)}"


class Auth0Client:
    """Auth0 Management API v2. ``calls`` lists every HTTP attempt (method, URL, status)."""

    def __init__(
        self,
        domain: str,
        client_id: str,
        client_secret: str,
        *,
        audience: str | None = None,
        timeout: float = 30.0,
        validate_certs: bool = True,
        ca_path: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.domain = domain.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
        self.audience = audience or f"https://{self.domain}/api/v2/"
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None
        self.scopes: set[str] = set()
        self.http = JsonClient(
            f"https://{self.domain}",
            timeout=timeout,
            validate_certs=validate_certs,
            ca_path=ca_path,
            retry=retry,
            error_message=error_message,
            user_agent="doks.gitops-auth0",
            settings=SETTINGS,
        )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Auth0Client:
        return cls(
            params["domain"],
            params["client_id"],
            params["client_secret"],
            audience=params.get("audience"),
            timeout=float(params.get("timeout") or 30),
            validate_certs=bool(params.get("validate_certs", True)),
            ca_path=params.get("ca_path"),
            retry=retry_policy_from_params(params),
        )

    @property
    def calls(self) -> list[tuple[str, str, int | None]]:
        return self.http.calls

    def counts(self) -> dict[str, int]:
        """HTTP attempts made so far as the module's ``api_calls`` (``{get, write}``); the token
        request changes nothing on the tenant and counts as a get."""
        return rest.call_counts(self.http.calls, read_paths=(TOKEN_PATH,))

    @property
    def issuer(self) -> str:
        return f"https://{self.domain}/"

    # ------------------------------------------------------------------ token
    def token(self) -> str:
        if self._token is None:
            body = {
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "audience": self.audience,
            }
            # A token request changes nothing on the tenant: safe to repeat after a 5xx/timeout.
            resp = self.http.request("POST", TOKEN_PATH, body, expected=(200,), idempotent=True)
            data = resp.json if isinstance(resp.json, dict) else {}
            if not data.get("access_token"):
                raise ApiError(
                    "POST /oauth/token: the answer holds no access_token", method="POST", path="/oauth/token"
                )
            self._token = str(data["access_token"])
            self.scopes = set(str(data.get("scope") or "").split())
        return self._token

    # ------------------------------------------------------------------ calls
    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, Any] | None = None,
        expected: tuple[int, ...] = (200, 201, 202, 204),
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token()}"}
        resp = self.http.request(method, "/api/v2" + path, body, query=query, headers=headers, expected=expected)
        return resp.json

    def offset_pages(self, path: str, key: str, query: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Items of an offset-paged list (``include_totals`` tells when to stop)."""
        page = 0
        while True:
            params = {**(query or {}), "page": page, "per_page": PER_PAGE, "include_totals": "true"}
            data = self.call("GET", path, query=params)
            if isinstance(data, list):  # an endpoint that ignores include_totals
                items, total = data, None
            else:
                items = data.get(key) or []
                total = data.get("total")
            yield from items
            seen = page * PER_PAGE + len(items)
            if not items or len(items) < PER_PAGE or (total is not None and seen >= int(total)):
                return
            page += 1

    def checkpoint_pages(self, path: str, key: str, query: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Items of a checkpoint-paged list (``from``/``take``, follows ``next``)."""
        cursor = None
        while True:
            params = {**(query or {}), "take": PER_PAGE}
            if cursor:
                params["from"] = cursor
            data = self.call("GET", path, query=params)
            items = data.get(key) or [] if isinstance(data, dict) else data or []
            yield from items
            cursor = data.get("next") if isinstance(data, dict) else None
            if not cursor or not items:
                return

    def action_pages(self, path: str, key: str, query: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Items of the Actions lists (``page``/``per_page`` with ``total`` in every answer)."""
        page = 0
        per_page = 50
        while True:
            data = self.call("GET", path, query={**(query or {}), "page": page, "per_page": per_page})
            items = data.get(key) or []
            yield from items
            if not items or (page + 1) * per_page >= int(data.get("total") or 0):
                return
            page += 1


def path_id(value: str) -> str:
    """An id as a URL path segment (user ids hold ``|``)."""
    return quote(value, safe="")


# ====================================================================== planning (pure, no HTTP)
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


def js_string(value: str) -> str:
    """``value`` as a JavaScript string literal (the claim in the Action's code)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scope_problem(params: Mapping[str, Any], scopes: set[str]) -> str | None:
    """Why the management client's token cannot serve this run (granted ``scopes``), or None."""
    if params["return_secrets"] and "read:client_keys" not in scopes:
        return (
            "return_secrets needs the read:client_keys scope, which the management client's token lacks; "
            "authorise the client for it on the Auth0 Management API or set return_secrets: false"
        )
    return None


# ---------------------------------------------------------------------- what was read
def first_named(items: Iterable[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The first object called ``name`` (a client, role or Action found by name), or None."""
    return next((item for item in items if item.get("name") == name), None)


def owned_clients(clients: Iterable[dict[str, Any]], owner: str) -> list[dict[str, Any]]:
    """The clients whose ``client_metadata.managed_by`` is ``owner``."""
    return [c for c in clients if (c.get("client_metadata") or {}).get(MARKER) == owner]


def clients_by_name(owned: Iterable[dict[str, Any]], owner: str) -> dict[str, dict[str, Any]]:
    """Owned clients by name; two owned clients with one name fail naming both ids."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for client in owned:
        by_name.setdefault(client.get("name", ""), []).append(client)
    dupes = {n: cs for n, cs in by_name.items() if len(cs) > 1}
    if dupes:
        detail = "; ".join(f"{n!r}: {', '.join(c['client_id'] for c in cs)}" for n, cs in sorted(dupes.items()))
        raise ApiError(
            f"two or more clients owned by {owner!r} share a name ({detail}); "
            "delete the extra one(s) in Auth0 or remove their client_metadata.managed_by marker, then re-run"
        )
    return {name: cs[0] for name, cs in by_name.items()}


def connections_by_name(connections: Iterable[dict[str, Any]], named: list[str]) -> dict[str, str]:
    """Name -> id of the tenant's connections; every ``named`` one must be among them."""
    found = {c["name"]: c["id"] for c in connections}
    missing = [n for n in named if n not in found]
    if missing:
        raise ApiError(
            f"connections: {', '.join(repr(n) for n in missing)} is not a connection of the tenant "
            f"(it has: {', '.join(sorted(found)) or 'none'}); create it in Auth0 (Authentication) or "
            "name an existing one (auth0_apps_connections in the doks.gitops roles)"
        )
    return found


def reads_roles(params: Mapping[str, Any]) -> bool:
    """Whether the run reads the tenant's roles: when roles are declared, or purged (an empty list)."""
    return params["roles"] is not None and bool(params["roles"] or params["purge"])


def owned_roles(roles: Iterable[dict[str, Any]], prefix: str) -> dict[str, dict[str, Any]]:
    """The roles whose name starts with ``prefix``, by name."""
    return {r["name"]: r for r in roles if r["name"].startswith(prefix)}


# ---------------------------------------------------------------------- plans
# A plan is a list of steps, each a dict with ``op`` (create, update, unchanged, delete), what to
# send and ``diff``: ``(before, after)`` as --diff shows it, or None when the step changes nothing.
def plan_clients(params: Mapping[str, Any], owned: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """A step per declared application (in order), then with ``purge`` one per owned client not
    declared. ``update``/``unchanged`` steps carry their result ``entry``; see :func:`created_client`."""
    owner = params["owner"]
    steps: list[dict[str, Any]] = []
    for app in params["applications"]:
        name = app["name"]
        desired = desired_client(app, owner)
        current = owned.get(name)
        if current is None:
            shown = public_view(desired, ["name", *(k for k in desired if k != "name")])
            steps.append({"op": "create", "name": name, "body": desired, "diff": ({}, shown)})
            continue
        patch = client_changes(desired, current)
        entry: dict[str, Any] = {"client_id": current["client_id"], "action": "updated" if patch else "unchanged"}
        if params["return_secrets"]:
            entry["client_secret"] = current.get("client_secret")
        step = {"op": "unchanged", "name": name, "client_id": current["client_id"], "entry": entry, "diff": None}
        if patch:
            after = {**current, **patch}
            if "client_metadata" in patch:
                after["client_metadata"] = desired["client_metadata"]
            diff = (public_view(current, list(patch)), public_view(after, list(patch)))
            step.update(op="update", body=patch, diff=diff)
        steps.append(step)
    if params["purge"]:
        declared = {a["name"] for a in params["applications"]}
        for name, client in sorted(owned.items()):
            if name not in declared:
                diff = (public_view(client, ["name"]), {})
                steps.append({"op": "delete", "name": name, "client_id": client["client_id"], "diff": diff})
    return steps


def created_client(created: dict[str, Any] | None, return_secrets: bool) -> dict[str, Any]:
    """The result entry of a created client (``created`` is None in check mode)."""
    entry: dict[str, Any] = {"client_id": created.get("client_id") if created else None, "action": "created"}
    if return_secrets and created:
        entry["client_secret"] = created.get("client_secret")
    return entry


def connection_targets(applications: Mapping[str, dict[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """From the applications' result: client id -> name of those that exist, and the names of those
    that do not yet (created in check mode)."""
    ours = {e["client_id"]: name for name, e in applications.items() if e.get("client_id") is not None}
    pending = sorted(name for name, e in applications.items() if e.get("client_id") is None)
    return ours, pending


def plan_connection(
    conn_id: str, named: bool, ours: dict[str, str], pending: list[str], enabled_ids: Iterable[str]
) -> dict[str, Any] | None:
    """The declared applications on one connection: all of them when the connection is ``named``,
    none otherwise; clients not ``ours`` are left out. None when the connection is neither named
    nor has one of ours enabled. ``patches`` are the PATCH bodies (at most 50 clients each);
    ``action`` says which applications are enabled and disabled (``pending`` ones included), or is
    empty when none is."""
    enabled = set(enabled_ids) & set(ours)
    if not named and not enabled:
        return None
    want = set(ours) if named else set()
    changes = [{"client_id": cid, "status": True} for cid in sorted(want - enabled)]
    changes += [{"client_id": cid, "status": False} for cid in sorted(enabled - want)]
    before = sorted(ours[c] for c in enabled)
    after = sorted([ours[c] for c in want] + (pending if named else []))
    enable = sorted([ours[c] for c in want - enabled] + (pending if named else []))
    disable = sorted(ours[c] for c in enabled - want)
    action = "; ".join(
        f"{verb} {', '.join(names)}" for verb, names in (("enable", enable), ("disable", disable)) if names
    )
    step = CONNECTION_CLIENTS_PER_PATCH
    return {
        "action": action,
        "entry": {
            "id": conn_id,
            "applications": after,
            "action": "updated" if changes or after != before else "unchanged",
        },
        "diff": (before, after) if after != before else None,
        "patches": [changes[start : start + step] for start in range(0, len(changes), step)],
    }


def plan_roles(params: Mapping[str, Any], owned: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """A step per declared role (``spec`` is the declaration; ``id`` None for one to create), then
    with ``purge`` one per owned role not declared. Members are planned by :func:`plan_members`."""
    steps: list[dict[str, Any]] = []
    for spec in params["roles"] or []:
        name, description = spec["name"], spec["description"]
        current = owned.get(name)
        if current is None:
            body = {"name": name, "description": description}
            steps.append(
                {"op": "create", "name": name, "spec": spec, "id": None, "body": body, "diff": ({}, dict(body))}
            )
            continue
        step = {"op": "unchanged", "name": name, "spec": spec, "id": current["id"], "diff": None}
        if (current.get("description") or "") != description:
            diff = ({"description": current.get("description")}, {"description": description})
            step.update(op="update", body={"description": description}, diff=diff)
        steps.append(step)
    if params["purge"] and params["roles"] is not None:
        declared = {r["name"] for r in params["roles"]}
        for name, role in sorted(owned.items()):
            if name not in declared:
                steps.append(
                    {"op": "delete", "name": name, "id": role["id"], "diff": ({"name": name, "id": role["id"]}, {})}
                )
    return steps


def plan_members(
    spec: Mapping[str, Any],
    current: list[dict[str, Any]],
    users_by_email: Callable[[str], list[dict[str, Any]] | None],
    missing_members: str,
) -> dict[str, Any]:
    """A role's membership: ``add`` (user ids), ``remove`` (user ids, only with members_purge),
    ``members`` after the run, ``warnings`` and, when it changes, ``added``/``removed`` e-mails and
    ``diff``. ``current`` are the role's users; ``users_by_email`` is asked once per listed e-mail
    that is not a member yet. An e-mail without a user warns, or fails with missing_members=fail."""
    wanted = sorted({m.strip().lower() for m in spec["members"]})
    have = {(u.get("email") or "").lower(): u["user_id"] for u in current}
    plan: dict[str, Any] = {"add": [], "warnings": [], "diff": None}
    found: set[str] = set()
    for email in wanted:
        if email in have:
            continue
        users = users_by_email(email) or []
        if not users:
            message = f"roles[{spec['name']}].members: no Auth0 user has the e-mail {email} yet; not added"
            if missing_members == "fail":
                raise ApiError(message)
            plan["warnings"].append(message)
            continue
        found.add(email)
        plan["add"].extend(u["user_id"] for u in users)
    # Members nobody listed (added by hand) stay unless the role's membership is purged.
    purge = spec["members_purge"]
    plan["remove"] = sorted(uid for email, uid in have.items() if email not in wanted) if purge else []
    plan["members"] = wanted if purge else sorted({*wanted, *have})
    if plan["add"] or plan["remove"]:
        plan["added"] = [e for e in wanted if e not in have and e in found]
        plan["removed"] = sorted(email for email, uid in have.items() if uid in plan["remove"])
        plan["diff"] = (sorted(have), plan["members"])
    return plan


def desired_action(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The groups-claim Action as created (name, trigger, code with the claim, runtime)."""
    return {
        "name": spec["name"],
        "supported_triggers": [{"id": TRIGGER, "version": "v3"}],
        "code": ACTION_CODE.format(claim=js_string(spec["claim"])),
        "runtime": spec["runtime"],
        "dependencies": [],
        "secrets": [],
    }


def plan_action(spec: Mapping[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """Create the Action, or PATCH its drifted code, runtime and trigger; ``deploy`` when it was
    changed or has undeployed changes (or was never deployed)."""
    desired = desired_action(spec)
    if current is None:
        shown = {"name": spec["name"], "claim": spec["claim"], "runtime": spec["runtime"]}
        return {"op": "create", "body": desired, "diff": ({}, shown), "deploy": True}
    patch = {k: desired[k] for k in ("code", "runtime") if current.get(k) != desired[k]}
    triggers = sorted(t.get("id") for t in current.get("supported_triggers") or [])
    if triggers != [TRIGGER]:
        patch["supported_triggers"] = desired["supported_triggers"]
    deploy = bool(patch) or not current.get("all_changes_deployed") or not current.get("deployed_version")
    if not patch:
        return {"op": "unchanged", "diff": None, "deploy": deploy}
    diff = ({k: current.get(k) for k in patch}, dict(patch))
    return {"op": "update", "body": patch, "diff": diff, "deploy": deploy}


def binding_refs(bindings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trigger's bindings as a PATCH of ``/actions/triggers/{trigger}/bindings`` sends them."""
    return [
        {"ref": {"type": "action_id", "value": b["action"]["id"]}, "display_name": b.get("display_name")}
        for b in bindings
        if b.get("action")
    ]


def plan_binding(bindings: list[dict[str, Any]], action_id: str | None, name: str) -> dict[str, Any] | None:
    """The bindings PATCH that appends the Action after the others, or None when it is bound."""
    if any((b.get("action") or {}).get("id") == action_id and action_id for b in bindings):
        return None
    refs = binding_refs(bindings)
    refs.append({"ref": {"type": "action_id", "value": action_id}, "display_name": name})
    diff = ([b.get("display_name") for b in bindings], [r["display_name"] for r in refs])
    return {"body": {"bindings": refs}, "diff": diff}


def plan_unbind(bindings: list[dict[str, Any]], action: dict[str, Any]) -> dict[str, Any]:
    """Removing the Action: the bindings PATCH without it (None when it is not bound), then the DELETE."""
    rest = [b for b in bindings if (b.get("action") or {}).get("id") != action["id"]]
    return {
        "bindings": {"bindings": binding_refs(rest)} if len(rest) != len(bindings) else None,
        "diff": ({"name": action["name"], "bindings": [b.get("display_name") for b in bindings]}, {}),
    }
