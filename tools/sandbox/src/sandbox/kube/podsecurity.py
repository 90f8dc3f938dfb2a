"""Pod Security admission: the Pod Security Standards checks and the admission decisions around them.

Written from upstream ``k8s.io/pod-security-admission`` at tag ``v0.31.9`` (the module of Kubernetes
v1.31.9, the version this emulator answers on ``/version``), read in github:kubernetes/pod-security-admission:

- the checks, one function here per file of ``policy/``: ``check_windowsHostProcess.go``,
  ``check_hostNamespaces.go``, ``check_privileged.go``, ``check_capabilities_baseline.go``,
  ``check_hostPathVolumes.go``, ``check_hostPorts.go``, ``check_appArmorProfile.go``,
  ``check_seLinuxOptions.go``, ``check_procMount.go``, ``check_seccompProfile_baseline.go``,
  ``check_sysctls.go`` (baseline); ``check_restrictedVolumes.go``, ``check_allowPrivilegeEscalation.go``,
  ``check_runAsNonRoot.go``, ``check_runAsUser.go``, ``check_seccompProfile_restricted.go``,
  ``check_capabilities_restricted.go`` (restricted), each with the versions it declares
  (``MinimumVersion``) and the reasons/details it words;
- how they combine, ``policy/registry.go`` (restricted = its checks plus the baseline checks it does
  not override; baseline IDs first, then restricted, each sorted by ID) and ``policy/checks.go``
  (``AggregateCheckResult.ForbiddenDetail``: ``reason (detail), reason (detail)``);
- the namespace policy, ``api/helpers.go`` (``PolicyToEvaluate``: labels
  ``pod-security.kubernetes.io/{enforce,audit,warn}[-version]``, an invalid enforce level evaluates as
  restricted, invalid audit/warn levels fail open, warn defaults to a stricter enforce level;
  ``ParseVersion``: ``latest`` or ``v1.N``; the default policy is privileged:latest);
- the decisions, ``admission/admission.go``: ``ValidatePod`` (pods are refused with
  ``NewForbidden(pods, name, "violates PodSecurity \\"<level>:<version>\\": <detail>")``; updates are
  evaluated only when a container's image changed or containers were added; subresources ``status``,
  ``binding``, ``eviction``, ``exec``, ``log``, ... are ignored), ``ValidatePodController``
  (ReplicationController, PodTemplate, ReplicaSet, Deployment, DaemonSet, StatefulSet, Job and
  CronJob templates are never refused, only warned about: ``would violate PodSecurity ...``),
  ``ValidateNamespace`` (invalid labels refuse a Namespace create, or an update that changes them).

No exemption (user, namespace, runtime class) is configured, as on DOKS. The user-namespace
relaxation (feature gate ``UserNamespacesPodSecurityStandards``, alpha, off by default) is off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

PRIVILEGED, BASELINE, RESTRICTED = "privileged", "baseline", "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)
LATEST = (1, 31)  # the newest MinimumVersion of any check at v0.31.9 (seLinuxOptions 1.31)
PREFIX = "pod-security.kubernetes.io/"
# the pod controllers admission.go's DefaultPodSpecExtractor knows, by group/resource
POD_CONTROLLERS = {
    "/replicationcontrollers": ("spec", "template"),
    "/podtemplates": ("template",),
    "apps/replicasets": ("spec", "template"),
    "apps/deployments": ("spec", "template"),
    "apps/daemonsets": ("spec", "template"),
    "apps/statefulsets": ("spec", "template"),
    "batch/jobs": ("spec", "template"),
    "batch/cronjobs": ("spec", "jobTemplate", "spec", "template"),
}
IGNORED_POD_SUBRESOURCES = {"exec", "attach", "binding", "eviction", "log", "portforward", "proxy", "status"}

Version = tuple[int, int] | None  # None: latest


@dataclass(frozen=True)
class Result:
    """One check's verdict (``policy/checks.go`` CheckResult)."""

    allowed: bool
    reason: str = ""
    detail: str = ""


OK = Result(True)


# ---- helpers (policy/helpers.go, policy/visitor.go) ---------------------------------------------


