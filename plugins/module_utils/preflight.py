# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cross-field checks of a cluster's inventory that argument specs cannot express.

Every check takes ``get(name, default)`` (which returns the templated value of an inventory
variable, or ``default`` when the variable is not set) and returns a list of
:class:`Problem`. They are pure functions so tests can drive them with plain dicts.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any, Callable, Collection, NamedTuple

Getter = Callable[[str, Any], Any]
Check = Callable[[Getter], "list[Problem]"]

HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHART_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
RELEASE_VERSION = re.compile(r"^v\d+\.\d+\.\d+$")
# An object name that is a DNS subdomain (RFC 1123), as ConfigMap names must be.
CONFIGMAP_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
POOLS = ("gitops_pool_base", "gitops_pool_tools", "gitops_pool_workloads")


class Problem(NamedTuple):
    variable: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}. Fix: {self.fix}"


def is_hostname(value: Any) -> bool:
    if not isinstance(value, str) or not value or len(value) > 253 or value.endswith("."):
        return False
    labels = value.split(".")
    return len(labels) >= 2 and all(HOST_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()


def check_domain(get: Getter) -> list[Problem]:
    problems = []
    domain = get("gitops_domain", None)
    if not is_hostname(domain):
        problems.append(
            Problem(
                "gitops_domain",
                f"{domain!r} is not a DNS domain (lowercase labels of letters, digits and '-', separated by dots)",
                "set it to the zone the platform's hosts live under, for example platform.example.com",
            )
        )
    # names derived from a broken domain would only repeat the finding above
    derived = f".{domain}" if problems else None
    hosts = get("gitops_hosts", {}) or {}
    if not isinstance(hosts, dict):
        return [*problems, Problem("gitops_hosts", "must be a mapping of component to host name", "see roles/gitops")]
    problems += [
        Problem(
            f"gitops_hosts.{key}", f"{host!r} is not a valid host name", f"use a name such as {key}.<gitops_domain>"
        )
        for key, host in hosts.items()
        if not is_hostname(host) and not (derived and str(host).endswith(derived))
    ]
    email = get("gitops_acme_email", None)
    if email is not None and not EMAIL.fullmatch(str(email)) and not (derived and str(email).endswith(derived[1:])):
        problems.append(
            Problem("gitops_acme_email", f"{email!r} is not an e-mail address", "set the address ACME sends notices to")
        )
    return problems


def check_pools(get: Getter) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for var in POOLS:
        name = get(var, None)
        if not isinstance(name, str) or not HOST_LABEL.fullmatch(name):
            problems.append(
                Problem(var, f"{name!r} is not a valid node pool name", "use lowercase letters, digits and '-'")
            )
            continue
        if name in seen:
            problems.append(
                Problem(
                    var, f"pool name {name!r} is also used by {seen[name]}", "give each of the three pools its own name"
                )
            )
        seen[name] = var
    for var in ("gitops_pool_tools_taint", "gitops_pool_workloads_taint"):
        problems += check_taint(var, get(var, None))
    return problems


def check_taint(var: str, taint: Any) -> list[Problem]:
    if not isinstance(taint, dict):
        return [
            Problem(
                var,
                "must be a mapping with key, value and effect",
                "for example {key: tools, value: 'true', effect: NoSchedule}",
            )
        ]
    problems = []
    if taint.get("effect") not in TAINT_EFFECTS:
        problems.append(
            Problem(
                f"{var}.effect",
                f"{taint.get('effect')!r} is not a taint effect",
                f"use one of {', '.join(TAINT_EFFECTS)}",
            )
        )
    for field, pattern, example in (("key", LABEL_KEY, "tools"), ("value", LABEL_VALUE, "'true'")):
        if not pattern.fullmatch(str(taint.get(field, ""))):
            problems.append(
                Problem(
                    f"{var}.{field}",
                    f"{taint.get(field)!r} is not a valid taint {field}",
                    f"use a label-style {field} such as {example}",
                )
            )
    return problems


def check_placement(get: Getter) -> list[Problem]:
    """Placement must point at a pool that exists and tolerate that pool's taint."""
    label = get("gitops_pool_label", "doks.digitalocean.com/node-pool")
    pools = {get(var, None) for var in POOLS}
    problems = []
    for var, pool_var, taint_var in (
        ("gitops_placement_tools", "gitops_pool_tools", "gitops_pool_tools_taint"),
        ("gitops_placement_workloads", "gitops_pool_workloads", "gitops_pool_workloads_taint"),
    ):
        placement = get(var, None)
        if not isinstance(placement, dict):
            problems.append(
                Problem(
                    var, "must be a mapping with nodeSelector and tolerations", "see roles/gitops/defaults/main.yml"
                )
            )
            continue
        target = (placement.get("nodeSelector") or {}).get(label)
        if target not in pools:
            problems.append(
                Problem(
                    f"{var}.nodeSelector",
                    f"selects pool {target!r}, which is none of the declared pools {sorted(p for p in pools if p)}",
                    f"select one of the pools named by {', '.join(POOLS)}",
                )
            )
            continue
        taint = get(taint_var, None) if target == get(pool_var, None) else None
        if isinstance(taint, dict) and not any(_tolerates(t, taint) for t in placement.get("tolerations") or []):
            problems.append(
                Problem(
                    f"{var}.tolerations",
                    f"do not tolerate the taint {_show(taint)} of pool {target!r}",
                    f"add a toleration matching {taint_var}",
                )
            )
    return problems


def _show(taint: dict[str, Any]) -> str:
    return f"{taint.get('key')}={taint.get('value')}:{taint.get('effect')}"


def _tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    if toleration.get("effect") not in (None, "", taint.get("effect")):
        return False
    if toleration.get("operator") == "Exists":
        return toleration.get("key") in (None, "", taint.get("key"))
    return toleration.get("key") == taint.get("key") and str(toleration.get("value")) == str(taint.get("value"))


def check_pins(variables: dict[str, Any]) -> list[Problem]:
    """Chart pins ``*_chart`` and release pins ``*_release`` must carry well-formed versions."""
    problems = []
    for name, value in sorted(variables.items()):
        if name.endswith("_chart") and isinstance(value, dict):
            for key in ("name", "repo", "version"):
                if not value.get(key):
                    problems.append(Problem(f"{name}.{key}", "is missing", "pin the chart as {name, repo, version}"))
            if value.get("version") and not CHART_VERSION.fullmatch(str(value["version"])):
                problems.append(
                    Problem(
                        f"{name}.version",
                        f"{value['version']!r} is not a chart version",
                        "use an exact version such as 1.2.3",
                    )
                )
            if value.get("repo") and not str(value["repo"]).startswith(("https://", "oci://")):
                problems.append(
                    Problem(
                        f"{name}.repo",
                        f"{value['repo']!r} is not an https:// or oci:// URL",
                        "use the chart repository URL",
                    )
                )
        release = name.endswith("_release") and isinstance(value, dict) and "version" in value
        if release and not RELEASE_VERSION.fullmatch(str(value["version"])):
            problems.append(
                Problem(f"{name}.version", f"{value['version']!r} is not a release tag", "use a tag such as v1.15.0")
            )
    return problems


Index = Callable[[str], "dict[str, list[str]] | None"]


def check_chart_versions(pins: dict[str, Any], mirror: str, index_of: Index) -> list[Problem]:
    """Every pinned chart version is published in its repository's ``index.yaml`` (the mirror's when
    ``gitops_helm_repo_mirror`` is set). ``index_of(repo)`` gives chart name -> versions, or None when
    the index cannot be read (offline rendering): then the pin is not judged."""
    problems = []
    for name, pin in sorted(pins.items()):
        if not isinstance(pin, dict) or not all(pin.get(k) for k in ("name", "repo", "version")):
            continue  # check_pins reports it
        repo = str(mirror or pin["repo"]).rstrip("/")
        if repo.startswith("oci://"):
            continue  # an OCI registry has no index.yaml
        index = index_of(repo)
        if index is None:
            continue
        versions = index.get(str(pin["name"]))
        if versions is None:
            problems.append(
                Problem(
                    f"{name}.name",
                    f"chart {pin['name']!r} is not in {repo}/index.yaml",
                    "pin a chart that repository publishes (check the name and the repo)",
                )
            )
        elif str(pin["version"]) not in versions:
            near = nearest_versions(str(pin["version"]), versions)
            problems.append(
                Problem(
                    f"{name}.version",
                    f"{pin['version']!r} of chart {pin['name']} is not in {repo}/index.yaml",
                    f"pin a published version; nearest: {', '.join(near) or 'none published'}",
                )
            )
    return problems


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version.split("-", 1)[0].split("+", 1)[0])[:3])


def nearest_versions(wanted: str, versions: list[str], count: int = 3) -> list[str]:
    """The published versions closest to ``wanted`` (same major first, then minor, then patch)."""
    target = (*_numbers(wanted), 0, 0, 0)

    def distance(version: str) -> tuple[int, ...]:
        have = (*_numbers(version), 0, 0, 0)
        return tuple(abs(have[i] - target[i]) for i in range(3))

    stable = [v for v in versions if "-" not in v] or list(versions)
    return sorted(sorted(stable, key=distance)[:count], key=_numbers, reverse=True)


K8S_VERSION = re.compile(r"^(latest|\d+\.\d+(\.\d+(-do\.\d+)?)?)$")
POOL_PREFIXES = ("base", "tools", "workloads")


def _enabled(get: Getter, role: str) -> bool:
    return str(get(f"{role}_enabled", True)).lower() in ("true", "1", "yes", "on")


def _missing(get: Getter, names: tuple[str, ...], fix: str) -> list[Problem]:
    return [Problem(name, "is empty", fix) for name in names if not str(get(name, "") or "").strip()]


def _missing_if_set(get: Getter, names: tuple[str, ...], fix: str) -> list[Problem]:
    """:func:`_missing` of the variables the getter has (with the role defaults it has them all)."""
    return [p for p in _missing(get, names, fix) if get(p.variable, None) is not None]


def check_doks_credentials(get: Getter) -> list[Problem]:
    """The credentials doks_cluster needs are present (their values are never shown)."""
    if not _enabled(get, "doks_cluster"):
        return []
    problems = _missing(
        get,
        ("doks_cluster_api_token",),
        "export DIGITALOCEAN_TOKEN (or set it from ansible-vault), "
        "or set doks_cluster_enabled: false for an existing cluster",
    )
    if str(get("doks_cluster_spaces_enabled", True)).lower() in ("true", "1", "yes", "on"):
        problems += _missing(
            get,
            ("doks_cluster_spaces_access_key_id", "doks_cluster_spaces_secret_access_key"),
            "export SPACES_ACCESS_KEY_ID and SPACES_SECRET_ACCESS_KEY (admin Spaces keys create the logs bucket)",
        )
    return problems


