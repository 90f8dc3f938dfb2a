"""Custom-scoped tokens: the scope every route of the emulator needs.

DigitalOcean personal access tokens are either full access or carry custom scopes
(``<resource>:read|create|update|delete``; docs.digitalocean.com/reference/api/create-personal-access-token).
Each operation of the OpenAPI spec (github.com/digitalocean/openapi, commit 7c1300c4) names what it
needs in its ``security`` list, e.g. ``specification/resources/domains/domains_list.yml``::

    security:
      - bearer_auth:
        - 'domain:read'

OpenAPI's rule: the token must hold every scope of one entry of that list (entries are
alternatives: ``domains_create_record.yml`` takes ``domain:create`` or ``domain:update``).
``REQUIRED`` copies those lists, keyed by the spec's method and path template, for every route
the emulator serves (plus the load balancers, so their routes need only their handlers). A
scoped token asking for a route with no entry here is refused, like one lacking the scope.
"""

from __future__ import annotations

import functools
import re

Requirement = tuple[tuple[str, ...], ...]

DNS_SCOPES = frozenset(("domain:read", "domain:create", "domain:update", "domain:delete"))
# The answer to a token lacking the scope: 403 with the API's error body (id "forbidden",
# shared/responses/forbidden.yml), and the message DigitalOcean gives a custom-scoped token
# (github.com/ansible-collections/community.digitalocean/issues/375).
FORBIDDEN_MESSAGE = "You are not authorized to perform this operation."


def _one(*scopes: str) -> Requirement:
    return (scopes,)


def _any(*scopes: str) -> Requirement:
    return tuple((s,) for s in scopes)


