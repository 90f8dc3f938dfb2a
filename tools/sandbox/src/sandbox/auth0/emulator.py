"""Auth0 Management API v2 (and the client-credentials token endpoint) for the sandbox.

Addressed as a tenant domain (``127.0.0.1:<port>``): clients build ``https://<domain>/...``.
What it implements follows the public Management API v2 reference:

* ``GET /authorize`` up to the login page: an unknown client or a ``redirect_uri`` not among the
  client's callbacks (exact match) is refused with an error page, never redirected to;
* ``POST /oauth/token`` (client_credentials; the token's scopes are those of the client's
  grant for the audience); every ``/api/v2`` call checks the bearer token and the scope it
  needs (403 ``insufficient_scope``, "Insufficient scope, expected any of: ...").
* clients (offset paging, ``fields``/``include_fields``, ``is_global``, ``app_type``; the
  ``client_secret`` only with ``read:client_keys``; PATCH replaces arrays whole and removes
  ``client_metadata`` keys sent as null; ``rotate-secret``), client grants (checkpoint paging,
  ``audience``/``client_id`` filters), resource servers, roles (``name_filter``, permissions,
  users), users (minimal), actions (create, update, deploy, versions; ``pending`` → ``built``)
  and trigger bindings (PATCH replaces the trigger's list), connections and their clients (a new
  client is enabled on every connection, the tenant flag enable_client_connections being on).
* client, role and action bodies judged by auth0-python's generated request types
  (:mod:`sandbox.auth0.sdk_schema`); a global client; Rules and Hooks retired (403).
* Auth0's error body ``{statusCode, error, message, errorCode}`` and per-tenant
  ``x-ratelimit-limit/remaining/reset`` headers on every response.
"""

from __future__ import annotations

import base64
import http
import re
import secrets
import string
import time
import urllib.parse
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox.auth0 import tokens
from sandbox.auth0 import validate as v
from sandbox.server import Context, Emulator, HTTPError, Request, Response

Handler = Callable[[Request, dict[str, str], dict[str, Any]], Response]

READ_ANY = ()  # marker: any valid token

MANAGEMENT_SCOPES = [
    "read:clients",
    "create:clients",
    "update:clients",
    "delete:clients",
    "read:client_keys",
    "update:client_keys",
    "read:client_grants",
    "create:client_grants",
    "update:client_grants",
    "delete:client_grants",
    "read:resource_servers",
    "create:resource_servers",
    "update:resource_servers",
    "delete:resource_servers",
    "read:roles",
    "create:roles",
    "update:roles",
    "delete:roles",
    "read:role_members",
    "create:role_members",
    "delete:role_members",
    "read:users",
    "create:users",
    "update:users",
    "delete:users",
    "read:actions",
    "create:actions",
    "update:actions",
    "delete:actions",
    "read:connections",
    "create:connections",
    "update:connections",
    "delete:connections",
]
LIMITED_MISSING = {"read:client_keys", "update:client_keys", "delete:clients", "delete:roles", "delete:actions"}

APP_TYPES = ("native", "spa", "regular_web", "non_interactive", "resource_server", "express_configuration", "rms")
GRANT_TYPES = (
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
    "http://auth0.com/oauth/grant-type/password-realm",
    "http://auth0.com/oauth/grant-type/mfa-oob",
    "http://auth0.com/oauth/grant-type/mfa-otp",
    "http://auth0.com/oauth/grant-type/mfa-recovery-code",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:openid:params:grant-type:ciba",
    "urn:ietf:params:oauth:grant-type:token-exchange",
)
# The Actions triggers and their current versions. The ids are auth0-python 6.8.0's generated
# ActionTriggerTypeEnum (auth0/management/types/action_trigger_type_enum.py), in its order; the
# versions: post-login v3, custom-token-exchange/event-stream/password-hash-migration v1 as real
# tenants answer (auth0/terraform-provider-auth0 v1.55.0 test/data/recordings), credentials-exchange
# v2 and the v2 signup/password/phone triggers as Auth0's trigger docs give them; the triggers added
# since 2024 have only a v1.
TRIGGERS = {
    "post-login": "v3",
    "credentials-exchange": "v2",
    "pre-user-registration": "v2",
    "post-user-registration": "v2",
    "post-change-password": "v2",
    "send-phone-message": "v2",
    "custom-phone-provider": "v1",
    "custom-email-provider": "v1",
    "password-reset-post-challenge": "v1",
    "custom-token-exchange": "v1",
    "event-stream": "v1",
    "password-hash-migration": "v1",
    "login-post-identifier": "v1",
    "signup-post-identifier": "v1",
    "post-credential-validation": "v1",
}
RUNTIMES = ("node18", "node22")


def _grant_types_check(value: Any) -> bool:
    return v.str_list(value) and all(g in GRANT_TYPES for g in value)


_grant_types_check.__doc__ = "an array of supported grant types"

# Client, role and action bodies are judged by auth0-python's generated request types
# (sandbox.auth0.sdk_schema); these are the further rules those types cannot carry.
CLIENT_RULES: dict[str, v.Check] = {"grant_types": _grant_types_check}
ACTION_RULES: dict[str, v.Check] = {"runtime": v.one_of(*RUNTIMES)}
# Limits of the client fields, from the generated docs of auth0-python 6.8.0
# (auth0/management/clients/raw_client.py, types/client_metadata.py):
#   name: "min length: 1 character, does not allow `<` or `>`"
#   description: "max length: 140 characters"
#   client_metadata: "object with string values (max 255 chars). Maximum of 10 metadata properties
#   allowed. Field names (max 255 chars) are alphanumeric and may only include the following
#   special characters:  :,-+=_*?"/\()<>@    [Tab] [Space]"
DESCRIPTION_MAX = 140
METADATA_KEY = re.compile(r'[A-Za-z0-9:,\-+=_*?"/\\()<>@\t ]{1,255}')
METADATA_VALUE_MAX = 255
METADATA_KEYS_MAX = 10
# Rules and Hooks reached end of life (Rules and Hooks are read-only since 2024-11-18 and retired
# on tenants created since 2023-10-16): their endpoints answer 403 with this message (the error
# auth0-deploy-cli v8.43.0 recognises, src/tools/utils.ts isDeprecatedError and its tests).
DEPRECATED_FEATURE = "Insufficient privileges to use this deprecated feature"
GLOBAL_CLIENT_NAME = "All Applications"
# PATCH /connections/{id}/clients: "Minimum array length: 1", "the limit per PATCH request is 50
# clients"; GET: take "Required range: 1 <= x <= 1000"
# (https://auth0.com/docs/api/management/v2/connections/patch-clients, .../get-connection-clients).
CONNECTION_CLIENTS_PATCH_MAX = 50
CONNECTION_CLIENTS_TAKE_MAX = 1000
# Tenant flag enable_client_connections: "Whether all current connections should be enabled when a
# new client (application) is created (true, default) or not (false)" (auth0-python 6.8.0
# auth0/management/types/tenant_settings_flags.py). A fresh tenant has it on, so its default
# database connection Username-Password-Authentication (sign-ups allowed) serves every new client.
ENABLE_CLIENT_CONNECTIONS_DEFAULT = True

# Objects PATCH merges key by key (Auth0 replaces arrays whole and merges these).
MERGED_OBJECTS = {"jwt_configuration", "refresh_token", "mobile", "addons", "native_social_login", "oidc_logout"}
# Fields only `read:client_keys` (or `read:client_credentials`) may see.
KEY_FIELDS = ("client_secret", "signing_keys", "encryption_key", "client_authentication_methods")