def check_auth0_credentials(get: Getter) -> list[Problem]:
    """The credentials auth0_apps needs are present (their values are never shown)."""
    if not _enabled(get, "auth0_apps"):
        return []
    return _missing(
        get,
        ("auth0_apps_domain", "auth0_apps_client_id", "auth0_apps_client_secret"),
        "export AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET, or set auth0_apps_enabled: false",
    )


def check_node_pools(get: Getter) -> list[Problem]:
    """doks_cluster's node counts, size and region slugs and Kubernetes version."""
    problems: list[Problem] = []
    if _enabled(get, "doks_cluster"):
        for pool in POOL_PREFIXES:
            problems += _check_pool_counts(get, f"doks_cluster_{pool}")
        problems += _check_slugs(get)
        version = get("doks_cluster_version", None)
        if version is not None and not K8S_VERSION.match(str(version)):
            problems.append(
                Problem(
                    "doks_cluster_version",
                    f"{version!r} is not a DOKS version",
                    "use latest, a minor prefix such as 1.34, or an exact slug such as 1.34.1-do.0",
                )
            )
    return problems


# lower-case letters and digits, joined by - or _ (GET /v2/sizes has so1_5-2vcpu-16gb)
SIZE_SLUG = re.compile(r"^[a-z0-9]+([-_][a-z0-9]+)*$")
REGION_SLUG = re.compile(r"^[a-z]{3}[0-9]$")


def _check_slugs(get: Getter) -> list[Problem]:
    """Droplet size and region slugs are lower case (``GET /v2/sizes``, ``/v2/regions``); an upper-case
    size or a misspelt region would otherwise surface as "cannot change" on an existing cluster."""
    problems = []
    for pool in POOL_PREFIXES:
        var = f"doks_cluster_{pool}_size"
        size = get(var, None)
        if size is not None and not SIZE_SLUG.fullmatch(str(size)):
            problems.append(
                Problem(
                    var,
                    f"{size!r} is not a droplet size slug (slugs are lower case)",
                    f"use the lower-case slug, for example {_lower_or(str(size), 's-2vcpu-4gb')} "
                    "(doctl kubernetes options sizes lists them)",
                )
            )
    region = get("doks_cluster_region", None)
    if region is not None and not REGION_SLUG.fullmatch(str(region)):
        problems.append(
            Problem(
                "doks_cluster_region",
                f"{region!r} is not a region slug (three lower-case letters and a digit)",
                "use a DOKS region such as fra1, ams3 or nyc1 (doctl kubernetes options regions lists them)",
            )
        )
    return problems


def _lower_or(value: str, example: str) -> str:
    return value.lower() if SIZE_SLUG.fullmatch(value.lower()) else example


def _check_pool_counts(get: Getter, prefix: str) -> list[Problem]:
    low, high, count = (get(f"{prefix}_{k}", None) for k in ("min_nodes", "max_nodes", "count"))
    if not all(isinstance(v, int) for v in (low, high, count)):
        return []  # types are the argument specs' job
    autoscale = str(get(f"{prefix}_autoscale", False)).lower() in ("true", "1", "yes", "on")
    if low > high:
        return [
            Problem(f"{prefix}_min_nodes", f"{low} is above {prefix}_max_nodes ({high})", "make min_nodes <= max_nodes")
        ]
    if autoscale and not low <= count <= high:
        return [
            Problem(
                f"{prefix}_count",
                f"{count} is outside {prefix}_min_nodes..max_nodes ({low}..{high})",
                "keep count within the autoscaling range",
            )
        ]
    if count < 1:
        return [Problem(f"{prefix}_count", f"{count} nodes cannot run anything", "use at least 1")]
    return []


GIT_URL = re.compile(r"^(https://|ssh://|git@[A-Za-z0-9.-]+:)\S+$")
GIT_URL_FIX = "write https://host/owner/repo.git (or ssh://host/owner/repo.git, git@host:owner/repo.git)"
LOCAL_HTTP = re.compile(r"^http://(localhost|127\.0\.0\.1)(:\d+)?(/|$)")
GROUP_MAPPINGS = (
    ("observability_grafana_admin_groups", "observability"),
    ("observability_grafana_editor_groups", "observability"),
    ("observability_grafana_viewer_groups", "observability"),
    ("tekton_dashboard_allowed_groups", "tekton"),
    ("ingress_certmanager_oauth2_proxy_allowed_groups", "ingress_certmanager"),
)
URL_LISTS = ("callbacks", "allowed_logout_urls", "web_origins", "allowed_origins")


def _sso_groups(get: Getter) -> dict[str, str] | None:
    """The groups the claim carries (gitops_sso_group_names), when auth0_apps creates them in this run's tenant."""
    if not get("gitops_sso_enabled", False) or not _enabled(get, "auth0_apps"):
        return None
    names = get("gitops_sso_group_names", None)
    return names if isinstance(names, dict) else None


def group_references(role: str) -> Check:
    """The check that ``role``'s SSO group mappings name groups the claim carries."""

    def check(get: Getter) -> list[Problem]:
        groups = _sso_groups(get)
        if groups is None or not _enabled(get, role):
            return []
        known = set(groups.values())
        fix = f"name one of the Auth0 groups ({', '.join(sorted(known))}), or add the group to auth0_apps_groups"
        problems: list[Problem] = []
        for var, owner in GROUP_MAPPINGS:
            value = get(var, None)
            if owner != role or not isinstance(value, list):
                continue
            problems += [
                Problem(var, f"names {g!r}, which is not an Auth0 group of this run", fix)
                for g in value
                if g not in known
            ]
        roles = get("argocd_rbac_group_roles", None)
        if role == "argocd" and isinstance(roles, dict):
            problems += [
                Problem("argocd_rbac_group_roles", f"maps {g!r}, which is not an Auth0 group of this run", fix)
                for g in roles
                if g not in known
            ]
        return problems

    check.__name__ = check.__qualname__ = f"check_{role}_group_references"
    return check


def check_auth0_urls(get: Getter) -> list[Problem]:
    apps = get("auth0_apps_extra_apps", None)
    if not _enabled(get, "auth0_apps") or not isinstance(apps, dict):
        return []
    problems: list[Problem] = []
    for key, app in apps.items():
        if not isinstance(app, dict):
            continue
        for field in URL_LISTS:
            for url in app.get(field) or []:
                if not str(url).startswith("https://") and not LOCAL_HTTP.match(str(url)):
                    problems.append(
                        Problem(
                            f"auth0_apps_extra_apps.{key}.{field}",
                            f"{url!r} is not an https:// URL (tokens would travel in clear)",
                            "use https:// (http:// only for localhost while developing)",
                        )
                    )
    return problems


def check_auth0_members(get: Getter) -> list[Problem]:
    groups = get("auth0_apps_groups", None)
    if not _enabled(get, "auth0_apps") or not isinstance(groups, dict):
        return []
    return [
        Problem(
            f"auth0_apps_groups.{key}.members",
            f"{member!r} is not an e-mail address (members are found by the e-mail of their Auth0 user)",
            "list the members' e-mail addresses",
        )
        for key, group in groups.items()
        if isinstance(group, dict)
        for member in group.get("members") or []
        if not EMAIL.fullmatch(str(member).strip())
    ]


def check_git_urls(get: Getter) -> list[Problem]:
    if not _enabled(get, "lofi_pipeline"):
        return []
    found = [("lofi_pipeline_gitops_repo_url", get("lofi_pipeline_gitops_repo_url", ""))]
    found.append(("lofi_pipeline_source_repo_url", get("lofi_pipeline_source_repo_url", "")))
    for index, app in enumerate(get("lofi_pipeline_apps", None) or []):
        if isinstance(app, dict):
            found += [(f"lofi_pipeline_apps[{index}].{k}", app.get(k)) for k in ("gitops_repo_url", "source_repo_url")]
    return [
        Problem(
            var,
            f"{url!r} is not a git URL with a scheme",
            GIT_URL_FIX,
        )
        for var, url in found
        if url and isinstance(url, str) and not GIT_URL.match(url.strip())
    ]


# Variables the collection no longer reads: (what replaces it, why it went).
REPLACED: dict[str, tuple[str, str]] = {
    "ingress_certmanager_controller": (
        "gitops_ingress_controller",
        "its only legal value was gitops_ingress_controller, which every role reads",
    ),
    "ingress_certmanager_oauth2_proxy_gated_hosts": (
        "gitops_sso_gated_hosts",
        "the gated hosts are one shared list: auth0_apps' callbacks and the gate's routes derive from it",
    ),
}


def check_unknown(names: list[str], declared: Collection[str], prefixes: tuple[str, ...]) -> list[Problem]:
    """Variables with one of the collection's prefixes that no role declares are typos.

    ``names`` are the variables the host sees, ``declared`` every name a role declares (argument
    specs, defaults, vars) or sets itself (facts, registered results). A variable such as
    ``observability_grafana_admin_group`` (singular) would otherwise be ignored silently and the
    run would "succeed" with the default.
    """
    problems = []
    for name in sorted(names):
        prefix = next((p for p in prefixes if name.startswith(p)), None)
        if prefix is None or name in declared:
            continue
        if name in REPLACED:
            replacement, why = REPLACED[name]
            problems.append(Problem(name, f"was removed ({why})", f"set {replacement} instead and remove {name}"))
            continue
        close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.75)
        owner = prefix.rstrip("_")
        where = f"roles/{owner}/meta/argument_specs.yml"
        fix = f"rename it to {close[0]}, the nearest declared name, or remove it" if close else "remove it"
        problems.append(
            Problem(
                name,
                f"is not a variable of {'the shared settings' if owner == 'gitops' else 'role ' + owner}"
                " (it would be ignored)",
                f"{fix} (declared names: {where})",
            )
        )
    return problems


def _owned_names(get: Getter) -> dict[str, Any]:
    """What a cluster owns alone, by the variable that names it."""
    owned: dict[str, Any] = {"gitops_domain": get("gitops_domain", None)}
    hosts = get("gitops_hosts", {}) or {}
    if isinstance(hosts, dict):
        owned.update({f"gitops_hosts.{key}": host for key, host in hosts.items()})
    if _enabled(get, "doks_cluster"):
        owned["doks_cluster_name"] = get("doks_cluster_name", None)
        if str(get("doks_cluster_spaces_enabled", True)).lower() in ("true", "1", "yes", "on"):
            owned["doks_cluster_spaces_bucket"] = get("doks_cluster_spaces_bucket", None)
    return {name: value for name, value in owned.items() if isinstance(value, str) and value}