K, P, D, S, LB = (
    "/v2/kubernetes/clusters/{cluster_id}",
    "/v2/projects/{project_id}",
    "/v2/domains/{domain_name}",
    "/v2/spaces/keys/{access_key}",
    "/v2/load_balancers/{lb_id}",
)
# (method, spec path) -> alternatives, each the scopes it needs together; the spec file of each
# is specification/resources/<group>/<operation>.yml, its operationId.
REQUIRED: dict[tuple[str, str], Requirement] = {
    ("GET", "/v2/account"): _one("account:read"),  # account/account_get.yml
    ("GET", "/v2/regions"): _one("regions:read"),  # regions/regions_list.yml
    ("GET", "/v2/sizes"): _one("sizes:read", "regions:read"),  # sizes/sizes_list.yml
    # kubernetes/kubernetes_*.yml
    ("GET", "/v2/kubernetes/options"): _one("kubernetes:read"),
    ("GET", "/v2/kubernetes/clusters"): _one("kubernetes:read"),
    ("POST", "/v2/kubernetes/clusters"): _one("kubernetes:create"),
    ("GET", K): _one("kubernetes:read"),
    ("PUT", K): _one("kubernetes:update"),
    ("DELETE", K): _one("kubernetes:delete"),
    ("GET", K + "/upgrades"): _one("kubernetes:read"),
    ("POST", K + "/upgrade"): _one("kubernetes:update"),
    ("GET", K + "/kubeconfig"): _one("kubernetes:access_cluster"),
    ("GET", K + "/credentials"): _one("kubernetes:access_cluster"),
    ("GET", K + "/node_pools"): _one("kubernetes:read"),
    ("POST", K + "/node_pools"): _one("kubernetes:update"),
    ("GET", K + "/node_pools/{node_pool_id}"): _one("kubernetes:read"),
    ("PUT", K + "/node_pools/{node_pool_id}"): _one("kubernetes:update"),
    ("DELETE", K + "/node_pools/{node_pool_id}"): _one("kubernetes:update"),
    ("POST", K + "/node_pools/{node_pool_id}/recycle"): _one("kubernetes:delete"),
    # spaces/key_*.yml
    ("GET", "/v2/spaces/keys"): _one("spaces_key:read"),
    ("POST", "/v2/spaces/keys"): _one("spaces_key:create_credentials"),
    ("GET", S): _one("spaces_key:read"),
    ("PUT", S): _one("spaces_key:update"),
    ("PATCH", S): _one("spaces_key:update"),
    ("DELETE", S): _one("spaces_key:delete"),
    # domains/domains_*.yml
    ("GET", "/v2/domains"): _one("domain:read"),
    ("POST", "/v2/domains"): _one("domain:create"),
    ("GET", D): _one("domain:read"),
    ("DELETE", D): _one("domain:delete"),
    ("GET", D + "/records"): _one("domain:read"),
    ("POST", D + "/records"): _any("domain:create", "domain:update"),
    ("GET", D + "/records/{domain_record_id}"): _one("domain:read"),
    ("PUT", D + "/records/{domain_record_id}"): _one("domain:update"),
    ("PATCH", D + "/records/{domain_record_id}"): _one("domain:update"),
    ("DELETE", D + "/records/{domain_record_id}"): _any("domain:delete", "domain:update"),
    # projects/projects_*.yml (/v2/projects/default is one of the {project_id} paths, same scopes)
    ("GET", "/v2/projects"): _one("project:read"),
    ("POST", "/v2/projects"): _one("project:create"),
    ("GET", P): _one("project:read"),
    ("PUT", P): _one("project:update"),
    ("PATCH", P): _one("project:update"),
    ("DELETE", P): _one("project:delete"),
    ("GET", P + "/resources"): _one("project:read"),
    ("POST", P + "/resources"): _one("project:assign_resource"),
    # load_balancers/loadBalancers_*.yml
    ("GET", "/v2/load_balancers"): _one("load_balancer:read"),
    ("POST", "/v2/load_balancers"): _one("load_balancer:create"),
    ("GET", LB): _one("load_balancer:read"),
    ("PUT", LB): _one("load_balancer:update"),
    ("DELETE", LB): _one("load_balancer:delete"),
    ("DELETE", LB + "/cache"): _one("load_balancer:delete"),
    ("POST", LB + "/droplets"): _one("load_balancer:update"),
    ("DELETE", LB + "/droplets"): _one("load_balancer:update"),
    ("POST", LB + "/forwarding_rules"): _one("load_balancer:update"),
    ("DELETE", LB + "/forwarding_rules"): _one("load_balancer:update"),
    # volumes/volumes_*.yml (the list's one entry names the legacy api:read and api:write too: all three)
    ("GET", "/v2/volumes"): _one("api:read", "api:write", "block_storage:read"),
    ("GET", "/v2/volumes/{volume_id}"): _one("block_storage:read"),
    ("DELETE", "/v2/volumes/{volume_id}"): _one("block_storage:delete"),
    # kubernetes/kubernetes_list_associatedResources.yml, kubernetes_destroy_associatedResources*.yml
    ("GET", K + "/destroy_with_associated_resources"): _one("kubernetes:read"),
    ("DELETE", K + "/destroy_with_associated_resources/selective"): _one("kubernetes:delete"),
    ("DELETE", K + "/destroy_with_associated_resources/dangerous"): _one("kubernetes:delete"),
}


@functools.cache
def _patterns() -> list[tuple[str, re.Pattern[str], Requirement]]:
    return [
        (method, re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path)) + "/?$"), need)
        for (method, path), need in REQUIRED.items()
    ]


def required(method: str, path: str) -> Requirement | None:
    """What ``method path`` needs, or None when no route of the spec table matches."""
    return next((need for m, pattern, need in _patterns() if m == method and pattern.match(path)), None)


def allows(scopes: frozenset[str] | None, method: str, path: str) -> bool:
    """A full-access token (``scopes`` None) may do anything; a scoped one what one alternative covers."""
    if scopes is None:
        return True
    need = required(method, path)
    return need is not None and any(scopes.issuperset(alternative) for alternative in need)