GRANT_SCHEMA: dict[str, v.Check] = {
    "client_id": v.is_str,
    "audience": v.is_str,
    "scope": v.str_list,
    "organization_usage": v.one_of("deny", "allow", "require"),
    "allow_any_organization": v.is_bool,
    "subject_type": v.one_of("client", "user"),
}
RESOURCE_SERVER_SCHEMA: dict[str, v.Check] = {
    "name": v.is_str,
    "identifier": v.is_str,
    "scopes": v.dict_list,
    "signing_alg": v.one_of("HS256", "RS256", "PS256"),
    "signing_secret": v.is_str,
    "allow_offline_access": v.is_bool,
    "token_lifetime": v.is_int,
    "token_lifetime_for_web": v.is_int,
    "skip_consent_for_verifiable_first_party_clients": v.is_bool,
    "enforce_policies": v.is_bool,
    "token_dialect": v.one_of("access_token", "access_token_authz", "rfc9068_profile", "rfc9068_profile_authz"),
}
USER_SCHEMA: dict[str, v.Check] = {
    "email": v.is_str,
    "connection": v.is_str,
    "password": v.is_str,
    "name": v.is_str,
    "given_name": v.is_str,
    "family_name": v.is_str,
    "nickname": v.is_str,
    "username": v.is_str,
    "user_id": v.is_str,
    "email_verified": v.is_bool,
    "verify_email": v.is_bool,
    "blocked": v.is_bool,
    "user_metadata": v.is_dict,
    "app_metadata": v.is_dict,
    "picture": v.is_str,
}
CONNECTION_SCHEMA: dict[str, v.Check] = {
    "name": v.is_str,
    "display_name": v.is_str,
    "strategy": v.is_str,
    "options": v.is_dict,
    "enabled_clients": v.str_list,
    "is_domain_connection": v.is_bool,
    "metadata": v.is_dict,
    "realms": v.str_list,
}


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{datetime.now(UTC).microsecond // 1000:03d}Z"


def _rand(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _i in range(n))


def _not_found(kind: str) -> HTTPError:
    return HTTPError(404, f"The {kind} does not exist.", errorCode=f"inexistent_{kind.replace(' ', '_')}")


class Auth0Emulator(Emulator):
    name = "auth0"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.domain = "127.0.0.1"
        self.rate_limit = int(ctx.settings.get("rate_limit", 100))
        self._window = (0, self.rate_limit)  # (reset epoch second, remaining)
        self.routes: list[tuple[str, re.Pattern[str], tuple[str, ...], Handler]] = []
        self._build_routes()

    # ------------------------------------------------------------------ sandbox hooks
    @property
    def audience(self) -> str:
        return f"https://{self.domain}/api/v2/"

    def endpoint(self, base_url: str) -> dict[str, Any]:
        self.domain = urllib.parse.urlsplit(base_url).netloc
        with self.lock:
            self._seed()
            mgmt = self.store.data["seed"]
            return {
                "url": base_url,
                "domain": self.domain,
                "issuer": f"https://{self.domain}/",
                "audience": self.audience,
                "client_id": mgmt["client_id"],
                "client_secret": self.store.data["clients"][mgmt["client_id"]]["client_secret"],
                "limited_client_id": mgmt["limited_client_id"],
                "limited_client_secret": self.store.data["clients"][mgmt["limited_client_id"]]["client_secret"],
            }

    def reset(self) -> None:
        """Wipe the tenant but keep the seeded management clients (endpoints.json stays valid)."""
        with self.lock:
            d = self.store.data
            seed = d.get("seed")
            if not seed:
                d.clear()
            else:
                keep = {seed["client_id"], seed["limited_client_id"], seed.get("global_client_id")}
                d["clients"] = {k: c for k, c in d["clients"].items() if k in keep}
                d["client_grants"] = {k: g for k, g in d["client_grants"].items() if g["client_id"] in keep}
                d["resource_servers"] = {k: r for k, r in d["resource_servers"].items() if k == seed["rs_id"]}
                d["connections"] = {
                    k: {**c, "enabled_clients": []}
                    for k, c in d["connections"].items()
                    if c["name"] == "Username-Password-Authentication"
                }
                for key in ("roles", "users", "actions", "role_permissions", "role_users", "versions", "bindings"):
                    d[key] = {}
                d["tenant_flags"] = {"enable_client_connections": ENABLE_CLIENT_CONNECTIONS_DEFAULT}
            self._seed()
            self.store.touch()

    def error(self, status: int, message: str, **extra: Any) -> Response:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        body: dict[str, Any] = {"statusCode": status, "error": phrase, "message": message}
        code = extra.pop("errorCode", None)
        if code is None and status == 429:
            code = "too_many_requests"
        if code:
            body["errorCode"] = code
        body.update(extra)
        return Response(status, body, headers=self._rate_headers(consume=False))

    def fault_headers(self, status: int) -> dict[str, str]:
        headers = self._rate_headers(consume=False)
        if status == 429:
            headers["x-ratelimit-remaining"] = "0"
            headers["x-ratelimit-reset"] = str(int(time.time()) + 1)
        return headers

    def tick(self) -> None:
        now = time.time()
        for action in self.store.data.get("actions", {}).values():
            if action["status"] == "pending" and now - action["_changed"] >= 0.2:
                action["status"] = "built"
                action["built_at"] = _now_iso()
                if action.pop("_deploy_when_built", False):
                    self._deploy(action)
                self.store.touch()

    # ------------------------------------------------------------------ state
    @property
    def data(self) -> dict[str, Any]:
        return self.store.data

    def _seed(self) -> None:
        d = self.data
        for key in (
            "clients",
            "client_grants",
            "resource_servers",
            "roles",
            "users",
            "actions",
            "connections",
        ):
            d.setdefault(key, {})
        d.setdefault("role_permissions", {})
        d.setdefault("role_users", {})
        d.setdefault("versions", {})
        d.setdefault("bindings", {})
        d.setdefault("key", {"secret": _rand(48), "kid": _rand(16)})
        d.setdefault("tenant_flags", {"enable_client_connections": ENABLE_CLIENT_CONNECTIONS_DEFAULT})
        if "seed" not in d:
            mgmt = self._new_client({"name": "Sandbox Management (all scopes)", "app_type": "non_interactive"})
            limited = self._new_client({"name": "Sandbox Management (limited)", "app_type": "non_interactive"})
            rs_id = _rand(24, "0123456789abcdef")
            d["resource_servers"][rs_id] = {
                "id": rs_id,
                "name": "Auth0 Management API",
                "identifier": self.audience,
                "is_system": True,
                "signing_alg": "RS256",
                "scopes": [{"value": s, "description": s} for s in MANAGEMENT_SCOPES],
                "allow_offline_access": False,
                "token_lifetime": 86400,
                "skip_consent_for_verifiable_first_party_clients": False,
            }
            for client, scopes in (
                (mgmt, MANAGEMENT_SCOPES),
                (limited, [s for s in MANAGEMENT_SCOPES if s not in LIMITED_MISSING]),
            ):
                gid = "cgr_" + _rand(16)
                d["client_grants"][gid] = {
                    "id": gid,
                    "client_id": client["client_id"],
                    "audience": self.audience,
                    "scope": list(scopes),
                    "is_system": False,
                    "subject_type": "client",
                }
            conn_id = "con_" + _rand(16)
            d["connections"][conn_id] = {
                "id": conn_id,
                "name": "Username-Password-Authentication",
                "display_name": "Username-Password-Authentication",
                "strategy": "auth0",
                "options": {},
                "enabled_clients": [],
                "is_domain_connection": False,
                "realms": ["Username-Password-Authentication"],
            }
            d["seed"] = {"client_id": mgmt["client_id"], "limited_client_id": limited["client_id"], "rs_id": rs_id}
        if d["seed"].get("global_client_id") not in d["clients"]:
            # Every tenant has one global client, "All Applications" (GET /clients?is_global=true;
            # auth0/terraform-provider-auth0 v1.55.0 test/data/recordings/TestAccGlobalClient.yaml),
            # which list readers skip with is_global=false (auth0-deploy-cli v8.43.0 handlers/clients.ts).
            glob = self._new_client(
                {
                    "name": GLOBAL_CLIENT_NAME,
                    "global": True,
                    "oidc_conformant": True,
                    "jwt_configuration": {"alg": "RS256"},
                    "custom_login_page_on": False,
                }
            )
            for key in ("grant_types", "token_endpoint_auth_method", "app_type"):
                glob.pop(key, None)
            d["seed"]["global_client_id"] = glob["client_id"]
        # The port (and so the audience) may change between starts: keep the system API current.
        rs = d["resource_servers"].get(d["seed"]["rs_id"])
        if rs and rs["identifier"] != self.audience:
            old = rs["identifier"]
            rs["identifier"] = self.audience
            for grant in d["client_grants"].values():
                if grant["audience"] == old:
                    grant["audience"] = self.audience
        self.store.touch()

    # ------------------------------------------------------------------ plumbing
    def _rate_headers(self, *, consume: bool) -> dict[str, str]:
        now = int(time.time())
        reset, remaining = self._window
        if now >= reset:
            reset, remaining = now + 1, self.rate_limit
        if consume:
            remaining -= 1
        self._window = (reset, remaining)
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(0, remaining)),
            "x-ratelimit-reset": str(reset),
        }

    def handle(self, request: Request) -> Response:
        rate = self._rate_headers(consume=True)
        if int(rate["x-ratelimit-remaining"]) <= 0 and self._window[1] < 0:
            response = self.error(429, "Global limit has been reached", errorCode="too_many_requests")
            response.headers.update(rate)
            return response
        try:
            response = self._route(request)
        except HTTPError as exc:
            response = self.error(exc.status, exc.message, **exc.extra)
        response.headers.update(rate)
        return response

    def _route(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path == "/oauth/token" and request.method == "POST":
            return self._token(request)
        if path == "/.well-known/openid-configuration" and request.method == "GET":
            return Response(200, self._discovery())
        if path == "/authorize" and request.method == "GET":
            return self._authorize_endpoint(request)
        if not path.startswith("/api/v2/"):
            raise HTTPError(404, "Not Found")
        sub = path.removeprefix("/api/v2")
        allowed = False
        for method, pattern, scopes, handler in self.routes:
            match = pattern.fullmatch(sub)
            if not match:
                continue
            allowed = True
            if method != request.method:
                continue
            claims = self._authorize(request, scopes)
            return handler(request, match.groupdict(), claims)
        if allowed:
            raise HTTPError(405, "Method Not Allowed")
        raise HTTPError(404, "Not Found")

    def _authorize(self, request: Request, scopes: tuple[str, ...]) -> dict[str, Any]:
        token = request.bearer()
        if not token:
            raise HTTPError(401, "Missing authentication", errorCode="invalid_token")
        claims = tokens.verify(token, self.data["key"]["secret"], self.audience)
        if claims is None:
            raise HTTPError(401, "Invalid token", errorCode="invalid_token", attributes={"error": "Invalid token"})
        granted = set(str(claims.get("scope", "")).split())
        if scopes and not granted & set(scopes):
            raise HTTPError(
                403, f"Insufficient scope, expected any of: {','.join(scopes)}", errorCode="insufficient_scope"
            )
        claims["_scopes"] = granted
        return claims

    # ------------------------------------------------------------------ /authorize
    def _authorize_endpoint(self, request: Request) -> Response:
        """The start of the authorization code flow, up to the login page (no user signs in here).

        RFC 6749 §4.1.2.1: with an unknown client or a redirect_uri that is not registered the
        server "MUST NOT automatically redirect the user-agent to the invalid redirection URI" (an
        error page, here 400 with the OAuth error body); Auth0 compares ``redirect_uri`` with the
        application's Allowed Callback URLs character for character ("Callback URL mismatch. {URL}
        is not in the list of allowed callback URLs", Auth0 support article of that name; the
        emulator has no wildcard callbacks, stricter than Auth0's ``*.`` subdomains). Other errors
        go back to the valid redirect_uri (``unsupported_response_type``, ``unauthorized_client``);
        a valid request is sent to Universal Login (``/u/login?state=...``).
        """
        client_id = request.arg("client_id") or ""
        client = self.data["clients"].get(client_id)
        if client is None:
            return Response(400, {"error": "invalid_request", "error_description": f"Unknown client: {client_id}"})
        redirect_uri = request.arg("redirect_uri") or ""
        if redirect_uri not in (client.get("callbacks") or []):
            return Response(
                400,
                {
                    "error": "invalid_request",
                    "error_description": (
                        f"Callback URL mismatch. {redirect_uri} is not in the list of allowed callback URLs"
                    ),
                },
            )
        state = request.arg("state")

        def back(error: str, description: str) -> Response:
            query = {"error": error, "error_description": description, **({"state": state} if state else {})}
            return Response(302, None, {"Location": f"{redirect_uri}?{urllib.parse.urlencode(query)}"})

        if request.arg("response_type") != "code":
            return back("unsupported_response_type", f"Unsupported response type: {request.arg('response_type')}")
        if "authorization_code" not in client.get("grant_types", []):
            return back("unauthorized_client", "Grant type 'authorization_code' not allowed for the client.")
        login = urllib.parse.urlencode({"state": secrets.token_urlsafe(24)})
        return Response(302, None, {"Location": f"https://{self.domain}/u/login?{login}"})

    def _discovery(self) -> dict[str, Any]:
        issuer = f"https://{self.domain}/"
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}authorize",
            "token_endpoint": f"{issuer}oauth/token",
            "userinfo_endpoint": f"{issuer}userinfo",
            "jwks_uri": f"{issuer}.well-known/jwks.json",
            "end_session_endpoint": f"{issuer}oidc/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256", "RS256"],
        }

    # ------------------------------------------------------------------ /oauth/token
    def _token(self, request: Request) -> Response:
        if request.content_type == "application/x-www-form-urlencoded":
            form = urllib.parse.parse_qs(request.body.decode(), keep_blank_values=True)
            params = {k: vals[-1] for k, vals in form.items()}
        else:
            try:
                params = request.json() or {}
            except ValueError:
                params = {}
        basic = request.headers.get("Authorization") or ""
        if basic.lower().startswith("basic "):
            cid, _sep, csecret = base64.b64decode(basic[6:]).decode().partition(":")
            params.setdefault("client_id", urllib.parse.unquote(cid))
            params.setdefault("client_secret", urllib.parse.unquote(csecret))

        def oauth_error(status: int, error: str, description: str) -> Response:
            return Response(status, {"error": error, "error_description": description})

        if params.get("grant_type") != "client_credentials":
            return oauth_error(403, "unsupported_grant_type", f"Unsupported grant type: {params.get('grant_type')}")
        client = self.data["clients"].get(params.get("client_id") or "")
        if client is None or not secrets.compare_digest(
            str(params.get("client_secret") or ""), client["client_secret"]
        ):
            return oauth_error(401, "access_denied", "Unauthorized")
        if "client_credentials" not in client.get("grant_types", []):
            return oauth_error(
                403, "unauthorized_client", "Grant type 'client_credentials' not allowed for the client."
            )
        audience = params.get("audience") or ""
        if not any(rs["identifier"] == audience for rs in self.data["resource_servers"].values()):
            return oauth_error(403, "access_denied", f"Service not enabled within domain: {audience}")
        grant = next(
            (
                g
                for g in self.data["client_grants"].values()
                if g["client_id"] == client["client_id"] and g["audience"] == audience
            ),
            None,
        )
        if grant is None:
            return oauth_error(
                403,
                "access_denied",
                f'Client is not authorized to access "{audience}". '
                'You need to create a "client-grant" associated to this API.',
            )
        scopes = list(grant["scope"])
        if params.get("scope"):
            scopes = [s for s in str(params["scope"]).split() if s in scopes]
        now = int(time.time())
        lifetime = 86400
        claims = {
            "iss": f"https://{self.domain}/",
            "sub": f"{client['client_id']}@clients",
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
            "scope": " ".join(scopes),
            "gty": "client-credentials",
            "azp": client["client_id"],
            "jti": uuid.uuid4().hex,
        }
        token = tokens.sign(claims, self.data["key"]["secret"], self.data["key"]["kid"])
        body = {"access_token": token, "scope": " ".join(scopes), "expires_in": lifetime, "token_type": "Bearer"}
        return Response(200, body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # ------------------------------------------------------------------ routes
    def _build_routes(self) -> None:  # noqa: PLR0915 - one line per documented endpoint
        def add(method: str, pattern: str, scopes: tuple[str, ...], handler: Handler) -> None:
            regex = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern))
            self.routes.append((method, regex, scopes, handler))

        add("GET", "/clients", ("read:clients", "read:client_keys"), self.list_clients)
        add("POST", "/clients", ("create:clients",), self.create_client)
        add("GET", "/clients/{id}", ("read:clients", "read:client_keys"), self.get_client)
        add("PATCH", "/clients/{id}", ("update:clients", "update:client_keys"), self.update_client)
        add("DELETE", "/clients/{id}", ("delete:clients",), self.delete_client)
        add("POST", "/clients/{id}/rotate-secret", ("update:client_keys",), self.rotate_secret)
        add("GET", "/client-grants", ("read:client_grants",), self.list_grants)
        add("POST", "/client-grants", ("create:client_grants",), self.create_grant)
        add("GET", "/client-grants/{id}", ("read:client_grants",), self.get_grant)
        add("PATCH", "/client-grants/{id}", ("update:client_grants",), self.update_grant)
        add("DELETE", "/client-grants/{id}", ("delete:client_grants",), self.delete_grant)
        add("GET", "/resource-servers", ("read:resource_servers",), self.list_resource_servers)
        add("POST", "/resource-servers", ("create:resource_servers",), self.create_resource_server)
        add("GET", "/resource-servers/{id}", ("read:resource_servers",), self.get_resource_server)
        add("PATCH", "/resource-servers/{id}", ("update:resource_servers",), self.update_resource_server)
        add("DELETE", "/resource-servers/{id}", ("delete:resource_servers",), self.delete_resource_server)
        add("GET", "/roles", ("read:roles",), self.list_roles)
        add("POST", "/roles", ("create:roles",), self.create_role)
        add("GET", "/roles/{id}", ("read:roles",), self.get_role)
        add("PATCH", "/roles/{id}", ("update:roles",), self.update_role)
        add("DELETE", "/roles/{id}", ("delete:roles",), self.delete_role)
        add("GET", "/roles/{id}/permissions", ("read:roles",), self.list_role_permissions)
        add("POST", "/roles/{id}/permissions", ("update:roles",), self.add_role_permissions)
        add("DELETE", "/roles/{id}/permissions", ("update:roles",), self.remove_role_permissions)
        add("GET", "/roles/{id}/users", ("read:users", "read:roles", "read:role_members"), self.list_role_users)
        add("POST", "/roles/{id}/users", ("update:roles", "create:role_members"), self.assign_role_users)
        add("GET", "/users", ("read:users",), self.list_users)
        add("POST", "/users", ("create:users",), self.create_user)
        add("GET", "/users-by-email", ("read:users",), self.users_by_email)
        add("GET", "/users/{id}", ("read:users",), self.get_user)
        add("DELETE", "/users/{id}", ("delete:users",), self.delete_user)
        add("GET", "/users/{id}/roles", ("read:users", "read:roles", "read:role_members"), self.list_user_roles)
        add("POST", "/users/{id}/roles", ("update:users", "create:role_members"), self.assign_user_roles)
        add("DELETE", "/users/{id}/roles", ("update:users", "delete:role_members"), self.remove_user_roles)
        add("GET", "/actions/actions", ("read:actions",), self.list_actions)
        add("POST", "/actions/actions", ("create:actions",), self.create_action)
        add("GET", "/actions/actions/{id}", ("read:actions",), self.get_action)
        add("PATCH", "/actions/actions/{id}", ("update:actions",), self.update_action)
        add("DELETE", "/actions/actions/{id}", ("delete:actions",), self.delete_action)
        add("POST", "/actions/actions/{id}/deploy", ("create:actions",), self.deploy_action)
        add("GET", "/actions/actions/{id}/versions", ("read:actions",), self.list_versions)
        add("GET", "/actions/actions/{action_id}/versions/{id}", ("read:actions",), self.get_version)
        add("GET", "/actions/triggers", ("read:actions",), self.list_triggers)
        add("GET", "/actions/triggers/{trigger}/bindings", ("read:actions",), self.list_bindings)
        add("PATCH", "/actions/triggers/{trigger}/bindings", ("update:actions",), self.update_bindings)
        for retired in (
            "/rules",
            "/rules/{id}",
            "/rules-configs",
            "/rules-configs/{id}",
            "/hooks",
            "/hooks/{id}",
            "/hooks/{id}/secrets",
        ):
            for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
                add(method, retired, READ_ANY, self.deprecated_feature)
        add("GET", "/connections", ("read:connections",), self.list_connections)
        add("POST", "/connections", ("create:connections",), self.create_connection)
        add("GET", "/connections/{id}", ("read:connections",), self.get_connection)
        add("PATCH", "/connections/{id}", ("update:connections",), self.update_connection)
        add("DELETE", "/connections/{id}", ("delete:connections",), self.delete_connection)
        add("GET", "/connections/{id}/clients", ("read:connections",), self.list_connection_clients)
        add("PATCH", "/connections/{id}/clients", ("update:connections",), self.update_connection_clients)

    # ------------------------------------------------------------------ paging
    def _offset(self, request: Request, items: list[Any], key: str, *, default_per_page: int = 50) -> Response:
        page = v.query_int(request, "page", 0)
        per_page = v.query_int(request, "per_page", default_per_page, minimum=1, maximum=100)
        chunk = items[page * per_page : (page + 1) * per_page]
        if v.query_bool(request, "include_totals"):
            return Response(
                200,
                {"start": page * per_page, "limit": per_page, "length": len(chunk), "total": len(items), key: chunk},
            )
        return Response(200, chunk)

    def _checkpoint(
        self, request: Request, items: list[dict[str, Any]], key: str, id_key: str = "id", *, take_max: int = 100
    ) -> Response:
        take = v.query_int(request, "take", 50, minimum=1, maximum=take_max)
        start = 0
        cursor = request.arg("from")
        if cursor:
            ids = [item[id_key] for item in items]
            if cursor not in ids:
                raise HTTPError(400, "Invalid value for 'from'.", errorCode="invalid_paging")
            start = ids.index(cursor)
        chunk = items[start : start + take]
        body: dict[str, Any] = {key: chunk}
        if start + take < len(items):
            body["next"] = items[start + take][id_key]
        return Response(200, body)

    def _paged(self, request: Request, items: list[dict[str, Any]], key: str, id_key: str = "id") -> Response:
        """Checkpoint paging when ``from``/``take`` is sent, offset paging otherwise."""
        if request.arg("from") is not None or request.arg("take") is not None:
            return self._checkpoint(request, items, key, id_key)
        return self._offset(request, items, key)

    @staticmethod
    def _fields(request: Request, obj: dict[str, Any]) -> dict[str, Any]:
        fields = [f for f in (request.arg("fields") or "").split(",") if f]
        if not fields:
            return obj
        include = v.query_bool(request, "include_fields")
        if include is False:
            return {k: val for k, val in obj.items() if k not in fields}
        return {k: val for k, val in obj.items() if k in fields}

    # ------------------------------------------------------------------ clients
    def _new_client(self, body: dict[str, Any]) -> dict[str, Any]:
        app_type = body.get("app_type")
        if app_type in {"spa", "native"}:
            grants = ["authorization_code", "implicit", "refresh_token"]
        elif app_type == "non_interactive":
            grants = ["client_credentials"]
        else:
            grants = ["authorization_code", "implicit", "refresh_token", "client_credentials"]
        client_id = _rand(32)
        client: dict[str, Any] = {
            "tenant": self.domain.split(":")[0],
            "global": False,
            "is_token_endpoint_ip_header_trusted": False,
            "is_first_party": True,
            # Not sent: Auth0 answers oidc_conformant false (real tenants, auth0/terraform-provider-auth0
            # v1.55.0 test/data/recordings, e.g. TestAccAllowUpdatingTheClientSecret.yaml).
            "oidc_conformant": False,
            "sso_disabled": False,
            "cross_origin_authentication": False,
            "custom_login_page_on": True,
            "callbacks": [],
            "allowed_origins": [],
            "web_origins": [],
            "allowed_logout_urls": [],
            "allowed_clients": [],
            "grant_types": grants,
            "token_endpoint_auth_method": "none" if app_type in {"spa", "native"} else "client_secret_post",
            # No alg: Auth0 signs with HS256, "Algorithm used to sign JWTs. Can be `HS256` (default) or
            # `RS256`" (Management API client type), and answers without alg (same recordings).
            "jwt_configuration": {"lifetime_in_seconds": 36000, "secret_encoded": False},
            "client_metadata": {},
            "refresh_token": {
                "rotation_type": "non-rotating",
                "expiration_type": "non-expiring",
                "leeway": 0,
                "token_lifetime": 2592000,
                "infinite_token_lifetime": True,
                "infinite_idle_token_lifetime": True,
                "idle_token_lifetime": 1296000,
            },
            "signing_keys": [
                {"cert": "-----BEGIN CERTIFICATE-----\n(sandbox)\n-----END CERTIFICATE-----", "subject": "deprecated"}
            ],
            **{k: val for k, val in body.items() if k != "client_metadata"},
            "client_id": client_id,
            "client_secret": _rand(64, string.ascii_letters + string.digits + "-_"),
        }
        if isinstance(body.get("jwt_configuration"), dict):
            # Sent on create: kept with secret_encoded added (TestAccClientAuthenticationMethods-
            # SignedRequestObject.yaml answers {"secret_encoded": false, "alg": "RS256"}).
            client["jwt_configuration"] = {"secret_encoded": False, **body["jwt_configuration"]}
        client["client_metadata"] = self._metadata({}, body.get("client_metadata") or {})
        self.data["clients"][client_id] = client
        self.store.touch()
        return client

    @staticmethod
    def _metadata(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        merged = dict(current)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
                continue
            if not isinstance(value, str):
                raise v.bad_body(
                    f"'Expected type string but found type {type(value).__name__}' on property client_metadata.{key}"
                )
            if len(value) > METADATA_VALUE_MAX:
                raise v.bad_body(
                    f"'String is too long ({len(value)} chars), maximum {METADATA_VALUE_MAX}' "
                    f"on property client_metadata.{key}"
                )
            if not METADATA_KEY.fullmatch(key):
                raise v.bad_body(f"'Invalid client_metadata key {key!r}' on property client_metadata")
            merged[key] = value
        if len(merged) > METADATA_KEYS_MAX:
            raise v.bad_body("'client_metadata can not have more than 10 keys' on property client_metadata")
        return merged

    def _client_view(
        self, client: dict[str, Any], claims: dict[str, Any], request: Request | None = None
    ) -> dict[str, Any]:
        view = dict(client)
        if "read:client_keys" not in claims["_scopes"]:
            for key in KEY_FIELDS:
                view.pop(key, None)
            if "read:clients" not in claims["_scopes"]:
                view = {k: view[k] for k in ("client_id", "app_type", "name", "description") if k in view}
        return self._fields(request, view) if request else view

    def _client(self, client_id: str) -> dict[str, Any]:
        client = self.data["clients"].get(client_id)
        if client is None:
            raise _not_found("client")
        return client

    def list_clients(self, request: Request, _params: dict[str, str], claims: dict[str, Any]) -> Response:
        items = list(self.data["clients"].values())
        is_global = v.query_bool(request, "is_global")
        if is_global is not None:
            items = [c for c in items if c.get("global") is is_global]
        first_party = v.query_bool(request, "is_first_party")
        if first_party is not None:
            items = [c for c in items if c.get("is_first_party") is first_party]
        if request.arg("app_type"):
            types = set((request.arg("app_type") or "").split(","))
            items = [c for c in items if c.get("app_type") in types]
        return self._offset(request, [self._client_view(c, claims, request) for c in items], "clients")

    def create_client(self, request: Request, _params: dict[str, str], claims: dict[str, Any]) -> Response:
        body = v.sdk_body(request, "clients.create", CLIENT_RULES)
        self._client_limits(body)
        client = self._new_client(body)
        if self.data["tenant_flags"]["enable_client_connections"]:
            for conn in self.data["connections"].values():
                conn["enabled_clients"].append(client["client_id"])
        view = self._client_view(client, claims)
        view["client_secret"] = client["client_secret"]  # the creator always gets the secret once
        return Response(201, view)

    def get_client(self, request: Request, params: dict[str, str], claims: dict[str, Any]) -> Response:
        return Response(200, self._client_view(self._client(params["id"]), claims, request))

    def update_client(self, request: Request, params: dict[str, str], claims: dict[str, Any]) -> Response:
        client = self._client(params["id"])
        body = v.sdk_body(request, "clients.update", CLIENT_RULES)
        self._client_limits(body)
        for key, value in body.items():
            if key == "client_metadata":
                client["client_metadata"] = self._metadata(client.get("client_metadata") or {}, value or {})
            elif key in MERGED_OBJECTS and isinstance(client.get(key), dict):
                client[key] = {**client[key], **value}
            elif value is None:
                client.pop(key, None)
            else:
                client[key] = value
        self.store.touch()
        return Response(200, self._client_view(client, claims))

    @staticmethod
    def _client_limits(body: dict[str, Any]) -> None:
        name = body.get("name")
        if isinstance(name, str) and not name.strip():
            raise v.bad_body("'String is too short (0 chars), minimum 1' on property name")
        if isinstance(name, str) and re.search(r"[<>]", name):
            raise v.bad_body(f"'String does not match pattern ^[^<>]+$: {name}' on property name")
        description = body.get("description")
        if isinstance(description, str) and len(description) > DESCRIPTION_MAX:
            raise v.bad_body(
                f"'String is too long ({len(description)} chars), maximum {DESCRIPTION_MAX}' on property description "
                f"(Free text description of this client (max length: {DESCRIPTION_MAX} characters))"
            )

    def delete_client(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        # The global client holds the tenant's login page settings and comes with the tenant; no
        # public source gives the answer to deleting it: refused like the system resource server.
        if self._client(params["id"]).get("global"):
            raise HTTPError(403, "The global client cannot be deleted", errorCode="operation_not_supported")
        del self.data["clients"][params["id"]]
        for gid in [g for g, grant in self.data["client_grants"].items() if grant["client_id"] == params["id"]]:
            del self.data["client_grants"][gid]
        for conn in self.data["connections"].values():
            if params["id"] in conn["enabled_clients"]:
                conn["enabled_clients"].remove(params["id"])
        self.store.touch()
        return Response(204)

    def deprecated_feature(self, _request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        # The status and message are the real ones (see DEPRECATED_FEATURE); no public source gives
        # the errorCode of this answer, so the emulator names it plainly.
        raise HTTPError(403, DEPRECATED_FEATURE, errorCode="deprecated_feature")

    def rotate_secret(self, _request: Request, params: dict[str, str], claims: dict[str, Any]) -> Response:
        client = self._client(params["id"])
        client["client_secret"] = _rand(64, string.ascii_letters + string.digits + "-_")
        self.store.touch()
        return Response(200, self._client_view(client, claims))

    # ------------------------------------------------------------------ client grants
    def _grant(self, gid: str) -> dict[str, Any]:
        grant = self.data["client_grants"].get(gid)
        if grant is None:
            raise _not_found("client grant")
        return grant

    def list_grants(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        items = list(self.data["client_grants"].values())
        if request.arg("audience"):
            items = [g for g in items if g["audience"] == request.arg("audience")]
        if request.arg("client_id"):
            items = [g for g in items if g["client_id"] == request.arg("client_id")]
        return self._paged(request, items, "client_grants")

    def create_grant(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        body = v.body(request, GRANT_SCHEMA, required=("client_id", "audience"))
        body.setdefault("scope", [])
        self._client(body["client_id"])
        if not any(rs["identifier"] == body["audience"] for rs in self.data["resource_servers"].values()):
            raise HTTPError(
                404, "No resource server found by specified audience", errorCode="inexistent_resource_server"
            )
        for grant in self.data["client_grants"].values():
            if grant["client_id"] == body["client_id"] and grant["audience"] == body["audience"]:
                raise HTTPError(
                    409, "A client grant for this client and audience already exists.", errorCode="conflict"
                )
        gid = "cgr_" + _rand(16)
        grant = {"id": gid, "is_system": False, "subject_type": "client", **body}
        self.data["client_grants"][gid] = grant
        self.store.touch()
        return Response(201, grant)

    def get_grant(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        return Response(200, self._grant(params["id"]))

    def update_grant(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        grant = self._grant(params["id"])
        body = v.body(request, {k: GRANT_SCHEMA[k] for k in ("scope", "organization_usage", "allow_any_organization")})
        grant.update(body)
        self.store.touch()
        return Response(200, grant)

    def delete_grant(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._grant(params["id"])
        del self.data["client_grants"][params["id"]]
        self.store.touch()
        return Response(204)

    # ------------------------------------------------------------------ resource servers
    def _resource_server(self, key: str) -> dict[str, Any]:
        for rs in self.data["resource_servers"].values():
            if key in (rs["id"], rs["identifier"]):
                return rs
        raise _not_found("resource server")

    def list_resource_servers(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        items = list(self.data["resource_servers"].values())
        identifiers = request.query.get("identifiers")
        if identifiers:
            items = [rs for rs in items if rs["identifier"] in identifiers]
        return self._offset(request, items, "resource_servers")

    def create_resource_server(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        body = v.body(request, RESOURCE_SERVER_SCHEMA, required=("identifier",))
        if any(rs["identifier"] == body["identifier"] for rs in self.data["resource_servers"].values()):
            raise HTTPError(409, "A resource server with the same identifier already exists", errorCode="conflict")
        rid = _rand(24, "0123456789abcdef")
        rs = {
            "id": rid,
            "name": body.get("name", body["identifier"]),
            "is_system": False,
            "signing_alg": "RS256",
            "scopes": [],
            "allow_offline_access": False,
            "token_lifetime": 86400,
            "token_lifetime_for_web": 7200,
            "skip_consent_for_verifiable_first_party_clients": True,
            **body,
        }
        self.data["resource_servers"][rid] = rs
        self.store.touch()
        return Response(201, rs)

    def get_resource_server(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        return Response(200, self._resource_server(params["id"]))

    def update_resource_server(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        rs = self._resource_server(params["id"])
        body = v.body(request, {k: c for k, c in RESOURCE_SERVER_SCHEMA.items() if k != "identifier"})
        if rs.get("is_system"):
            raise HTTPError(403, "You cannot update a system resource server", errorCode="operation_not_supported")
        rs.update(body)
        self.store.touch()
        return Response(200, rs)

    def delete_resource_server(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        rs = self._resource_server(params["id"])
        if rs.get("is_system"):
            raise HTTPError(403, "You cannot delete a system resource server", errorCode="operation_not_supported")
        del self.data["resource_servers"][rs["id"]]
        self.store.touch()
        return Response(204)

    # ------------------------------------------------------------------ roles
    def _role(self, rid: str) -> dict[str, Any]:
        role = self.data["roles"].get(rid)
        if role is None:
            raise _not_found("role")
        return role

    def list_roles(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        items = list(self.data["roles"].values())
        name_filter = (request.arg("name_filter") or "").lower()
        if name_filter:
            items = [r for r in items if name_filter in r["name"].lower()]
        return self._offset(request, items, "roles")

    def create_role(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        body = v.sdk_body(request, "roles.create")
        if any(r["name"] == body["name"] for r in self.data["roles"].values()):
            raise HTTPError(409, "Role name already exists", errorCode="role_already_exists")
        rid = "rol_" + _rand(16)
        role = {"id": rid, "name": body["name"], "description": body.get("description", "")}
        self.data["roles"][rid] = role
        self.store.touch()
        return Response(200, role)

    def get_role(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        return Response(200, self._role(params["id"]))

    def update_role(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        role = self._role(params["id"])
        body = v.sdk_body(request, "roles.update")
        if "name" in body and any(
            r["name"] == body["name"] and r["id"] != role["id"] for r in self.data["roles"].values()
        ):
            raise HTTPError(409, "Role name already exists", errorCode="role_already_exists")
        role.update(body)
        self.store.touch()
        return Response(200, role)

    def delete_role(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._role(params["id"])
        del self.data["roles"][params["id"]]
        self.data["role_permissions"].pop(params["id"], None)
        self.data["role_users"].pop(params["id"], None)
        self.store.touch()
        return Response(200)

    def _permission_body(self, request: Request) -> list[dict[str, str]]:
        body = v.body(request, {"permissions": v.dict_list}, required=("permissions",))
        perms = []
        for perm in body["permissions"]:
            if set(perm) != {"resource_server_identifier", "permission_name"}:
                raise v.bad_body(
                    "'permissions items need resource_server_identifier and permission_name' on property permissions"
                )
            rs = self._resource_server(perm["resource_server_identifier"])
            if not any(s.get("value") == perm["permission_name"] for s in rs.get("scopes", [])):
                raise HTTPError(400, f"Permission {perm['permission_name']} does not exist", errorCode="invalid_body")
            perms.append(perm)
        return perms

    def list_role_permissions(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._role(params["id"])
        items = []
        for perm in self.data["role_permissions"].get(params["id"], []):
            rs = self._resource_server(perm["resource_server_identifier"])
            items.append({**perm, "resource_server_name": rs["name"], "description": perm["permission_name"]})
        return self._offset(request, items, "permissions")

    def add_role_permissions(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._role(params["id"])
        current = self.data["role_permissions"].setdefault(params["id"], [])
        for perm in self._permission_body(request):
            if perm not in current:
                current.append(perm)
        self.store.touch()
        return Response(201)

    def remove_role_permissions(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._role(params["id"])
        drop = self._permission_body(request)
        self.data["role_permissions"][params["id"]] = [
            p for p in self.data["role_permissions"].get(params["id"], []) if p not in drop
        ]
        self.store.touch()
        return Response(200)

    @staticmethod
    def _user_summary(user: dict[str, Any]) -> dict[str, Any]:
        return {k: user.get(k) for k in ("user_id", "email", "picture", "name")}

    def list_role_users(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._role(params["id"])
        members = [
            self.data["users"][u] for u in self.data["role_users"].get(params["id"], []) if u in self.data["users"]
        ]
        return self._paged(request, [self._user_summary(u) for u in members], "users", id_key="user_id")

    def assign_role_users(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._role(params["id"])
        body = v.body(request, {"users": v.str_list}, required=("users",))
        for uid in body["users"]:
            if uid not in self.data["users"]:
                raise HTTPError(404, f"User {uid} not found", errorCode="inexistent_user")
        members = self.data["role_users"].setdefault(params["id"], [])
        for uid in body["users"]:
            if uid not in members:
                members.append(uid)
        self.store.touch()
        return Response(200)

    # ------------------------------------------------------------------ users (minimal)
    def _user(self, uid: str) -> dict[str, Any]:
        user = self.data["users"].get(uid)
        if user is None:
            raise _not_found("user")
        return user

    def list_users(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        items = list(self.data["users"].values())
        query = request.arg("q") or ""
        match = re.fullmatch(r'email:"?([^"]+)"?', query.strip())
        if query and not match:
            raise HTTPError(400, 'The sandbox only supports q=email:"..."', errorCode="invalid_query_string")
        if match:
            items = [u for u in items if u["email"] == match.group(1).lower()]
        return self._offset(request, items, "users")

    def create_user(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        body = v.body(request, USER_SCHEMA, required=("connection",))
        if not any(c["name"] == body["connection"] for c in self.data["connections"].values()):
            raise HTTPError(400, "The connection does not exist.", errorCode="inexistent_connection")
        email = (body.get("email") or "").lower()
        if not email:
            raise v.bad_body("'Missing required property: email'")
        if any(
            u["email"] == email and u["identities"][0]["connection"] == body["connection"]
            for u in self.data["users"].values()
        ):
            raise HTTPError(409, "The user already exists.", errorCode="auth0_idp_error")
        uid = "auth0|" + (body.get("user_id") or _rand(24, "0123456789abcdef"))
        now = _now_iso()
        user = {
            "user_id": uid,
            "email": email,
            "email_verified": bool(body.get("email_verified", False)),
            "name": body.get("name", email),
            "nickname": body.get("nickname", email.split("@")[0]),
            "picture": body.get("picture", "https://s.gravatar.com/avatar/sandbox.png"),
            "identities": [
                {
                    "connection": body["connection"],
                    "provider": "auth0",
                    "user_id": uid.split("|", 1)[1],
                    "isSocial": False,
                }
            ],
            "user_metadata": body.get("user_metadata", {}),
            "app_metadata": body.get("app_metadata", {}),
            "created_at": now,
            "updated_at": now,
        }
        self.data["users"][uid] = user
        self.store.touch()
        return Response(201, user)

    def users_by_email(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        email = (request.arg("email") or "").lower()
        if not email:
            raise HTTPError(
                400, "Query validation error: 'Missing required property: email'.", errorCode="invalid_query_string"
            )
        users = [self._fields(request, u) for u in self.data["users"].values() if u["email"] == email]
        return Response(200, users)

    def get_user(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        return Response(200, self._fields(request, self._user(params["id"])))

    def delete_user(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self.data["users"].pop(params["id"], None)
        for members in self.data["role_users"].values():
            if params["id"] in members:
                members.remove(params["id"])
        self.store.touch()
        return Response(204)

    def list_user_roles(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._user(params["id"])
        roles = [self.data["roles"][r] for r, members in self.data["role_users"].items() if params["id"] in members]
        return self._offset(request, roles, "roles")

    def _role_ids(self, request: Request) -> list[str]:
        body = v.body(request, {"roles": v.str_list}, required=("roles",))
        for rid in body["roles"]:
            self._role(rid)
        return body["roles"]

    def assign_user_roles(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._user(params["id"])
        for rid in self._role_ids(request):
            members = self.data["role_users"].setdefault(rid, [])
            if params["id"] not in members:
                members.append(params["id"])
        self.store.touch()
        return Response(204)

    def remove_user_roles(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._user(params["id"])
        for rid in self._role_ids(request):
            members = self.data["role_users"].get(rid, [])
            if params["id"] in members:
                members.remove(params["id"])
        self.store.touch()
        return Response(204)

    # ------------------------------------------------------------------ actions
    def _action(self, aid: str) -> dict[str, Any]:
        action = self.data["actions"].get(aid)
        if action is None:
            raise _not_found("action")
        return action

    @staticmethod
    def _action_view(action: dict[str, Any]) -> dict[str, Any]:
        return {k: val for k, val in action.items() if not k.startswith("_")}

    @staticmethod
    def _check_triggers(triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(triggers) != 1:
            raise v.bad_body("'An action can only target a single trigger' on property supported_triggers")
        for trigger in triggers:
            if trigger.get("id") not in TRIGGERS:
                raise v.bad_body(f"'Invalid trigger {trigger.get('id')!r}' on property supported_triggers")
            trigger.setdefault("version", TRIGGERS[trigger["id"]])
        return triggers

    @staticmethod
    def _secrets_view(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"name": s.get("name"), "updated_at": _now_iso()} for s in items]

    def list_actions(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        items = list(self.data["actions"].values())
        if request.arg("triggerId"):
            items = [a for a in items if any(t["id"] == request.arg("triggerId") for t in a["supported_triggers"])]
        if request.arg("actionName"):
            items = [a for a in items if a["name"] == request.arg("actionName")]
        deployed = v.query_bool(request, "deployed")
        if deployed is not None:
            items = [a for a in items if bool(a.get("deployed_version")) is deployed]
        page = v.query_int(request, "page", 0)
        per_page = v.query_int(request, "per_page", 50, minimum=1, maximum=100)
        chunk = [self._action_view(a) for a in items[page * per_page : (page + 1) * per_page]]
        return Response(200, {"actions": chunk, "total": len(items), "page": page, "per_page": per_page})

    def create_action(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        body = v.sdk_body(request, "actions.create", ACTION_RULES)
        if any(a["name"] == body["name"] for a in self.data["actions"].values()):
            raise HTTPError(
                409, f"An action with the name '{body['name']}' already exists.", errorCode="action_conflict"
            )
        now = _now_iso()
        aid = str(uuid.uuid4())
        action = {
            "id": aid,
            "name": body["name"],
            "supported_triggers": self._check_triggers(body["supported_triggers"]),
            "code": body.get("code", ""),
            "dependencies": body.get("dependencies", []),
            "runtime": body.get("runtime", "node22"),
            "secrets": self._secrets_view(body.get("secrets", [])),
            "status": "pending",
            "all_changes_deployed": False,
            "created_at": now,
            "updated_at": now,
            "_changed": time.time(),
        }
        if body.get("deploy"):
            action["_deploy_when_built"] = True
        self.data["actions"][aid] = action
        self.data["versions"][aid] = []
        self.store.touch()
        return Response(201, self._action_view(action))

    def get_action(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        return Response(200, self._action_view(self._action(params["id"])))

    def update_action(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        action = self._action(params["id"])
        body = v.sdk_body(request, "actions.update", ACTION_RULES)
        if "supported_triggers" in body:
            body["supported_triggers"] = self._check_triggers(body["supported_triggers"])
        if "secrets" in body:
            body["secrets"] = self._secrets_view(body["secrets"])
        if "name" in body and any(
            a["name"] == body["name"] and a["id"] != action["id"] for a in self.data["actions"].values()
        ):
            raise HTTPError(
                409, f"An action with the name '{body['name']}' already exists.", errorCode="action_conflict"
            )
        action.update(body)
        action.update(status="pending", all_changes_deployed=False, updated_at=_now_iso(), _changed=time.time())
        self.store.touch()
        return Response(200, self._action_view(action))

    def delete_action(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._action(params["id"])
        bound = [t for t, items in self.data["bindings"].items() if any(b["_action_id"] == params["id"] for b in items)]
        if bound and v.query_bool(request, "force") is not True:
            raise HTTPError(
                400,
                f"The action is bound to triggers ({', '.join(bound)}); unbind it or pass force=true.",
                errorCode="action_is_bound",
            )
        for trigger in bound:
            self.data["bindings"][trigger] = [
                b for b in self.data["bindings"][trigger] if b["_action_id"] != params["id"]
            ]
        del self.data["actions"][params["id"]]
        self.data["versions"].pop(params["id"], None)
        self.store.touch()
        return Response(204)

    def _deploy(self, action: dict[str, Any]) -> dict[str, Any]:
        versions = self.data["versions"].setdefault(action["id"], [])
        for old in versions:
            old["deployed"] = False
        now = _now_iso()
        version = {
            "id": str(uuid.uuid4()),
            "action_id": action["id"],
            "code": action["code"],
            "dependencies": action["dependencies"],
            "runtime": action["runtime"],
            "secrets": action["secrets"],
            "supported_triggers": action["supported_triggers"],
            "deployed": True,
            "number": len(versions) + 1,
            "status": "built",
            "built_at": now,
            "created_at": now,
            "updated_at": now,
            "errors": [],
        }
        versions.append(version)
        action["deployed_version"] = version
        action["all_changes_deployed"] = True
        self.store.touch()
        return version

    def deploy_action(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        action = self._action(params["id"])
        if action["status"] != "built":
            raise HTTPError(
                400,
                f"Action '{action['name']}' is not built yet (status: {action['status']}).",
                errorCode="action_not_built",
            )
        version = self._deploy(action)
        return Response(
            200,
            {
                **version,
                "action": {k: action[k] for k in ("id", "name", "supported_triggers", "created_at", "updated_at")},
            },
        )

    def list_versions(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._action(params["id"])
        items = list(reversed(self.data["versions"].get(params["id"], [])))
        page = v.query_int(request, "page", 0)
        per_page = v.query_int(request, "per_page", 50, minimum=1, maximum=100)
        chunk = items[page * per_page : (page + 1) * per_page]
        return Response(200, {"versions": chunk, "total": len(items), "page": page, "per_page": per_page})

    def get_version(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._action(params["action_id"])
        for version in self.data["versions"].get(params["action_id"], []):
            if version["id"] == params["id"]:
                return Response(200, version)
        raise _not_found("action version")

    def list_triggers(self, _request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        triggers = [
            {
                "id": tid,
                "version": version,
                "status": "CURRENT",
                "runtimes": list(RUNTIMES),
                "default_runtime": "node22",
                "binding_policy": "trigger-bound",
            }
            for tid, version in TRIGGERS.items()
        ]
        return Response(200, {"triggers": triggers})

    def _trigger(self, trigger: str) -> str:
        if trigger not in TRIGGERS:
            raise HTTPError(404, f"Trigger '{trigger}' does not exist.", errorCode="inexistent_trigger")
        return trigger

    def _binding_view(self, binding: dict[str, Any]) -> dict[str, Any]:
        view = {k: val for k, val in binding.items() if not k.startswith("_")}
        action = self.data["actions"].get(binding["_action_id"])
        if action:
            view["action"] = {
                k: action[k]
                for k in ("id", "name", "supported_triggers", "created_at", "updated_at", "all_changes_deployed")
            }
        return view

    def list_bindings(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        trigger = self._trigger(params["trigger"])
        items = [self._binding_view(b) for b in self.data["bindings"].get(trigger, [])]
        page = v.query_int(request, "page", 0)
        per_page = v.query_int(request, "per_page", 20, minimum=1, maximum=100)
        chunk = items[page * per_page : (page + 1) * per_page]
        return Response(200, {"bindings": chunk, "total": len(items), "page": page, "per_page": per_page})

    def _resolve_ref(self, trigger: str, ref: dict[str, Any]) -> dict[str, Any]:
        kind, value = ref.get("type"), ref.get("value")
        if kind == "binding_id":
            for binding in self.data["bindings"].get(trigger, []):
                if binding["id"] == value:
                    return self.data["actions"][binding["_action_id"]]
            raise _not_found("binding")
        if kind == "action_id":
            action = self.data["actions"].get(value or "")
        elif kind == "action_name":
            action = next((a for a in self.data["actions"].values() if a["name"] == value), None)
        else:
            raise v.bad_body("'ref.type must be one of binding_id, action_id, action_name' on property bindings")
        if action is None:
            raise HTTPError(404, f"Action '{value}' does not exist.", errorCode="inexistent_action")
        return action

    def update_bindings(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        trigger = self._trigger(params["trigger"])
        body = v.body(request, {"bindings": v.dict_list})
        previous = {b["_action_id"]: b for b in self.data["bindings"].get(trigger, [])}
        new: list[dict[str, Any]] = []
        for item in body.get("bindings", []):
            if not isinstance(item.get("ref"), dict):
                raise v.bad_body("'Missing required property: ref' on property bindings")
            action = self._resolve_ref(trigger, item["ref"])
            if not any(t["id"] == trigger for t in action["supported_triggers"]):
                raise HTTPError(
                    400, f"Action '{action['name']}' does not support trigger '{trigger}'.", errorCode="invalid_body"
                )
            if not action.get("deployed_version"):
                raise HTTPError(
                    400, f"Action '{action['name']}' has not been deployed.", errorCode="action_not_deployed"
                )
            now = _now_iso()
            old = previous.get(action["id"])
            new.append(
                {
                    "id": old["id"] if old else str(uuid.uuid4()),
                    "trigger_id": trigger,
                    "display_name": item.get("display_name") or action["name"],
                    "created_at": old["created_at"] if old else now,
                    "updated_at": now,
                    "_action_id": action["id"],
                }
            )
        self.data["bindings"][trigger] = new
        self.store.touch()
        return Response(200, {"bindings": [self._binding_view(b) for b in new]})

    # ------------------------------------------------------------------ connections
    def _connection(self, cid: str) -> dict[str, Any]:
        conn = self.data["connections"].get(cid)
        if conn is None:
            raise _not_found("connection")
        return conn

    def list_connections(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        items = list(self.data["connections"].values())
        strategies = request.query.get("strategy")
        if strategies:
            items = [c for c in items if c["strategy"] in strategies]
        if request.arg("name"):
            items = [c for c in items if c["name"] == request.arg("name")]
        # The list's items (ConnectionForList in auth0-python 6.8.0) carry no enabled_clients: a
        # connection's clients are read with GET /connections/{id}/clients.
        items = [self._fields(request, {k: val for k, val in c.items() if k != "enabled_clients"}) for c in items]
        return self._paged(request, items, "connections")

    def create_connection(self, request: Request, _params: dict[str, str], _claims: dict[str, Any]) -> Response:
        body = v.body(request, CONNECTION_SCHEMA, required=("name", "strategy"))
        if any(c["name"] == body["name"] for c in self.data["connections"].values()):
            raise HTTPError(409, "A connection with the same name already exists", errorCode="connection_conflict")
        cid = "con_" + _rand(16)
        conn = {
            "id": cid,
            "options": {},
            "enabled_clients": [],
            "is_domain_connection": False,
            "realms": [body["name"]],
            **body,
        }
        self.data["connections"][cid] = conn
        self.store.touch()
        return Response(201, conn)

    def get_connection(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        return Response(200, self._fields(request, self._connection(params["id"])))

    def update_connection(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        conn = self._connection(params["id"])
        body = v.body(request, {k: c for k, c in CONNECTION_SCHEMA.items() if k not in {"name", "strategy"}})
        conn.update(body)
        self.store.touch()
        return Response(200, conn)

    def delete_connection(self, _request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        self._connection(params["id"])
        del self.data["connections"][params["id"]]
        self.store.touch()
        return Response(202, {"deleted_at": _now_iso()})

    def list_connection_clients(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        conn = self._connection(params["id"])
        items = [{"client_id": c} for c in conn["enabled_clients"]]
        return self._checkpoint(request, items, "clients", id_key="client_id", take_max=CONNECTION_CLIENTS_TAKE_MAX)

    def update_connection_clients(self, request: Request, params: dict[str, str], _claims: dict[str, Any]) -> Response:
        conn = self._connection(params["id"])
        changes = v.sdk_whole_body(request, "connections.clients.update")
        if not changes:
            raise v.bad_body("'Array is too short (0), minimum 1'")
        if len(changes) > CONNECTION_CLIENTS_PATCH_MAX:
            raise v.bad_body(f"'Array is too long ({len(changes)}), maximum {CONNECTION_CLIENTS_PATCH_MAX}'")
        for change in changes:  # every client first: a refused request changes nothing
            self._client(change["client_id"])
        for change in changes:
            if change["status"] and change["client_id"] not in conn["enabled_clients"]:
                conn["enabled_clients"].append(change["client_id"])
            if not change["status"] and change["client_id"] in conn["enabled_clients"]:
                conn["enabled_clients"].remove(change["client_id"])
        self.store.touch()
        return Response(204)