def _join_quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def _plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Init containers, containers, then ephemeral containers (``visitContainers``)."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _sc(obj: dict[str, Any]) -> dict[str, Any] | None:
    value = obj.get("securityContext")
    return value if isinstance(value, dict) else None


def _setters(pod_bad: bool, containers: list[str]) -> list[str]:
    setters = ["pod"] if pod_bad else []
    if containers:
        setters.append(f"{_plural('container', 'containers', len(containers))} {_join_quote(containers)}")
    return setters


def _windows(spec: dict[str, Any]) -> bool:
    return ((spec.get("os") or {}).get("name")) == "windows"


# ---- baseline checks ----------------------------------------------------------------------------


def windows_host_process(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_windowsHostProcess.go, 1.0."""
    bad = [c["name"] for c in _containers(spec) if ((_sc(c) or {}).get("windowsOptions") or {}).get("hostProcess")]
    pod_bad = bool(((_sc(spec) or {}).get("windowsOptions") or {}).get("hostProcess"))
    setters = _setters(pod_bad, bad)
    if setters:
        detail = f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true"
        return Result(False, "hostProcess", detail)
    return OK


def host_namespaces(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_hostNamespaces.go, 1.0."""
    found = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    return Result(False, "host namespaces", ", ".join(found)) if found else OK


def privileged(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_privileged.go, 1.0."""
    bad = [c["name"] for c in _containers(spec) if (_sc(c) or {}).get("privileged")]
    if bad:
        who = f"{_plural('container', 'containers', len(bad))} {_join_quote(bad)}"
        detail = f"{who} must not set securityContext.privileged=true"
        return Result(False, "privileged", detail)
    return OK


BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}


def capabilities_baseline(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_capabilities_baseline.go, 1.0: only the container runtime's default capabilities may be added."""
    bad: list[str] = []
    extra: set[str] = set()
    for c in _containers(spec):
        added = [
            a for a in ((_sc(c) or {}).get("capabilities") or {}).get("add") or [] if a not in BASELINE_CAPABILITIES
        ]
        if added:
            bad.append(c["name"])
            extra.update(added)
    if bad:
        detail = (
            f"{_plural('container', 'containers', len(bad))} {_join_quote(bad)} must not include "
            f"{_join_quote(sorted(extra))} in securityContext.capabilities.add"
        )
        return Result(False, "non-default capabilities", detail)
    return OK


def host_path_volumes(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_hostPathVolumes.go, 1.0."""
    bad = [v["name"] for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    if bad:
        return Result(False, "hostPath volumes", f"{_plural('volume', 'volumes', len(bad))} {_join_quote(bad)}")
    return OK


def host_ports(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_hostPorts.go, 1.0."""
    bad: list[str] = []
    ports: set[str] = set()
    for c in _containers(spec):
        used = [str(p["hostPort"]) for p in c.get("ports") or [] if p.get("hostPort")]
        if used:
            bad.append(c["name"])
            ports.update(used)
    if bad:
        detail = (
            f"{_plural('container', 'containers', len(bad))} {_join_quote(bad)} {_plural('uses', 'use', len(bad))} "
            f"{_plural('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}"
        )
        return Result(False, "hostPort", detail)
    return OK


APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def app_armor_profile(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_appArmorProfile.go, 1.0: no Unconfined profile (field or deprecated annotation)."""
    allowed_types = {"RuntimeDefault", "Localhost"}
    values: set[str] = set()
    setters: list[str] = []
    pod_profile = (_sc(spec) or {}).get("appArmorProfile")
    if pod_profile is not None and pod_profile.get("type") not in allowed_types:
        setters.append("pod")
        values.add(str(pod_profile.get("type") or ""))
    bad: list[str] = []
    for c in _containers(spec):
        profile = (_sc(c) or {}).get("appArmorProfile")
        if profile is not None and profile.get("type") not in allowed_types:
            bad.append(c["name"])
            values.add(str(profile.get("type") or ""))
    if bad:
        setters.append(f"{_plural('container', 'containers', len(bad))} {_join_quote(bad)}")
    annotations = sorted(
        f'{k}="{v}"'
        for k, v in (meta.get("annotations") or {}).items()
        if k.startswith(APPARMOR_ANNOTATION_PREFIX)
        and not (not v or v == "runtime/default" or v.startswith("localhost/"))
    )
    value_list = sorted(values) + annotations
    if annotations:
        setters.append(_plural("annotation", "annotations", len(annotations)))
    if setters:
        reason = _plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(value_list))
        detail = f"{' and '.join(setters)} must not set AppArmor profile type to {_join_quote(value_list)}"
        return Result(False, reason, detail)
    return OK


def _se_linux(allowed: set[str]) -> Callable[[dict[str, Any], dict[str, Any]], Result]:
    def check(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
        types: set[str] = set()
        flags = {"user": False, "role": False}

        def valid(opts: dict[str, Any]) -> bool:
            ok = True
            if (opts.get("type") or "") not in allowed:
                ok = False
                types.add(opts.get("type") or "")
            for key in ("user", "role"):
                if opts.get(key):
                    ok = False
                    flags[key] = True
            return ok

        pod_opts = (_sc(spec) or {}).get("seLinuxOptions")
        pod_bad = pod_opts is not None and not valid(pod_opts)
        bad = [
            c["name"]
            for c in _containers(spec)
            if (opts := (_sc(c) or {}).get("seLinuxOptions")) is not None and not valid(opts)
        ]
        setters = _setters(pod_bad, bad)
        if not setters:
            return OK
        data = [f"{_plural('type', 'types', len(types))} {_join_quote(sorted(types))}"] if types else []
        data += [f"{key} may not be set" for key in ("user", "role") if flags[key]]
        detail = f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}"
        return Result(False, "seLinuxOptions", detail)

    return check


SELINUX_1_0 = {"", "container_t", "container_init_t", "container_kvm_t"}
SELINUX_1_31 = SELINUX_1_0 | {"container_engine_t"}


def proc_mount(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_procMount.go, 1.0: procMount only ``Default``."""
    bad: list[str] = []
    kinds: set[str] = set()
    for c in _containers(spec):
        value = (_sc(c) or {}).get("procMount")
        if value is not None and value != "Default":
            bad.append(c["name"])
            kinds.add(value)
    if bad:
        detail = (
            f"{_plural('container', 'containers', len(bad))} {_join_quote(bad)} must not set securityContext.procMount "
            f"to {_join_quote(sorted(kinds))}"
        )
        return Result(False, "procMount", detail)
    return OK


SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"


def _valid_seccomp(kind: Any) -> bool:
    return kind in {"Localhost", "RuntimeDefault"}


def seccomp_baseline_1_0(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_seccompProfile_baseline.go, 1.0: the deprecated annotations."""
    annotations = meta.get("annotations") or {}

    def valid(value: str) -> bool:
        return value in {"runtime/default", "docker/default"} or value.startswith("localhost/")

    keys = [SECCOMP_POD_ANNOTATION] + [SECCOMP_CONTAINER_ANNOTATION + c["name"] for c in _containers(spec)]
    forbidden = sorted({f'{k}="{annotations[k]}"' for k in keys if k in annotations and not valid(annotations[k])})
    if forbidden:
        detail = f"forbidden {_plural('annotation', 'annotations', len(forbidden))} {', '.join(forbidden)}"
        return Result(False, "seccompProfile", detail)
    return OK


def seccomp_baseline_1_19(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_seccompProfile_baseline.go, 1.19: the fields, no ``Unconfined``."""
    values: set[str] = set()
    profile = (_sc(spec) or {}).get("seccompProfile")
    pod_bad = profile is not None and not _valid_seccomp(profile.get("type"))
    if pod_bad:
        values.add(str(profile.get("type") or ""))
    bad = []
    for c in _containers(spec):
        profile = (_sc(c) or {}).get("seccompProfile")
        if profile is not None and not _valid_seccomp(profile.get("type")):
            bad.append(c["name"])
            values.add(str(profile.get("type") or ""))
    setters = _setters(pod_bad, bad)
    if setters:
        detail = (
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to {_join_quote(sorted(values))}"
        )
        return Result(False, "seccompProfile", detail)
    return OK


SYSCTLS_1_0 = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
}
SYSCTLS_1_27 = SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_1_29 = SYSCTLS_1_27 | {
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}


def _sysctls(allowed: set[str]) -> Callable[[dict[str, Any], dict[str, Any]], Result]:
    def check(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
        bad = [s.get("name", "") for s in (_sc(spec) or {}).get("sysctls") or [] if s.get("name") not in allowed]
        return Result(False, "forbidden sysctls", ", ".join(bad)) if bad else OK

    return check


# ---- restricted checks --------------------------------------------------------------------------

RESTRICTED_VOLUME_SOURCES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
)
# the order of the switch in check_restrictedVolumes.go
NAMED_VOLUME_SOURCES = (
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
)


def restricted_volumes(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_restrictedVolumes.go, 1.0: configMap, csi, downwardAPI, emptyDir, ephemeral, PVC, projected, secret."""
    bad: list[str] = []
    kinds: set[str] = set()
    for volume in spec.get("volumes") or []:
        if any(volume.get(key) is not None for key in RESTRICTED_VOLUME_SOURCES):
            continue
        bad.append(volume["name"])
        kind = next((k for k in (*NAMED_VOLUME_SOURCES, "storageos") if volume.get(k) is not None), "unknown")
        kinds.add(kind)
    if bad:
        detail = (
            f"{_plural('volume', 'volumes', len(bad))} {_join_quote(bad)} {_plural('uses', 'use', len(bad))} "
            f"{_plural('restricted volume type', 'restricted volume types', len(kinds))} {_join_quote(sorted(kinds))}"
        )
        return Result(False, "restricted volume types", detail)
    return OK


def allow_privilege_escalation_1_8(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_allowPrivilegeEscalation.go, 1.8: every container sets allowPrivilegeEscalation=false."""
    bad = [c["name"] for c in _containers(spec) if (_sc(c) or {}).get("allowPrivilegeEscalation") is not False]
    if bad:
        detail = (
            f"{_plural('container', 'containers', len(bad))} {_join_quote(bad)} must set "
            "securityContext.allowPrivilegeEscalation=false"
        )
        return Result(False, "allowPrivilegeEscalation != false", detail)
    return OK


def _not_windows(check: Callable[[dict[str, Any], dict[str, Any]], Result]) -> Callable[..., Result]:
    """The 1.25 versions of the restricted checks: pods with ``spec.os.name: windows`` pass."""

    def versioned(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
        return OK if _windows(spec) else check(meta, spec)

    versioned.__doc__ = f"{check.__doc__} (1.25: not for Windows pods)"
    return versioned


def run_as_non_root(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_runAsNonRoot.go, 1.0: the pod or every container sets runAsNonRoot=true, none sets false."""
    pod_value = (_sc(spec) or {}).get("runAsNonRoot")
    pod_bad = pod_value is False
    pod_non_root = pod_value is True
    explicit: list[str] = []
    implicit: list[str] = []
    for c in _containers(spec):
        value = (_sc(c) or {}).get("runAsNonRoot")
        if value is not None:
            if value is False:
                explicit.append(c["name"])
        elif not pod_non_root:
            implicit.append(c["name"])
    setters = _setters(pod_bad, explicit)
    if setters:
        return Result(
            False, "runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false"
        )
    if implicit:
        detail = (
            f"pod or {_plural('container', 'containers', len(implicit))} {_join_quote(implicit)} must set "
            "securityContext.runAsNonRoot=true"
        )
        return Result(False, "runAsNonRoot != true", detail)
    return OK


def run_as_user(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_runAsUser.go, 1.23: no runAsUser=0."""
    pod_bad = (_sc(spec) or {}).get("runAsUser") == 0
    bad = [c["name"] for c in _containers(spec) if (_sc(c) or {}).get("runAsUser") == 0]
    setters = _setters(pod_bad, bad)
    if setters:
        return Result(False, "runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0")
    return OK


def seccomp_restricted(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_seccompProfile_restricted.go, 1.19: RuntimeDefault or Localhost on the pod or every container."""
    values: set[str] = set()
    profile = (_sc(spec) or {}).get("seccompProfile")
    pod_bad = profile is not None and not _valid_seccomp(profile.get("type"))
    pod_set = profile is not None and not pod_bad
    if pod_bad:
        values.add(str(profile.get("type") or ""))
    explicit: list[str] = []
    implicit: list[str] = []
    for c in _containers(spec):
        profile = (_sc(c) or {}).get("seccompProfile")
        if profile is not None:
            if not _valid_seccomp(profile.get("type")):
                explicit.append(c["name"])
                values.add(str(profile.get("type") or ""))
        elif not pod_set:
            implicit.append(c["name"])
    setters = _setters(pod_bad, explicit)
    if setters:
        detail = (
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to {_join_quote(sorted(values))}"
        )
        return Result(False, "seccompProfile", detail)
    if implicit:
        detail = (
            f"pod or {_plural('container', 'containers', len(implicit))} {_join_quote(implicit)} must set "
            'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
        )
        return Result(False, "seccompProfile", detail)
    return OK


def capabilities_restricted(meta: dict[str, Any], spec: dict[str, Any]) -> Result:
    """check_capabilities_restricted.go, 1.22: drop ALL, add nothing but NET_BIND_SERVICE."""
    missing: list[str] = []
    adding: list[str] = []
    forbidden: set[str] = set()
    for c in _containers(spec):
        caps = (_sc(c) or {}).get("capabilities")
        if caps is None:
            missing.append(c["name"])
            continue
        if "ALL" not in (caps.get("drop") or []):
            missing.append(c["name"])
        added = [a for a in caps.get("add") or [] if a != "NET_BIND_SERVICE"]
        if added:
            adding.append(c["name"])
            forbidden.update(added)
    details = []
    if missing:
        details.append(
            f"{_plural('container', 'containers', len(missing))} {_join_quote(missing)} must set "
            'securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        details.append(
            f"{_plural('container', 'containers', len(adding))} {_join_quote(adding)} must not include "
            f"{_join_quote(sorted(forbidden))} in securityContext.capabilities.add"
        )
    return Result(False, "unrestricted capabilities", "; ".join(details)) if details else OK


# ---- the registry (policy/registry.go) ------------------------------------------------------------

CheckFn = Callable[[dict[str, Any], dict[str, Any]], Result]


@dataclass(frozen=True)
class Check:
    """A check: its ID, level, versions (MinimumVersion, function) and the baseline IDs it overrides."""

    id: str
    level: str
    versions: tuple[tuple[tuple[int, int], CheckFn], ...]
    overrides: tuple[str, ...] = ()

    def at(self, version: tuple[int, int]) -> CheckFn | None:
        chosen = None
        for minimum, fn in self.versions:
            if minimum <= version:
                chosen = fn
        return chosen


CHECKS = (
    Check("windowsHostProcess", BASELINE, (((1, 0), windows_host_process),)),
    Check("hostNamespaces", BASELINE, (((1, 0), host_namespaces),)),
    Check("privileged", BASELINE, (((1, 0), privileged),)),
    Check("capabilities_baseline", BASELINE, (((1, 0), capabilities_baseline),)),
    Check("hostPathVolumes", BASELINE, (((1, 0), host_path_volumes),)),
    Check("hostPorts", BASELINE, (((1, 0), host_ports),)),
    Check("appArmorProfile", BASELINE, (((1, 0), app_armor_profile),)),
    Check("seLinuxOptions", BASELINE, (((1, 0), _se_linux(SELINUX_1_0)), ((1, 31), _se_linux(SELINUX_1_31)))),
    Check("procMount", BASELINE, (((1, 0), proc_mount),)),
    Check("seccompProfile_baseline", BASELINE, (((1, 0), seccomp_baseline_1_0), ((1, 19), seccomp_baseline_1_19))),
    Check(
        "sysctls",
        BASELINE,
        (((1, 0), _sysctls(SYSCTLS_1_0)), ((1, 27), _sysctls(SYSCTLS_1_27)), ((1, 29), _sysctls(SYSCTLS_1_29))),
    ),
    Check("restrictedVolumes", RESTRICTED, (((1, 0), restricted_volumes),), ("hostPathVolumes",)),
    Check(
        "allowPrivilegeEscalation",
        RESTRICTED,
        (((1, 8), allow_privilege_escalation_1_8), ((1, 25), _not_windows(allow_privilege_escalation_1_8))),
    ),
    Check("runAsNonRoot", RESTRICTED, (((1, 0), run_as_non_root),)),
    Check("runAsUser", RESTRICTED, (((1, 23), run_as_user),)),
    Check(
        "seccompProfile_restricted",
        RESTRICTED,
        (((1, 19), seccomp_restricted), ((1, 25), _not_windows(seccomp_restricted))),
        ("seccompProfile_baseline",),
    ),
    Check(
        "capabilities_restricted",
        RESTRICTED,
        (((1, 22), capabilities_restricted), ((1, 25), _not_windows(capabilities_restricted))),
        ("capabilities_baseline",),
    ),
)


def checks_for(level: str, version: Version) -> list[tuple[str, CheckFn]]:
    """The check functions a level runs at a version, baseline IDs first then restricted, each sorted."""
    if level == PRIVILEGED:
        return []
    at = LATEST if version is None or version > LATEST else version
    restricted = [c for c in CHECKS if c.level == RESTRICTED and c.at(at)] if level == RESTRICTED else []
    overridden = {o for c in restricted for v_min, _ in c.versions if v_min <= at for o in c.overrides}
    baseline = [c for c in CHECKS if c.level == BASELINE and c.at(at) and c.id not in overridden]
    ordered = sorted(baseline, key=lambda c: c.id) + sorted(restricted, key=lambda c: c.id)
    return [(c.id, fn) for c in ordered if (fn := c.at(at)) is not None]


def evaluate(level: str, version: Version, meta: dict[str, Any], spec: dict[str, Any]) -> list[Result]:
    """The failed checks of a pod (metadata and spec) at a level and version, in upstream's order."""
    return [r for _, fn in checks_for(level, version) if not (r := fn(meta or {}, spec or {})).allowed]


def detail(results: list[Result]) -> str:
    """``AggregateCheckResult.ForbiddenDetail``: ``reason (detail), reason``."""
    return ", ".join(f"{r.reason} ({r.detail})" if r.detail else r.reason for r in results)


# ---- the namespace policy (api/helpers.go) ---------------------------------------------------------

VERSION_RE = re.compile(r"^v1\.([0-9]|[1-9][0-9]*)$")


@dataclass(frozen=True)
class LevelVersion:
    level: str
    version: Version

    def __str__(self) -> str:
        version = "latest" if self.version is None else f"v{self.version[0]}.{self.version[1]}"
        return f"{self.level}:{version}"


@dataclass(frozen=True)
class Policy:
    enforce: LevelVersion
    audit: LevelVersion
    warn: LevelVersion
    errors: tuple[tuple[str, str, str], ...]  # (label, value, message)


def _level(value: str) -> tuple[str, str | None]:
    if value in LEVELS:
        return value, None
    return RESTRICTED, f"must be one of {', '.join(LEVELS)}"


def _version(value: str) -> tuple[Version, str | None]:
    if value == "latest":
        return None, None
    match = VERSION_RE.match(value)
    if not match:
        return None, 'must be "latest" or "v1.x"'
    return (1, int(match.group(1))), None


def policy(labels: dict[str, str] | None) -> Policy:
    """``PolicyToEvaluate`` with the default policy privileged:latest for every mode."""
    labels = labels or {}
    levels = {"enforce": PRIVILEGED, "audit": PRIVILEGED, "warn": PRIVILEGED}
    versions: dict[str, Version] = {"enforce": None, "audit": None, "warn": None}
    errs: list[tuple[str, str, str]] = []
    for mode in ("enforce", "audit", "warn"):
        key = PREFIX + mode
        if key in labels:
            level, err = _level(labels[key])
            levels[mode] = level if err is None or mode == "enforce" else PRIVILEGED  # audit, warn fail open
            if err:
                errs.append((key, labels[key], err))
        vkey = f"{key}-version"
        if vkey in labels:
            versions[mode], err = _version(labels[vkey])
            if err:
                errs.append((vkey, labels[vkey], err))
    enforce_ok = PREFIX + "enforce" in labels and labels[PREFIX + "enforce"] in LEVELS
    if PREFIX + "warn" not in labels and enforce_ok and LEVELS.index(levels["enforce"]) > LEVELS.index(levels["warn"]):
        levels["warn"] = levels["enforce"]
        if PREFIX + "warn-version" not in labels:
            versions["warn"] = versions["enforce"]
    return Policy(
        *(LevelVersion(levels[m], versions[m]) for m in ("enforce", "audit", "warn")),
        errors=tuple(errs),
    )


# ---- admission decisions (admission/admission.go) ---------------------------------------------------


def pod_template(gr: str, obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(metadata, spec) of a pod controller's template, None when it has none."""
    node: Any = obj
    for key in POD_CONTROLLERS[gr]:
        node = (node or {}).get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    return node.get("metadata") or {}, node.get("spec") or {}


def significant_pod_update(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """``isSignificantPodUpdate``: containers added/removed or an image changed."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    for key in ("containers", "initContainers"):
        now, before = spec.get(key) or [], old_spec.get(key) or []
        if len(now) != len(before) or any(a.get("image") != b.get("image") for a, b in zip(now, before, strict=True)):
            return True
    previous = {c.get("name"): c for c in old_spec.get("ephemeralContainers") or []}
    for c in spec.get("ephemeralContainers") or []:
        if c.get("name") not in previous or previous[c.get("name")].get("image") != c.get("image"):
            return True
    return False


@dataclass(frozen=True)
class Decision:
    """What admission answers: a refusal message (``forbidden``, without the ``pods "x" is forbidden: ``
    prefix) or None, the warnings, and the audit annotation it would log."""

    forbidden: str | None
    warnings: tuple[str, ...]
    audit: str | None


def decide(pol: Policy, meta: dict[str, Any], spec: dict[str, Any], *, enforce: bool) -> Decision:
    """``EvaluatePod``: enforce (pods only), audit, then warn unless refused."""
    forbidden = None
    if enforce:
        failed = evaluate(pol.enforce.level, pol.enforce.version, meta, spec)
        if failed:
            forbidden = f'violates PodSecurity "{pol.enforce}": {detail(failed)}'
    audit_failed = evaluate(pol.audit.level, pol.audit.version, meta, spec)
    audit = f'would violate PodSecurity "{pol.audit}": {detail(audit_failed)}' if audit_failed else None
    warnings: tuple[str, ...] = ()
    if forbidden is None:
        warn_failed = evaluate(pol.warn.level, pol.warn.version, meta, spec)
        if warn_failed:
            warnings = (f'would violate PodSecurity "{pol.warn}": {detail(warn_failed)}',)
    return Decision(forbidden, warnings, audit)


def namespace_pods_warnings(namespace: str, enforce: LevelVersion, pods: list[dict[str, Any]]) -> list[str]:
    """``EvaluatePodsInNamespace``: warnings when a Namespace update tightens enforce over existing pods
    (every pod is checked: the emulator has no 3000-pod budget to spend)."""
    counts: dict[str, tuple[str, int]] = {}
    order: list[str] = []
    for pod in pods:
        failed = evaluate(enforce.level, enforce.version, pod.get("metadata") or {}, pod.get("spec") or {})
        if not failed:
            continue
        reason = ", ".join(r.reason for r in failed)
        name = pod["metadata"]["name"]
        if reason not in counts:
            order.append(reason)
            counts[reason] = (name, 1)
        else:
            first, count = counts[reason]
            counts[reason] = (min(first, name), count + 1)
    if not order:
        return []
    decorated = []
    for reason in order:
        name, count = counts[reason]
        others = "" if count == 1 else " (and 1 other pod)" if count == 2 else f" (and {count - 1} other pods)"
        decorated.append(f"{name}{others}: {reason}")
    head = f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level "{enforce}"'
    return [head, *sorted(decorated)]


def namespace_update_warnings(
    namespace: str, new_labels: dict[str, str], old_labels: dict[str, str], pods: list[dict[str, Any]]
) -> list[str]:
    """``ValidateNamespace`` on update: dry-run the existing pods when enforce got stricter or changed version."""
    new, old = policy(new_labels).enforce, policy(old_labels).enforce
    if new == old or new.level == PRIVILEGED:
        return []
    if new.version == old.version and LEVELS.index(new.level) <= LEVELS.index(old.level):
        return []
    return namespace_pods_warnings(namespace, new, pods)