# gitops_delivery's default (roles/gitops/defaults/main.yml), for a variable the checks are not given.
DELIVERY = "argocd"


def check_unique_across_hosts(get: Getter, others: dict[str, Getter]) -> list[Problem]:
    """Names a cluster owns (its DNS zone, host names, DOKS cluster, log bucket) belong to one host.

    Two hosts sharing one would converge the same object from two inventories' points of view,
    and tearing one down would delete what the other still uses (its zone, its log bucket).
    """
    mine = _owned_names(get)
    problems = []
    for host, other_get in sorted(others.items()):
        theirs = _owned_names(other_get)
        taken = {value: name for name, value in theirs.items()}
        shared_domain = mine.get("gitops_domain") in taken
        for name, value in mine.items():
            derived = name != "gitops_domain" and shared_domain and value.endswith(f".{mine['gitops_domain']}")
            if value in taken and not derived:  # names under a shared domain repeat that finding
                problems.append(
                    Problem(
                        name,
                        f"{value!r} is also {taken[value]} of host {host}",
                        "give every cluster its own value (for example a per-cluster gitops_domain such as "
                        "fra1.platform.example.com, from which host names and the bucket follow)",
                    )
                )
    return problems


def check_hub(get: Getter, others: dict[str, Getter]) -> list[Problem]:
    """A spoke's gitops_hub names another cluster of the inventory that runs Argo CD in the same namespace
    and delivers through it (that host's variables, as its own run will see them)."""
    if not _spoke(get):
        return []
    hub = str(get("gitops_hub"))
    hub_get = others.get(hub)
    fix = "name in gitops_hub the inventory host of the cluster whose Argo CD delivers the platform (group clusters)"
    if hub_get is None:
        return [Problem("gitops_hub", f"is {hub!r}, which is no other host of group clusters", fix)]
    problems = []
    if hub_get("gitops_delivery", DELIVERY) != "argocd" or str(hub_get("gitops_hub", "") or "") != hub:
        problems.append(
            Problem(
                "gitops_hub",
                f"is {hub!r}, but that host does not deliver through its Argo CD as the hub "
                "(its gitops_delivery must be argocd and its gitops_hub its own name)",
                "set gitops_delivery: argocd and gitops_hub in group_vars, for the hub and its spokes alike",
            )
        )
    if not _enabled(hub_get, "argocd"):
        problems.append(Problem("gitops_hub", f"is {hub!r}, whose argocd_enabled is false", "enable argocd on the hub"))
    mine, theirs = get("argocd_namespace", "argocd"), hub_get("argocd_namespace", "argocd")
    if mine != theirs:
        problems.append(
            Problem(
                "argocd_namespace",
                f"is {mine!r} here but {theirs!r} on the hub {hub!r}: the spoke's Applications live in the hub's",
                "set argocd_namespace once in group_vars",
            )
        )
    return problems


def _on(get: Getter, name: str, default: bool) -> bool:
    return str(get(name, default)).lower() in ("true", "1", "yes", "on")


def check_loki_storage(get: Getter, given: Collection[str]) -> list[Problem]:
    """Loki on S3 needs a bucket and a Secret with its key: doks_cluster makes both, or the inventory names them.

    ``given`` are the variables the inventory (or the extra vars) sets itself, not the roles' defaults:
    without doks_cluster's Spaces, the defaults point at a bucket and a Secret that nothing creates,
    and the observability role would stop only after its first writes.
    """
    if not _enabled(get, "observability") or get("observability_loki_storage", "s3") != "s3":
        return []
    if _enabled(get, "doks_cluster") and _on(get, "doks_cluster_spaces_enabled", True):
        return []
    needed = ("observability_loki_bucket", "observability_loki_s3_secret_name")
    if all(name in given for name in needed):
        return []
    return [
        Problem(
            "observability_loki_storage",
            "is s3, but doks_cluster does not run with Spaces here (doks_cluster_enabled or "
            "doks_cluster_spaces_enabled is false), so nothing creates Loki's bucket or the Secret with its key",
            "set observability_loki_storage: filesystem (logs on Loki's own volume), or name your bucket and the "
            "Secret holding its key (observability_loki_bucket, observability_loki_endpoint, "
            "observability_loki_s3_secret_name with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
        )
    ]


# How to make the token external-dns and the DNS-01 solver keep in the cluster.
SCOPED_DNS_CREDENTIAL = (
    "a DigitalOcean personal access token with custom scopes domain:read, domain:create, domain:update and "
    "domain:delete only (control panel: API, Generate New Token, Custom Scopes, domain)"
)


def check_dns_token(get: Getter) -> list[Problem]:
    """external-dns and the DNS-01 solver write DigitalOcean DNS records with a token of their own,
    which is copied into the cluster: never the account-wide doks_cluster_api_token."""
    if not _enabled(get, "ingress_certmanager"):
        return []
    external_dns = _on(get, "ingress_certmanager_external_dns_enabled", True)
    dns01 = get("ingress_certmanager_acme_solver", "http01") == "dns01"
    if not (external_dns or dns01):
        return []
    token = str(get("ingress_certmanager_digitalocean_token", "") or "").strip()
    user = "external-dns (ingress_certmanager_external_dns_enabled)" if external_dns else "the dns01 solver"
    if not token:
        return [
            Problem(
                "ingress_certmanager_digitalocean_token",
                f"is empty, but {user} writes DigitalOcean DNS records with it",
                f"export DIGITALOCEAN_DNS_TOKEN (the shipped inventories read it) with {SCOPED_DNS_CREDENTIAL}; "
                "or, where DigitalOcean does not host the zone, set ingress_certmanager_external_dns_enabled: false "
                "and ingress_certmanager_acme_solver: http01",
            )
        ]
    if token == str(get("doks_cluster_api_token", "") or "").strip():
        return [
            Problem(
                "ingress_certmanager_digitalocean_token",
                f"is the account-wide doks_cluster_api_token, which {user} would keep in a Kubernetes Secret",
                f"give it a token of its own: {SCOPED_DNS_CREDENTIAL}, and export it as DIGITALOCEAN_DNS_TOKEN",
            )
        ]
    return []


DOCKERCONFIG = re.compile(r'^\s*\{[\s\S]*"auths"\s*:\s*\{[\s\S]*\}\s*$')
GIT_HOST = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?$")
# lofi_pipeline's defaults of the keys below, for a getter that does not carry the role defaults
APP_DEFAULTS = {
    "git_username": "x-access-token",
    "git_host": "github.com",
    "gitops_revision": "main",
    "gitops_path": "application/argocd",
    "environment": "production",
}
# roles/lofi_pipeline/vars/main.yml's lofi_pipeline_entry_defaults of the keys derived from the entry's name
NAME_DERIVED = {
    "app_namespace": "{name}",
    "app_name": "{name}",
    "pipeline_namespace": "{name}-ci",
    "root_name": "{name}-apps",
    "pipeline_name": "{name}-pipeline",
    "webhook_path": "/{name}",
}
# (clear key, sealed key): a credential is given one way or the other
CLEAR_OR_SEALED = (
    ("registry_dockerconfigjson", "sealed_registry"),
    ("git_token", "sealed_git_credentials"),
    ("git_read_token", "sealed_git_read_credentials"),
    ("webhook_secret", "sealed_webhook_secret"),
)


def check_app_credentials(get: Getter) -> list[Problem]:
    """Each application's credentials, as lofi_pipeline would store them (values never shown)."""
    apps = get("lofi_pipeline_apps", [])
    if not _enabled(get, "lofi_pipeline") or not isinstance(apps, list):
        return []
    problems: list[Problem] = []
    length = get("lofi_pipeline_webhook_secret_length", 40)
    if not isinstance(length, int) or length < 16:
        problems.append(
            Problem("lofi_pipeline_webhook_secret_length", "is below 16", "generate at least 16 characters")
        )
    for index, app in enumerate(a for a in apps if isinstance(a, dict)):
        problems += _app_credential_problems(get, index, app)
    return problems


def app_value(get: Getter, index: int, app: dict[str, Any], key: str) -> tuple[str, Any]:
    """(variable that sets it, value) of ``key`` for entry ``index``, filled the way the role's
    ``lofi_pipeline_entry_defaults`` (vars/main.yml) fills it: the entry's own key, else a value
    derived from its name, else the role-wide ``lofi_pipeline_<key>``."""
    if key in app:
        return f"lofi_pipeline_apps[{index}].{key}", app[key]
    name = str(app.get("name") or "")
    if key in NAME_DERIVED:
        return f"lofi_pipeline_apps[{index}].name", NAME_DERIVED[key].format(name=name)
    hosts = get("gitops_hosts", {}) or {}
    registry = str(get("lofi_pipeline_image_registry", "") or "").rstrip("/")
    derived: dict[str, tuple[str, Callable[[], Any]]] = {
        "app_values": (f"lofi_pipeline_apps[{index}].app_values", dict),
        "pipeline_values": (f"lofi_pipeline_apps[{index}].pipeline_values", dict),
        "host": (
            "lofi_pipeline_app_domain",
            lambda: f"{name}.{get('lofi_pipeline_app_domain', get('gitops_domain', ''))}",
        ),
        "image_repository": ("lofi_pipeline_image_registry", lambda: f"{registry}/{name}" if registry else ""),
        "webhook_host": (
            "lofi_pipeline_webhook_host",
            lambda: get("lofi_pipeline_webhook_host", hosts.get("webhooks", "") if isinstance(hosts, dict) else ""),
        ),
        "source_repo_url": (
            "lofi_pipeline_source_repo_url",
            lambda: get("lofi_pipeline_source_repo_url", get("lofi_pipeline_gitops_repo_url", "")),
        ),
    }
    var, make = derived.get(
        key, (f"lofi_pipeline_{key}", lambda: get(f"lofi_pipeline_{key}", APP_DEFAULTS.get(key, "")))
    )
    return var, make()


def _app_value(get: Getter, index: int, app: dict[str, Any], key: str) -> tuple[str, str]:
    """:func:`app_value` as a string (empty for null)."""
    var, value = app_value(get, index, app, key)
    return var, str(value or "")


def _app_credential_problems(get: Getter, index: int, app: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for clear, sealed in CLEAR_OR_SEALED:
        (clear_var, clear_value), (sealed_var, sealed_value) = (
            _app_value(get, index, app, clear),
            _app_value(get, index, app, sealed),
        )
        if clear_value and sealed_value:
            problems.append(
                Problem(clear_var, f"and {sealed_var} are both set", "give the credential in clear or sealed, not both")
            )
    var, value = _app_value(get, index, app, "registry_dockerconfigjson")
    if value and not DOCKERCONFIG.fullmatch(value):
        problems.append(
            Problem(var, 'is not a docker config JSON with "auths"', 'give {"auths": {"<registry>": {...}}}')
        )
    (read_var, read_value), (write_var, write_value) = (
        _app_value(get, index, app, "git_read_token"),
        _app_value(get, index, app, "git_token"),
    )
    if read_value and read_value == write_value:
        problems.append(
            Problem(
                read_var,
                f"is {write_var}, which can push, and pull-request runs (code from the pull request) clone with it",
                "give a token that can only read the repository (fine-grained, Contents: read-only), "
                "or leave it empty to clone pull requests anonymously",
            )
        )
    var, value = _app_value(get, index, app, "webhook_secret")
    if value and len(value) < 16:
        problems.append(Problem(var, "is shorter than 16 characters", "use a random secret of 16 characters or more"))
    var, value = _app_value(get, index, app, "git_username")
    if not value:
        problems.append(Problem(var, "is empty", "set the git user of the token (x-access-token for GitHub)"))
    var, value = _app_value(get, index, app, "git_host")
    if not GIT_HOST.fullmatch(value):
        problems.append(Problem(var, f"{value!r} is not a host name", "set the git host, e.g. github.com"))
    return problems


def check_acme(get: Getter) -> list[Problem]:
    """The ACME account cert-manager registers (when ingress_certmanager runs)."""
    if not _enabled(get, "ingress_certmanager"):
        return []
    problems: list[Problem] = []
    email = get("ingress_certmanager_acme_email", None)
    # its default is gitops_acme_email, which check_domain judges already: one finding per value
    if email is not None and email != get("gitops_acme_email", None) and not EMAIL.fullmatch(str(email)):
        problems.append(
            Problem(
                "ingress_certmanager_acme_email",
                f"{email!r} is not an e-mail address",
                "set the ACME account's address",
            )
        )
    servers = get("ingress_certmanager_acme_servers", None)
    if isinstance(servers, dict):
        for key in ("letsencrypt-staging", "letsencrypt-production"):
            if not str(servers.get(key) or "").startswith("https://"):
                problems.append(
                    Problem(
                        f"ingress_certmanager_acme_servers.{key}",
                        "is not an https:// URL",
                        "give the ACME directory URL",
                    )
                )
    return problems


def check_apps(get: Getter) -> list[Problem]:
    """Every application of lofi_pipeline needs a GitOps repository and an image repository."""
    apps = get("lofi_pipeline_apps", [])
    if not _enabled(get, "lofi_pipeline") or not isinstance(apps, list):
        return []  # the list's shape is the argument spec's job
    problems = []
    for app in (a for a in apps if isinstance(a, dict)):
        name = app.get("name", "?")
        if not str(app.get("gitops_repo_url") or get("lofi_pipeline_gitops_repo_url", "") or "").strip():
            problems.append(
                Problem(
                    "lofi_pipeline_gitops_repo_url",
                    f"is empty, and application {name!r} names no gitops_repo_url of its own",
                    "set it to the clone URL of your GitOps repository (your fork of this one), "
                    "which Argo CD reads and the pipeline pushes to",
                )
            )
        if not str(app.get("image_repository") or get("lofi_pipeline_image_registry", "") or "").strip():
            problems.append(
                Problem(
                    "lofi_pipeline_image_registry",
                    f"is empty, and application {name!r} names no image_repository of its own",
                    "set it to the registry repository images are pushed to, e.g. registry.digitalocean.com/acme",
                )
            )
    return problems


APP_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# registry host (with a port) and path, without tag or digest
IMAGE_REPOSITORY = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+$")
ENVIRONMENT = re.compile(r"^[a-z0-9][-a-z0-9_]*$")
URL_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")


def check_app_entries(get: Getter) -> list[Problem]:
    """lofi_pipeline's entries: unique names and, per entry (filled as vars/main.yml fills it), its
    namespaces, object names, repositories, image, environment, hosts and values; the wait settings
    and the ingress the entries use. Keys and their types are the argument spec's (its ``options``)."""
    apps = get("lofi_pipeline_apps", None)
    if not _enabled(get, "lofi_pipeline") or not isinstance(apps, list):
        return []
    problems: list[Problem] = []
    if not apps:
        problems.append(
            Problem(
                "lofi_pipeline_apps",
                "is empty: the role would wire no application",
                "declare at least one entry, e.g. [{name: lofi}], or set lofi_pipeline_enabled: false",
            )
        )
    seen: dict[str, int] = {}
    for index, app in enumerate(apps):
        if not isinstance(app, dict) or not isinstance(app.get("name"), str):
            continue  # the entry's shape and its required name are the argument spec's
        name = app["name"]
        if not APP_NAME.fullmatch(name):
            problems.append(
                Problem(
                    f"lofi_pipeline_apps[{index}].name",
                    f"{name!r} is not a DNS label of at most 40 characters starting with a letter "
                    "(it prefixes every object name of the application)",
                    "use lowercase letters, digits and '-', such as lofi or shop-api",
                )
            )
            continue  # the names derived from it would only repeat this finding
        if name in seen:
            problems.append(
                Problem(
                    f"lofi_pipeline_apps[{index}].name",
                    f"{name!r} is also the name of lofi_pipeline_apps[{seen[name]}]",
                    "give every application its own name",
                )
            )
        seen.setdefault(name, index)
        problems += _app_entry_problems(get, index, app)
    for var in ("lofi_pipeline_wait_timeout", "lofi_pipeline_wait_delay"):
        value = get(var, None)
        if isinstance(value, int) and value <= 0:
            problems.append(Problem(var, f"{value} is not a positive number of seconds", "use a number above 0"))
    problems += _missing_if_set(
        get,
        ("lofi_pipeline_ingress_class", "lofi_pipeline_cluster_issuer"),
        "set it (by default gitops_ingress_class and gitops_cluster_issuer)",
    )
    return problems


def _app_entry_problems(get: Getter, index: int, app: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []

    def value(key: str) -> tuple[str, str]:
        return _app_value(get, index, app, key)

    (app_var, app_ns), (pipeline_var, pipeline_ns) = value("app_namespace"), value("pipeline_namespace")
    for var, namespace in ((app_var, app_ns), (pipeline_var, pipeline_ns)):
        if not NAMESPACE.fullmatch(namespace):
            problems.append(
                Problem(var, f"{namespace!r} is not a namespace name (a DNS label)", "use a DNS label such as lofi")
            )
    if app_ns == pipeline_ns:
        problems.append(
            Problem(
                pipeline_var,
                f"is {app_ns!r}, the app's namespace too (the pipeline and its credentials need their own)",
                "give app_namespace and pipeline_namespace different names (by default <name> and <name>-ci)",
            )
        )
    var, root = value("root_name")
    if not DNS_SUBDOMAIN.fullmatch(root):
        problems.append(Problem(var, f"{root!r} is not an object name (a DNS subdomain)", "use e.g. lofi-apps"))
    for key, fix in (
        ("source_repo_url", "set the clone URL of the repository the pipeline builds"),
        ("gitops_revision", "set the branch or tag Argo CD follows, e.g. main"),
        ("gitops_path", "set the path of the app-of-apps chart in the GitOps repository, e.g. application/argocd"),
    ):
        var, text = value(key)
        # a source following an empty lofi_pipeline_gitops_repo_url is check_apps' finding
        follows = var == "lofi_pipeline_source_repo_url" and "gitops_repo_url" not in app
        if not text.strip() and not (follows and text == str(get("lofi_pipeline_gitops_repo_url", "") or "")):
            problems.append(Problem(var, f"is empty for application {app['name']!r}", fix))
    var, image = value("image_repository")
    if image and not IMAGE_REPOSITORY.fullmatch(image):
        problems.append(
            Problem(
                var,
                f"gives the image repository {image!r}, which is not a registry repository without tag or digest",
                "name the repository in lower case, such as registry.digitalocean.com/acme (<registry>/<name> "
                "for the entry)",
            )
        )
    var, tag = value("image_tag")
    if tag == "latest":
        problems.append(
            Problem(
                var,
                "is latest, a moving tag: the running image would change without a promotion in Git",
                "leave it empty (the pipeline promotes a digest) or pin a fixed tag",
            )
        )
    var, environment = value("environment")
    if not ENVIRONMENT.fullmatch(environment):
        problems.append(
            Problem(
                var,
                f"{environment!r} is not an environment name (it picks environments/<name>/values.yaml)",
                "use lowercase letters, digits, '-' and '_', e.g. production",
            )
        )
    problems += _app_host_problems(get, index, app)
    var, values = app_value(get, index, app, "app_values")
    image_values = values.get("image") if isinstance(values, dict) else None
    if isinstance(image_values, dict) and "digest" in image_values:
        problems.append(
            Problem(
                f"{var}.image.digest",
                "is set, but the pipeline promotes the digest into the environment file in Git",
                "remove image.digest from app_values",
            )
        )
    return problems


def _app_host_problems(get: Getter, index: int, app: dict[str, Any]) -> list[Problem]:
    """The entry's host and webhook host are DNS names; a value derived from gitops_domain or taken from
    gitops_hosts.webhooks is check_domain's finding already."""
    problems: list[Problem] = []
    hosts = get("gitops_hosts", {}) or {}
    # a list, not a set: a value of the wrong type is the argument spec's finding, not a crash here
    shared = [get("gitops_domain", None), hosts.get("webhooks") if isinstance(hosts, dict) else None]
    var, host = _app_value(get, index, app, "host")
    judged = "host" in app or get("lofi_pipeline_app_domain", get("gitops_domain", None)) not in shared
    if judged and not is_hostname(host):
        problems.append(
            Problem(var, f"gives the host {host!r}, which is not a DNS name", "use a name such as lofi.example.com")
        )
    var, webhook_host = _app_value(get, index, app, "webhook_host")
    role_wide = get("lofi_pipeline_webhook_host", None)
    judged = var != "lofi_pipeline_webhook_host" or (role_wide is not None and role_wide not in shared)
    if judged and not is_hostname(webhook_host):
        problems.append(
            Problem(var, f"{webhook_host!r} is not a DNS name", "use the webhooks host, such as hooks.example.com")
        )
    var, path = _app_value(get, index, app, "webhook_path")
    if not URL_PATH.fullmatch(path):
        problems.append(Problem(var, f"{path!r} is not a URL path", "start it with /, e.g. /lofi"))
    return problems


# Prometheus' and Loki's durations and Kubernetes quantities as the role writes them into the values
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
SIZE = re.compile(r"^[0-9]+(Mi|Gi|Ti)$")
# fields of Alertmanager receivers that hold a credential (each has a *_file twin reading a mounted Secret)
RECEIVER_SECRET_KEYS = frozenset(
    (
        "api_url",
        "webhook_url",
        "routing_key",
        "service_key",
        "api_key",
        "bot_token",
        "token",
        "password",
        "auth_password",
        "api_secret",
    )
)


def check_observability_settings(get: Getter) -> list[Problem]:
    """Retention durations, volume sizes and the Loki bucket settings of observability."""
    if not _enabled(get, "observability"):
        return []
    problems: list[Problem] = []
    for var in ("observability_prometheus_retention", "observability_loki_retention_period"):
        value = get(var, None)
        if value is not None and not DURATION.fullmatch(str(value)):
            problems.append(
                Problem(var, f"{value!r} is not a duration", "write a number and a unit, such as 15d or 744h")
            )
    for var in ("observability_prometheus_storage_size", "observability_loki_storage_size"):
        value = get(var, None)
        if value is not None and not SIZE.fullmatch(str(value)):
            problems.append(Problem(var, f"{value!r} is not a volume size", "write a size such as 50Gi (Mi, Gi or Ti)"))
    groups = get("observability_grafana_admin_groups", None)
    if _on(get, "observability_grafana_sso_enabled", False) and isinstance(groups, list) and not groups:
        problems.append(
            Problem(
                "observability_grafana_admin_groups",
                "is empty while Grafana single sign-on is on: nobody could administer Grafana",
                "name at least one group of the groups claim (by default gitops_sso_group_names.admins)",
            )
        )
    if get("observability_loki_storage", "s3") == "s3":
        problems += _missing_if_set(
            get,
            ("observability_loki_bucket", "observability_loki_endpoint", "observability_loki_s3_secret_name"),
            "let doks_cluster provide it (doks_cluster_spaces_*) or set it in the inventory, "
            "or set observability_loki_storage: filesystem",
        )
    return problems


def check_alertmanager_config(get: Getter) -> list[Problem]:
    """Alertmanager's receivers have unique names, the route names only those, and no credential is
    written inline. Alertmanager refuses the first two at load time ("notification config name %q is
    not unique", "undefined receiver %q used in route": config/config.go), after the role's writes."""
    receivers = get("observability_alertmanager_receivers", None)
    if not _enabled(get, "observability") or not isinstance(receivers, list):
        return []
    problems: list[Problem] = []
    names: list[str] = []
    for index, receiver in enumerate(receivers):
        name = receiver.get("name") if isinstance(receiver, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(
                Problem(
                    f"observability_alertmanager_receivers[{index}].name",
                    "is missing",
                    "name every receiver (the route refers to it by name)",
                )
            )
            continue
        if name in names:
            problems.append(
                Problem(
                    f"observability_alertmanager_receivers[{index}].name",
                    f"{name!r} names another receiver too (Alertmanager refuses the configuration)",
                    "give every receiver its own name",
                )
            )
        names.append(name)
        problems += [
            Problem(
                f"observability_alertmanager_receivers[{name}].{path}",
                "holds a credential inline, which would be written into the Alertmanager configuration Secret "
                "and the Helm release",
                "put it in observability_alertmanager_secrets and use the matching *_file field "
                "(/etc/alertmanager/secrets/<secret name>/<key>)",
            )
            for path in _secret_fields(receiver)
        ]
    route = get("observability_alertmanager_route", None)
    problems += [
        Problem(
            f"observability_alertmanager_route{path}.receiver",
            f"names {used!r}, which is none of the receivers ({', '.join(names) or 'none'})",
            "name a receiver of observability_alertmanager_receivers, or add it there",
        )
        for path, used in _route_receivers(route, "")
        if used not in names
    ]
    return problems


def _secret_fields(node: Any, path: str = "") -> list[str]:
    if isinstance(node, list):
        return [found for i, item in enumerate(node) for found in _secret_fields(item, f"{path}[{i}]")]
    if not isinstance(node, dict):
        return []
    found = []
    for key, value in node.items():
        where = f"{path}.{key}" if path else str(key)
        found += [where] if key in RECEIVER_SECRET_KEYS else _secret_fields(value, where)
    return found


def _route_receivers(route: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(route, dict):
        return []
    found = [(path, str(route["receiver"]))] if route.get("receiver") else []
    for index, child in enumerate(route.get("routes") or []):
        found += _route_receivers(child, f"{path}.routes[{index}]")
    return found


RBAC_ROLE = re.compile(r"^role:[A-Za-z0-9_.-]+$")
GLOB = re.compile(r"[*?\[!]")


def check_argocd_settings(get: Getter) -> list[Problem]:
    """argocd's chart, login and RBAC settings (types are the argument spec's)."""
    if not _enabled(get, "argocd"):
        return []
    problems: list[Problem] = []
    chart = get("argocd_argo_cd_chart", None)
    if isinstance(chart, dict) and chart.get("name") not in (None, "argo-cd"):
        problems.append(
            Problem(
                "argocd_argo_cd_chart.name",
                f"is {chart.get('name')!r}, but the role's values are those of the argo-cd chart",
                "pin the chart argo-cd (repo and version may point at a mirror)",
            )
        )
    both_set = get("argocd_oidc_enabled", None) is not None and get("argocd_admin_enabled", None) is not None
    if both_set and not _on(get, "argocd_oidc_enabled", True) and not _on(get, "argocd_admin_enabled", False):
        problems.append(
            Problem(
                "argocd_admin_enabled",
                "is false while argocd_oidc_enabled is false too: nobody could log in to Argo CD",
                "turn on single sign-on (argocd_oidc_enabled) or the local admin (argocd_admin_enabled)",
            )
        )
    roles = get("argocd_rbac_group_roles", None)
    if isinstance(roles, dict):
        problems += [
            Problem(
                "argocd_rbac_group_roles",
                f"maps group {group!r}, and a comma cannot be part of a group in policy.csv",
                "name the group as the groups claim carries it, without commas",
            )
            for group in roles
            if "," in str(group)
        ]
        problems += [
            Problem(
                "argocd_rbac_group_roles",
                f"maps group {group!r} to {role!r}, which is not a role",
                "write roles as role:<name>, such as role:readonly",
            )
            for group, role in roles.items()
            if not RBAC_ROLE.fullmatch(str(role))
        ]
    default_role = get("argocd_rbac_default_role", None)
    if default_role and not RBAC_ROLE.fullmatch(str(default_role)):
        problems.append(
            Problem(
                "argocd_rbac_default_role",
                f"{default_role!r} is not a role",
                "write role:<name>, such as role:readonly, or leave it empty (no access without a group)",
            )
        )
    return problems


# (project variable, role in the boundary)
PROJECTS = ("argocd_platform_project", "argocd_applications_project", "argocd_apps_root_project")


def _project_names(projects: dict[str, dict[str, Any]]) -> list[Problem]:
    problems: list[Problem] = []
    names: dict[str, str] = {}
    for var, project in projects.items():
        name = str(project.get("name") or "")
        if not name:
            problems.append(Problem(f"{var}.name", "is empty", "name the AppProject"))
        elif name in names:
            problems.append(
                Problem(f"{var}.name", f"{name!r} is also {names[name]}.name", "give the three projects distinct names")
            )
        names.setdefault(name, var)
    return problems


def check_argocd_projects(get: Getter) -> list[Problem]:
    """The applications project and the app-of-apps roots' project are boundaries: "Projects with access
    to the namespace in which Argo CD is installed effectively have admin-level privileges" (Argo CD docs,
    Cluster Bootstrapping). Named repositories and namespaces only, never a platform namespace, no
    cluster-scoped kind; the roots create Application objects in argocd_applications_namespace only."""
    projects = {var: get(var, None) for var in PROJECTS}
    if not _enabled(get, "argocd") or not all(isinstance(p, dict) for p in projects.values()):
        return []
    problems = _project_names(projects)
    apps, roots, platform = (
        projects["argocd_applications_project"],
        projects["argocd_apps_root_project"],
        projects["argocd_platform_project"],
    )
    apps_ns = get("argocd_applications_namespace", None)
    argocd_ns = get("argocd_namespace", None)
    if apps_ns is not None and apps_ns == argocd_ns:
        problems.append(
            Problem(
                "argocd_applications_namespace",
                f"is Argo CD's own namespace {argocd_ns!r}, where an Application may name any project",
                "keep the applications' Application objects in a namespace of their own, such as argocd-apps",
            )
        )
    for var, project in (("argocd_applications_project", apps), ("argocd_apps_root_project", roots)):
        problems += [
            Problem(
                f"{var}.sourceRepos",
                f"lists {repo!r}: a wildcard admits any repository",
                "list the GitOps repositories by URL (by default those of lofi_pipeline_apps)",
            )
            for repo in project.get("sourceRepos") or []
            if "*" in str(repo)
        ]
        if project.get("clusterResourceWhitelist"):
            problems.append(
                Problem(
                    f"{var}.clusterResourceWhitelist",
                    "admits cluster-scoped kinds, which reach beyond the applications' namespaces",
                    "leave it empty",
                )
            )
    platform_namespaces = get("argocd_platform_namespaces", None) or []
    for destination in apps.get("destinations") or []:
        namespace = destination.get("namespace", "*") if isinstance(destination, dict) else "*"
        if GLOB.search(str(namespace)) or namespace in platform_namespaces:
            problems.append(
                Problem(
                    "argocd_applications_project.destinations",
                    f"admit the namespace {namespace!r}: "
                    + (
                        "a pattern admits the platform's namespaces too"
                        if GLOB.search(str(namespace))
                        else "a platform namespace (deploying there is admin-equivalent)"
                    ),
                    "list the applications' own namespaces by name (by default those of lofi_pipeline_apps), none of "
                    + ", ".join(platform_namespaces),
                )
            )
    if apps_ns is not None and apps.get("sourceNamespaces") != [apps_ns]:
        problems.append(
            Problem(
                "argocd_applications_project.sourceNamespaces",
                f"is {apps.get('sourceNamespaces')!r}: the children of the roots live in {apps_ns!r} and only there",
                "set it to [argocd_applications_namespace]",
            )
        )
    for var, project in (("argocd_platform_project", platform), ("argocd_apps_root_project", roots)):
        if project.get("sourceNamespaces"):
            problems.append(
                Problem(
                    f"{var}.sourceNamespaces",
                    "is set: an Application written to Git could then use this project",
                    "remove it (only the applications project admits argocd_applications_namespace)",
                )
            )
    root_namespaces = sorted({str(d.get("namespace")) for d in roots.get("destinations") or [] if isinstance(d, dict)})
    if apps_ns is not None and root_namespaces != [apps_ns]:
        problems.append(
            Problem(
                "argocd_apps_root_project.destinations",
                f"admit the namespaces {root_namespaces}: the roots only create Applications in {apps_ns!r}",
                "give it the one destination argocd_applications_namespace",
            )
        )
    if roots.get("namespaceResourceWhitelist") != [{"group": "argoproj.io", "kind": "Application"}]:
        problems.append(
            Problem(
                "argocd_apps_root_project.namespaceResourceWhitelist",
                f"is {roots.get('namespaceResourceWhitelist')!r}: a root could deploy more than Application objects",
                "set it to [{group: argoproj.io, kind: Application}]",
            )
        )
    return problems


# an OCI repository without scheme (a Trivy database: mirror.gcr.io/aquasec/trivy-db:2), and an image pinned
# <repository>:<tag>@sha256:<digest> (distribution/reference grammar, lower-case names)
OCI_REPOSITORY = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+(:\w[\w.-]{0,127})?")
PINNED_IMAGE = re.compile(
    r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+:\w[\w.-]{0,127}@sha256:[0-9a-f]{64}"
)


def check_scan(get: Getter) -> list[Problem]:
    """With the scan on, Trivy needs a database source and an image pinned by tag and digest."""
    if not _enabled(get, "lofi_pipeline") or not _truthy_value(get("lofi_pipeline_scan_enabled", True)):
        return []
    problems = []
    for name, example in (
        ("lofi_pipeline_scan_db_repositories", "mirror.gcr.io/aquasec/trivy-db:2"),
        ("lofi_pipeline_scan_java_db_repositories", "mirror.gcr.io/aquasec/trivy-java-db:1"),
    ):
        repositories = get(name, [example])
        if not isinstance(repositories, list):
            continue  # the argument spec's job
        if not repositories:
            problems.append(Problem(name, "is empty while lofi_pipeline_scan_enabled is true", f"list e.g. {example}"))
        for repository in repositories:
            if not OCI_REPOSITORY.fullmatch(str(repository)):
                problems.append(
                    Problem(
                        name,
                        f"{repository!r} is not an OCI repository (Trivy gets the list joined with commas)",
                        f"name it without scheme, e.g. {example}",
                    )
                )
    image = get("lofi_pipeline_trivy_image", None)
    if image is not None and not PINNED_IMAGE.fullmatch(str(image)):
        problems.append(
            Problem(
                "lofi_pipeline_trivy_image",
                f"{image!r} is not pinned by tag and digest",
                "use <repository>:<tag>@sha256:<digest>, e.g. the role default",
            )
        )
    return problems


def check_alertmanager_secrets(get: Getter) -> list[Problem]:
    """A receiver Secret with an empty value (an unset environment variable) could never deliver an alert."""
    secrets = get("observability_alertmanager_secrets", [])
    if not _enabled(get, "observability") or not isinstance(secrets, list):
        return []
    problems = []
    for secret in (s for s in secrets if isinstance(s, dict) and isinstance(s.get("data"), dict)):
        for key, value in secret["data"].items():
            if value is None or not str(value).strip():
                problems.append(
                    Problem(
                        f"observability_alertmanager_secrets[{secret.get('name')}].data.{key}",
                        "is empty, so its Alertmanager receiver could never deliver an alert",
                        "set the environment variable the inventory reads it from (ALERTMANAGER_SLACK_WEBHOOK_URL in "
                        "inventories/production; in AWX, attach the Alertmanager Slack webhook credential) or vault it",
                    )
                )
    return problems


def check_auth0_domain(get: Getter) -> list[Problem]:
    """The Management API client is built from the tenant's domain; a URL there (a pasted
    https://tenant.eu.auth0.com/) would only fail at the first Auth0 call, after earlier writes."""
    domain = str(get("auth0_apps_domain", "") or "").strip()
    if not _enabled(get, "auth0_apps") or not domain or "/" not in domain:
        return []
    return [
        Problem(
            "auth0_apps_domain",
            f"{domain!r} is a URL, not the tenant's domain",
            "give the domain alone, such as tenant.eu.auth0.com (AUTH0_DOMAIN, or the Tenant domain of the AWX "
            "Auth0 Management API credential)",
        )
    ]


def firewall_address_problem(address: str) -> str:
    """Why ``address`` is not what the DOKS control-plane firewall's ``allowed_addresses`` takes -
    "An array of public addresses (IPv4 or CIDR) allowed to access the control plane" (openapi
    specification/resources/kubernetes/models/control_plane_firewall.yml) - or ``""``. The module
    doks_cluster and preflight share this one rule."""
    try:
        network = ipaddress.ip_network(address, strict=True)
    except ValueError:
        return "is not an IPv4 address or CIDR (host bits must be zero, as in 1.1.0.0/16)"
    if network.version != 4:
        return "is not IPv4"
    if not network.is_global:
        return "is not a public address"
    return ""


def check_control_plane_firewall(get: Getter) -> list[Problem]:
    """``doks_cluster_control_plane_firewall``: null, or {enabled, allowed_addresses} with public IPv4
    addresses or CIDRs, at least one when enabled (else nothing, not even the next role, reaches the API)."""
    var = "doks_cluster_control_plane_firewall"
    firewall = get(var, None)
    if not _enabled(get, "doks_cluster") or firewall is None:
        return []
    shape = "write {enabled: true, allowed_addresses: [1.2.3.4/32, ...]}, or null to leave the cluster as it is"
    if not isinstance(firewall, dict) or not isinstance(firewall.get("enabled"), bool):
        return [Problem(var, "must be a mapping with a boolean enabled", shape)]
    addresses = firewall.get("allowed_addresses") or []
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        return [Problem(f"{var}.allowed_addresses", "must be a list of addresses", shape)]
    problems = [
        Problem(
            f"{var}.allowed_addresses",
            f"{address!r} {firewall_address_problem(address)}",
            "list public IPv4 addresses or CIDRs, such as 1.2.3.4/32",
        )
        for address in addresses
        if firewall_address_problem(address)
    ]
    if firewall["enabled"] and not addresses:
        problems.append(
            Problem(
                f"{var}.allowed_addresses",
                "is empty while the firewall is enabled: nothing could reach the Kubernetes API, not even the roles "
                "after doks_cluster",
                "list the public egress addresses of AWX/CI and of the workstations that run the playbooks",
            )
        )
    return problems


def check_auth0_connections(get: Getter) -> list[Problem]:
    """The Auth0 applications are enabled only on the connections the inventory names: a tenant
    enables every new application on all its connections by default, among them the database
    connection whose sign-ups are open (Username-Password-Authentication)."""
    if not _enabled(get, "auth0_apps"):
        return []
    value = get("auth0_apps_connections", None)
    fix = (
        "name the Auth0 connections your team signs in with, for example auth0_apps_connections: [corporate-sso] "
        "(an enterprise or Google Workspace connection, or a database connection with sign-ups disabled), "
        "or set gitops_sso_enabled: false"
    )
    if not isinstance(value, list) or not value:
        return [
            Problem(
                "auth0_apps_connections",
                "is empty: the applications would stay enabled on every connection of the tenant, including "
                "Username-Password-Authentication where anyone may sign up",
                fix,
            )
        ]
    problems = [
        Problem("auth0_apps_connections", f"{name!r} is not a connection name", fix)
        for name in value
        if not isinstance(name, str) or not name.strip()
    ]
    problems += [
        Problem("auth0_apps_connections", f"names {name!r} more than once", "list each connection once")
        for name in sorted({n for n in value if isinstance(n, str) and value.count(n) > 1})
    ]
    return problems


def check_sealed_secrets_backup(get: Getter) -> list[Problem]:
    """The sealed-secrets key backup is encrypted with a passphrase kept outside the cluster and
    needs the bucket it goes to; checked before any write rather than after the controller runs."""
    if not _enabled(get, "ingress_certmanager") or not _truthy_value(
        get("ingress_certmanager_sealed_secrets_enabled", True)
    ):
        return []
    if not _truthy_value(get("ingress_certmanager_sealed_secrets_backup_enabled", False)):
        return []
    problems = []
    if len(str(get("ingress_certmanager_sealed_secrets_backup_passphrase", "") or "")) < 16:
        problems.append(
            Problem(
                "ingress_certmanager_sealed_secrets_backup_passphrase",
                "is shorter than 16 characters (the backup of the sealed-secrets keys is encrypted with it)",
                "export SEALED_SECRETS_BACKUP_PASSPHRASE (or vault it) and keep a copy outside the cluster, "
                "or set ingress_certmanager_sealed_secrets_backup_enabled: false",
            )
        )
    problems += _missing(
        get,
        ("ingress_certmanager_sealed_secrets_backup_bucket", "ingress_certmanager_sealed_secrets_backup_endpoint"),
        "set the Spaces bucket and endpoint of the backup (doks_cluster's by default)",
    )
    return problems


def _truthy_value(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes", "on")


SHA256 = re.compile(r"^[0-9a-f]{64}$")
# tekton's components in apply order: (component directory on the release host, pin variable)
TEKTON_RELEASES = (
    ("pipeline", "tekton_pipeline_release"),
    ("triggers", "tekton_triggers_release"),
    ("dashboard", "tekton_dashboard_release"),
    ("chains", "tekton_chains_release"),
)


def tekton_release_files(get: Getter) -> list[str]:
    """The path under ``tekton_release_base_url`` of every file tekton downloads, as the role's
    ``tekton_components`` lists them (``release-full.yaml`` for a read-write Dashboard)."""
    read_only = _on(get, "tekton_dashboard_read_only", True)
    keys = []
    for component, variable in TEKTON_RELEASES:
        if component == "chains" and not _on(get, "tekton_chains_enabled", True):
            continue
        release = get(variable, None)
        if not isinstance(release, dict) or not isinstance(release.get("files"), list):
            continue  # a malformed pin is the argument spec's and check_pins' finding
        for name in release["files"]:
            full = component == "dashboard" and not read_only
            file = str(name).replace("release.yaml", "release-full.yaml") if full else str(name)
            keys.append(f"{component}/previous/{release.get('version')}/{file}")
    return keys


def check_release_checksums(get: Getter) -> list[Problem]:
    """Every release manifest tekton downloads has a pinned sha256: the role applies nothing unverified."""
    if not _enabled(get, "tekton"):
        return []
    pins = get("tekton_release_sha256", {})
    if not isinstance(pins, dict):
        return [Problem("tekton_release_sha256", "is not a dict", "map each file path to its sha256")]
    base = str(get("tekton_release_base_url", "") or "").rstrip("/")
    problems = []
    for key in tekton_release_files(get):
        url = f"{base}/{key}"
        value = str(pins.get(key) or "").strip().lower()
        if SHA256.fullmatch(value):
            continue
        problems.append(
            Problem(
                f"tekton_release_sha256[{key}]",
                f"is {'missing' if not value else 'not 64 hex digits'}, and the role never applies {url} unverified",
                f"record it with `curl -sL {url} | sha256sum`, compare it with the asset of the GitHub release "
                f"(github.com/tektoncd/{key.split('/')[0]}/releases), and set it in tekton_release_sha256",
            )
        )
    return problems


CRON = re.compile(r"^\S+(\s+\S+){4}$")
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_tekton_settings(get: Getter) -> list[Problem]:
    """Tekton's release host, release files, pruner and Dashboard namespaces (types are the argument spec's)."""
    if not _enabled(get, "tekton"):
        return []
    problems: list[Problem] = []
    base = str(get("tekton_release_base_url", "https://infra.tekton.dev/tekton-releases") or "")
    if not re.match(r"^https?://", base) or "storage.googleapis.com" in base:
        problems.append(
            Problem(
                "tekton_release_base_url",
                f"{base!r} is not an http(s) URL of the current release host",
                "use https://infra.tekton.dev/tekton-releases (storage.googleapis.com no longer serves releases)",
            )
        )
    for _component, variable in TEKTON_RELEASES:
        release = get(variable, None)
        if isinstance(release, dict) and not release.get("files"):
            problems.append(
                Problem(f"{variable}.files", "is empty", "list the release files to apply, e.g. [release.yaml]")
            )
    if _on(get, "tekton_prune_enabled", True):
        keep = get("tekton_prune_keep", 5)
        if not str(keep).isdigit() or int(keep) < 1:
            problems.append(Problem("tekton_prune_keep", f"{keep!r} is not a whole number >= 1", "keep at least 1 run"))
        schedule = str(get("tekton_prune_schedule", "17 3 * * *") or "")
        if not CRON.fullmatch(schedule.strip()):
            problems.append(
                Problem(
                    "tekton_prune_schedule",
                    f"{schedule!r} is not a five-field cron expression",
                    "write minute hour day-of-month month day-of-week, e.g. '17 3 * * *'",
                )
            )
        if get("tekton_prune_image", None) is not None:
            problems += _missing(get, ("tekton_prune_image",), "pin the pruner's image (with its digest)")
    annotations = get("tekton_dashboard_ingress_annotations", None)
    exposed = _on(get, "tekton_dashboard_ingress_enabled", False) and _on(get, "gitops_sso_enabled", False)
    if exposed and annotations is not None and not annotations:
        problems.append(
            Problem(
                "tekton_dashboard_ingress_annotations",
                "is empty while gitops_sso_enabled is true: the Dashboard would be published without the "
                "oauth2-proxy gate",
                "leave it to its default (gitops_sso_ingress_annotations), set the gate's annotations, "
                "or set tekton_dashboard_ingress_enabled: false",
            )
        )
    namespaces = get("tekton_dashboard_namespaces", [])
    if isinstance(namespaces, list):
        problems += [
            Problem("tekton_dashboard_namespaces", f"{ns!r} is not a namespace name", "use DNS labels, e.g. lofi-ci")
            for ns in namespaces
            if not NAMESPACE.fullmatch(str(ns))
        ]
    if _on(get, "tekton_chains_enabled", True):
        configmap = str(get("tekton_chains_public_key_configmap", "chains-public-key") or "")
        if not CONFIGMAP_NAME.fullmatch(configmap):
            problems.append(
                Problem(
                    "tekton_chains_public_key_configmap",
                    f"{configmap!r} is not a ConfigMap name",
                    "use a DNS subdomain name, e.g. chains-public-key",
                )
            )
    return problems


def check_ingress_settings(get: Getter) -> list[Problem]:
    """ingress_certmanager's HSTS, webhook image and oauth2-proxy gate (types are the argument spec's)."""
    if not _enabled(get, "ingress_certmanager"):
        return []
    problems: list[Problem] = []
    hsts = get("ingress_certmanager_hsts_seconds", 0)
    if re.fullmatch(r"-\d+", str(hsts).strip()):
        problems.append(
            Problem(
                "ingress_certmanager_hsts_seconds",
                f"{hsts} is negative",
                "use 0 (no Strict-Transport-Security header) or a number of seconds such as 31536000 (one year)",
            )
        )
    dns = _on(get, "ingress_certmanager_external_dns_enabled", True)
    if dns and get("ingress_certmanager_external_dns_provider", "digitalocean") == "webhook":
        image = get("ingress_certmanager_external_dns_webhook_image", None)
        if not isinstance(image, dict) or not image.get("repository") or not str(image.get("tag") or ""):
            problems.append(
                Problem(
                    "ingress_certmanager_external_dns_webhook_image",
                    "needs a repository and a tag for the webhook provider",
                    "set it to {repository: <image>, tag: <tag>}",
                )
            )
    # oauth2-proxy's Authorize lets every session in when no group is allowed (providers/
    # provider_default.go, v7.15): with emailDomains ["*"] an empty list would open the gate to every
    # user of the tenant.
    if _on(get, "ingress_certmanager_oauth2_proxy_enabled", False):
        groups = get("ingress_certmanager_oauth2_proxy_allowed_groups", None)
        if isinstance(groups, list) and not groups:
            problems.append(
                Problem(
                    "ingress_certmanager_oauth2_proxy_allowed_groups",
                    "is empty: oauth2-proxy would let every user of the Auth0 tenant through the gate",
                    "list the groups (as in the groups claim) that may pass; by default every platform group of "
                    "gitops_sso_group_names",
                )
            )
        # The gate's cookie is host-only and its callback on each gated host: a host that is no host
        # name, an extra --cookie-domain (the session to every host under it again), --redirect-url or
        # --whitelist-domain (sign-ins elsewhere than the hosts Auth0 and the Ingress know) undo that.
        hosts = get("gitops_sso_gated_hosts", [])
        if not isinstance(hosts, list) or not all(is_hostname(host) for host in hosts):
            problems.append(
                Problem(
                    "gitops_sso_gated_hosts",
                    f"must list host names (no scheme, path or wildcard), got {hosts!r}",
                    "list the hosts behind the gate, such as [tekton.example.com]",
                )
            )
        args = get("ingress_certmanager_oauth2_proxy_extra_args", [])
        widening = [a for a in args if isinstance(a, str) and GATE_FLAGS.match(a)] if isinstance(args, list) else []
        if widening:
            problems.append(
                Problem(
                    "ingress_certmanager_oauth2_proxy_extra_args",
                    f"must not set --cookie-domain, --redirect-url or --whitelist-domain ({', '.join(widening)}): "
                    "the role keeps the session cookie host-only and the sign-in on each gated host",
                    "add the host to gitops_sso_gated_hosts instead",
                )
            )
    return problems


GATE_FLAGS = re.compile(r"^--(cookie-domain|redirect-url|whitelist-domain)([= ]|$)")


BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
CLAIM = re.compile(r"^https?://[^/\s]+/\S+$")


def check_spaces_bucket(get: Getter) -> list[Problem]:
    """The logs bucket doks_cluster creates has a name Spaces accepts."""
    if not _enabled(get, "doks_cluster") or not _on(get, "doks_cluster_spaces_enabled", True):
        return []
    bucket = get("doks_cluster_spaces_bucket", None)
    if bucket is None or (isinstance(bucket, str) and BUCKET.fullmatch(bucket)):
        return []
    return [
        Problem(
            "doks_cluster_spaces_bucket",
            f"{bucket!r} is not a Spaces bucket name (3-63 lowercase letters, digits and dashes)",
            "name the bucket like gitops-logs-fra1, or set doks_cluster_spaces_enabled: false",
        )
    ]


def check_teardown_dns(get: Getter) -> list[Problem]:
    """An external-dns owner id for teardown needs the zones its records are in."""
    owner = str(get("doks_cluster_teardown_dns_owner_id", "") or "").strip()
    filters = get("doks_cluster_teardown_dns_domain_filters", [])
    if not owner or (isinstance(filters, list) and filters):
        return []
    return [
        Problem(
            "doks_cluster_teardown_dns_domain_filters",
            "is empty while doks_cluster_teardown_dns_owner_id is set",
            "list the zones whose external-dns records teardown deletes (gitops_domain's by default)",
        )
    ]


def check_auth0_settings(get: Getter) -> list[Problem]:
    """The groups claim, the platform applications chosen and the extra applications of auth0_apps."""
    if not _enabled(get, "auth0_apps"):
        return []
    problems: list[Problem] = []
    claim = get("auth0_apps_claim", None)
    if claim is not None and not CLAIM.fullmatch(str(claim)):
        problems.append(
            Problem(
                "auth0_apps_claim",
                f"{claim!r} must be a namespaced URL such as https://doks.gitops/groups "
                "(plain 'groups' and 'roles' are reserved by Auth0)",
                "set a namespaced claim, e.g. https://doks.gitops/groups",
            )
        )
    keys, apps = get("auth0_apps_platform_app_keys", None), get("auth0_apps_platform_apps", None)
    if isinstance(keys, list) and isinstance(apps, dict):
        problems += [
            Problem(
                "auth0_apps_platform_app_keys",
                f"names {key!r}, which is not a key of auth0_apps_platform_apps",
                f"name keys of auth0_apps_platform_apps ({', '.join(sorted(apps))})",
            )
            for key in keys
            if key not in apps
        ]
    extra = get("auth0_apps_extra_apps", None)
    if isinstance(extra, dict):
        problems += [
            Problem(
                f"auth0_apps_extra_apps.{key}.name",
                "is set, but an application's name comes from its key",
                "remove the name field (rename the key instead)",
            )
            for key, app in extra.items()
            if isinstance(app, dict) and "name" in app
        ]
    return problems


def check_kyverno_settings(get: Getter) -> list[Problem]:
    """The signature policy needs the Chains public key: tekton with Chains publishes it, or the inventory gives it."""
    if not _enabled(get, "kyverno") or not _on(get, "kyverno_verify_images_enabled", True):
        return []
    if get("kyverno_app_namespaces", None) == []:
        return []  # no application namespace on this cluster: no signature policy to carry a key
    if str(get("kyverno_public_key", "") or "").strip():
        return []
    if _enabled(get, "tekton") and _on(get, "tekton_chains_enabled", True):
        return []
    return [
        Problem(
            "kyverno_verify_images_enabled",
            "is true but no Chains public key is published (tekton_enabled or tekton_chains_enabled is false) "
            "and kyverno_public_key is empty",
            "turn Tekton Chains on, set kyverno_public_key to the PEM public key images are signed with, "
            "or set kyverno_verify_images_enabled: false",
        )
    ]


DOCR_HOST = "registry.digitalocean.com"


def _docr_images(get: Getter) -> list[tuple[str, str]]:
    """(variable, repository) of the application images that live in DigitalOcean's registry (DOCR):
    ``lofi_pipeline_image_registry`` and each entry's ``image_repository`` (derived from it by default)."""
    found: list[tuple[str, str]] = []
    registry = str(get("lofi_pipeline_image_registry", "") or "").strip()
    if registry:
        found.append(("lofi_pipeline_image_registry", registry))
    apps = get("lofi_pipeline_apps", [])
    for index, app in enumerate(a for a in (apps if isinstance(apps, list) else []) if isinstance(a, dict)):
        if "image_repository" in app:
            found.append(_app_value(get, index, app, "image_repository"))
    return [(var, repo) for var, repo in found if repo.split("/", 1)[0].lower() == DOCR_HOST]


def check_kyverno_registry(get: Getter) -> list[Problem]:
    """The read-only registry credential Kyverno reads signatures with (values never shown).

    Kyverno fetches signatures and attestations from the registry itself, with the Secrets of its own
    namespace named in the rule's ``imageRegistryCredentials.secrets``; DOCR refuses anonymous reads, so
    in Enforce every Pod of a DOCR image would be refused without one."""
    if not _enabled(get, "kyverno"):
        return []
    problems: list[Problem] = []
    clear = str(get("kyverno_registry_dockerconfigjson", "") or "")
    sealed = str(get("kyverno_sealed_registry", "") or "").strip()
    if clear and sealed:
        problems.append(
            Problem(
                "kyverno_registry_dockerconfigjson",
                "and kyverno_sealed_registry are both set",
                "give the credential in clear or sealed, not both",
            )
        )
    if clear and not DOCKERCONFIG.fullmatch(clear):
        problems.append(
            Problem(
                "kyverno_registry_dockerconfigjson",
                'is not a docker config JSON with "auths"',
                'give {"auths": {"<registry>": {...}}}',
            )
        )
    enforce = get("kyverno_validation_failure_action", "Audit") == "Enforce"
    verifying = _on(get, "kyverno_verify_images_enabled", True) and get("kyverno_app_namespaces", None) != []
    docr = _docr_images(get)
    if enforce and verifying and docr and not clear and not sealed:
        var, repo = docr[0]
        problems.append(
            Problem(
                "kyverno_registry_dockerconfigjson",
                f"is empty (kyverno_sealed_registry too) while kyverno_validation_failure_action is Enforce and the "
                f"images are in DOCR ({var}: {repo}): Kyverno cannot read their signatures anonymously and would "
                "refuse every Pod",
                "give a read-only DOCR credential (`doctl registry docker-config`, read-only without "
                "--read-write) in kyverno_registry_dockerconfigjson (vault or environment) or sealed in "
                "kyverno_sealed_registry, or keep kyverno_validation_failure_action: Audit",
            )
        )
    return problems


def _spoke(get: Getter) -> bool:
    hub = str(get("gitops_hub", "") or "")
    return get("gitops_delivery", DELIVERY) == "argocd" and hub != "" and hub != get("inventory_hostname", None)


def check_delivery(get: Getter) -> list[Problem]:
    """gitops_delivery=argocd hands every component to the cluster's Argo CD, so the argocd role must run
    (on a spoke, the hub's: check_hub)."""
    if str(get("gitops_hub", "") or "") and get("gitops_delivery", DELIVERY) != "argocd":
        return [
            Problem(
                "gitops_hub",
                "is set but gitops_delivery is 'helm': a hub delivers through Argo CD only",
                "set gitops_delivery: argocd for the hub and its spokes, or leave gitops_hub empty",
            )
        ]
    if get("gitops_delivery", DELIVERY) != "argocd" or _spoke(get) or _enabled(get, "argocd"):
        return []
    return [
        Problem(
            "gitops_delivery",
            "is 'argocd' but argocd_enabled is false: no Argo CD would receive the components' Applications",
            "set argocd_enabled: true, or gitops_delivery: helm to install the components with Helm from Ansible",
        )
    ]


def check_platform_repo(get: Getter) -> list[Problem]:
    """With gitops_delivery=argocd, Tekton's release files reach Argo CD through the platform GitOps
    repository (the tekton role writes them there with doks.gitops.git_files): it must be named, by
    an HTTPS clone URL (the token goes as an HTTP Basic password), with a token that may push."""
    if get("gitops_delivery", DELIVERY) != "argocd" or not _enabled(get, "tekton"):
        return []
    url = str(get("gitops_platform_repo_url", "") or "")
    fix = (
        "create a Git repository for the platform's rendered manifests and set gitops_platform_repo_url to its "
        "HTTPS clone URL (e.g. https://github.com/acme/platform-gitops.git)"
    )
    if not url:
        return [
            Problem(
                "gitops_platform_repo_url",
                "is empty, but gitops_delivery is 'argocd' and tekton_enabled is true: Argo CD reads Tekton's "
                "release files from that repository",
                fix,
            )
        ]
    if not re.match(r"^https://[^/@\s]+/\S+$", url):
        return [Problem("gitops_platform_repo_url", f"{url!r} is not an https:// clone URL without credentials", fix)]
    if not str(get("gitops_platform_repo_token", "") or ""):
        return [
            Problem(
                "gitops_platform_repo_token",
                "is empty: the tekton role cannot push its release files to gitops_platform_repo_url",
                "set a token with write access to that repository only (GitHub: a fine-grained token with "
                "Contents read and write), vaulted",
            )
        ]
    return []


# A label key's name part (apimachinery pkg/util/validation IsQualifiedName): at most 63 characters.
QUALIFIED_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def check_component_names(get: Getter) -> list[Problem]:
    """With a hub, each component's release name is part of a label key of the spokes' cluster Secrets
    (``doks.gitops/component.<name>``, the hub's ApplicationSet selector): the release names the
    inventory can set must make a valid key name part."""
    if get("gitops_delivery", DELIVERY) != "argocd" or not str(get("gitops_hub", "") or ""):
        return []
    problems = []
    for var, default in (("gitops_oauth2_proxy_service", "oauth2-proxy"), ("argocd_release_name", "argocd")):
        name = str(get(var, default) or "")
        if not QUALIFIED_NAME.match("component." + name):
            problems.append(
                Problem(
                    var,
                    "%r cannot be part of the label key doks.gitops/component.%s that switches the component on "
                    "for a spoke (at most 53 characters, letters, digits, '-', '_' and '.')" % (name, name),
                    "choose a shorter release name of letters, digits and '-'",
                )
            )
    return problems


# Falco's priorities, most severe first (falcosecurity/charts falcosidekick-0.12.1 values.yaml
# `minimumpriority`, falcosidekick 2.32.0 types/priority.go, which reads an unknown name as "": every event).
FALCO_PRIORITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug")


def check_falco_settings(get: Getter) -> list[Problem]:
    """Falco's outputs need the observability stack, and each output's minimum priority must be one Falco
    produces (at or above falco_minimum_priority, the rules Falco loads)."""
    if str(get("falco_enabled", False)).lower() not in ("true", "1", "yes", "on"):
        return []
    problems = []
    observability = _enabled(get, "observability")
    outputs = _on(get, "falco_outputs_enabled", True)
    if outputs and not observability:
        problems.append(
            Problem(
                "falco_outputs_enabled",
                "is true but observability_enabled is false: falcosidekick would push events to a Loki and "
                "an Alertmanager that are not installed",
                "set observability_enabled: true, or falco_outputs_enabled: false (Falco's stdout only)",
            )
        )
    if _on(get, "falco_service_monitors_enabled", True) and not observability:
        problems.append(
            Problem(
                "falco_service_monitors_enabled",
                "is true but observability_enabled is false: the ServiceMonitor and PrometheusRule kinds "
                "come from the observability role's Prometheus Operator",
                "set observability_enabled: true, or falco_service_monitors_enabled: false",
            )
        )
    floor = str(get("falco_minimum_priority", "notice") or "").lower()
    if floor not in FALCO_PRIORITIES:
        return problems  # the argument spec's choices name it
    for variable, default in (
        ("falco_loki_minimum_priority", "notice"),
        ("falco_alertmanager_minimum_priority", "critical"),
    ):
        level = str(get(variable, default) or "").lower()
        if not outputs or level not in FALCO_PRIORITIES:
            continue
        if FALCO_PRIORITIES.index(level) > FALCO_PRIORITIES.index(floor):
            problems.append(
                Problem(
                    variable,
                    f"is {level}, below falco_minimum_priority ({floor}): Falco does not load rules below "
                    f"{floor}, so no {level} event would ever reach this output",
                    f"set {variable} to {floor} or a more severe priority "
                    f"({', '.join(FALCO_PRIORITIES[: FALCO_PRIORITIES.index(floor) + 1])}), "
                    f"or lower falco_minimum_priority to {level}",
                )
            )
    return problems


# The cross-field inventory rules, keyed by the role that obeys them: site.yml's preflight runs every
# key once before any write, and each role's first task runs its own key (with gitops's) when it runs
# alone. Types, choices and required values are the roles' meta/argument_specs.yml; checks that need
# the cluster or an API stay in the role; modules keep their own input checks.
RULES: dict[str, tuple[Check, ...]] = {
    "gitops": (check_domain, check_pools, check_placement, check_delivery, check_component_names),
    "doks_cluster": (
        check_doks_credentials,
        check_spaces_bucket,
        check_node_pools,
        check_control_plane_firewall,
        check_teardown_dns,
    ),
    "auth0_apps": (
        check_auth0_credentials,
        check_auth0_domain,
        check_auth0_settings,
        check_auth0_connections,
        check_auth0_urls,
        check_auth0_members,
    ),
    "ingress_certmanager": (
        check_acme,
        check_dns_token,
        check_sealed_secrets_backup,
        check_ingress_settings,
        group_references("ingress_certmanager"),
    ),
    "observability": (
        check_observability_settings,
        check_alertmanager_config,
        check_alertmanager_secrets,
        group_references("observability"),
    ),
    "tekton": (check_release_checksums, check_tekton_settings, check_platform_repo, group_references("tekton")),
    "kyverno": (check_kyverno_settings, check_kyverno_registry),
    "falco": (check_falco_settings,),
    "argocd": (check_argocd_settings, check_argocd_projects, group_references("argocd")),
    "lofi_pipeline": (check_git_urls, check_app_credentials, check_apps, check_app_entries, check_scan),
}
# every rule once, in the order of the keys
SHARED_CHECKS: tuple[Check, ...] = tuple(check for checks in RULES.values() for check in checks)
