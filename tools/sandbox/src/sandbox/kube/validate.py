"""The validation a real API server does that clients are likely to hit (422 Invalid)."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.kube.errors import invalid
from sandbox.kube.resources import ResourceType
from sandbox.kube.selectors import label_selector

SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
# Kinds whose names must be DNS-1123 labels rather than subdomains.
LABEL_NAMED = {"/namespaces", "/services"}
# RBAC and a few others accept path segment names (e.g. "system:controller:x").
PATH_SEGMENT_NAMED = {
    "rbac.authorization.k8s.io/roles",
    "rbac.authorization.k8s.io/rolebindings",
    "rbac.authorization.k8s.io/clusterroles",
    "rbac.authorization.k8s.io/clusterrolebindings",
    "/nodes",
}
WORKLOADS = {"apps/deployments", "apps/statefulsets", "apps/daemonsets", "apps/replicasets"}


def _name_errors(rtype: ResourceType, name: str) -> list[tuple[str, str, str]]:
    if not name:
        return [("FieldValueRequired", "Required value: name or generateName is required", "metadata.name")]
    if rtype.gr in PATH_SEGMENT_NAMED:
        ok = name not in {".", ".."} and "/" not in name and "%" not in name
    elif rtype.gr in LABEL_NAMED:
        ok = len(name) <= 63 and bool(LABEL.match(name))
    else:
        ok = len(name) <= 253 and bool(SUBDOMAIN.match(name))
    if ok:
        return []
    what = "RFC 1123 label" if rtype.gr in LABEL_NAMED else "RFC 1123 subdomain"
    return [
        (
            "FieldValueInvalid",
            f'Invalid value: "{name}": a lowercase {what} must consist of lower case alphanumeric characters'
            + (", '-' or '.'" if what.endswith("subdomain") else " or '-'")
            + ", and must start and end with an alphanumeric character",
            "metadata.name",
        )
    ]


def _label_errors(labels: Any) -> list[tuple[str, str, str]]:
    errors = []
    if not isinstance(labels, dict):
        return errors
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if not name or len(name) > 63 or not QUALIFIED.match(name) or (prefix and not SUBDOMAIN.match(prefix)):
            errors.append(
                ("FieldValueInvalid", f'Invalid value: "{key}": name part must be a valid label key', "metadata.labels")
            )
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            errors.append(
                (
                    "FieldValueInvalid",
                    f'Invalid value: "{value}": a valid label must be 63 characters or less',
                    "metadata.labels",
                )
            )
    return errors


# ---------------------------------------------------------------------------- API-server rules
#
# Written from kubernetes/kubernetes pkg/apis/core/validation/validation.go and
# pkg/apis/networking/validation/validation.go (the function named in each docstring) and
# k8s.io/apimachinery/pkg/util/validation (IsValidPortName, IsEnvVarName, IsDNS1123Label):
# the rules the OpenAPI schema cannot carry. Messages are ``field.Error.ErrorBody()``.

Cause = tuple[str, str, str]
DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
ENV_VAR_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
ENV_VAR_NAME_MSG = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
    "and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used "
    "for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
)
QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
PORT_NAME_CHARSET = re.compile(r"^[-a-z0-9]+$")
PORT_NAME_ONE_LETTER = re.compile(r"[a-z]")
PORT_PROTOCOLS = ("SCTP", "TCP", "UDP")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")


def go_value(value: Any) -> str:
    """A bad value as ``field.Error`` prints it (``%q`` for strings, ``%v`` for numbers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "null" if value is None else str(value)


def invalid_cause(path: str, value: Any, detail: str) -> Cause:
    return ("FieldValueInvalid", f"Invalid value: {go_value(value)}: {detail}", path)


def required_cause(path: str, detail: str = "") -> Cause:
    return ("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), path)


def forbidden_cause(path: str, detail: str) -> Cause:
    return ("FieldValueForbidden", f"Forbidden: {detail}", path)


def duplicate_cause(path: str, value: Any) -> Cause:
    return (
        "FieldValueDuplicate",
        f"Duplicate value: {go_value(value) if isinstance(value, str | int) else value}",
        path,
    )


def not_supported_cause(path: str, value: Any, supported: tuple[str, ...]) -> Cause:
    quoted = ", ".join(f'"{v}"' for v in supported)
    return ("FieldValueNotSupported", f"Unsupported value: {go_value(value)}: supported values: {quoted}", path)


def port_name_errors(name: str) -> list[str]:
    """apimachinery ``validation.IsValidPortName`` (IANA_SVC_NAME, RFC 6335)."""
    errs = []
    if len(name) > 15:
        errs.append("must be no more than 15 characters")
    if not PORT_NAME_CHARSET.match(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not PORT_NAME_ONE_LETTER.search(name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_num_errors(port: Any) -> list[str]:
    """apimachinery ``validation.IsValidPortNum``."""
    return [] if isinstance(port, int) and 1 <= port <= 65535 else ["must be between 1 and 65535, inclusive"]


def dns1123_label_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not LABEL.match(value):
        errs.append(DNS1123_LABEL_MSG)
    return errs


def port_num_or_name(port: Any, path: str) -> list[Cause]:
    """core ``ValidatePortNumOrName``: an int is a port number, a string an IANA port name."""
    if isinstance(port, str):
        return [invalid_cause(path, port, msg) for msg in port_name_errors(port)]
    if isinstance(port, int):
        return [invalid_cause(path, port, msg) for msg in port_num_errors(port)]
    return []


def _container_ports(ports: Any, path: str) -> list[Cause]:
    """core ``validateContainerPorts``."""
    errors: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports if isinstance(ports, list) else []):
        if not isinstance(port, dict):
            continue
        here = f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            msgs = port_name_errors(name)
            if msgs:
                errors += [invalid_cause(f"{here}.name", name, msg) for msg in msgs]
            elif name in names:
                errors.append(duplicate_cause(f"{here}.name", name))
            else:
                names.add(name)
        if not port.get("containerPort"):
            errors.append(required_cause(f"{here}.containerPort"))
        else:
            errors += [
                invalid_cause(f"{here}.containerPort", port["containerPort"], m)
                for m in port_num_errors(port["containerPort"])
            ]
        if port.get("hostPort"):
            errors += [
                invalid_cause(f"{here}.hostPort", port["hostPort"], m) for m in port_num_errors(port["hostPort"])
            ]
        protocol = port.get("protocol")
        if protocol and protocol not in PORT_PROTOCOLS:
            errors.append(not_supported_cause(f"{here}.protocol", protocol, PORT_PROTOCOLS))
    return errors


def _env(env: Any, path: str) -> list[Cause]:
    """core ``ValidateEnv`` and ``validateEnvVarValueFrom`` (RelaxedEnvironmentVariableValidation is off in 1.31)."""
    errors: list[Cause] = []
    for i, var in enumerate(env if isinstance(env, list) else []):
        if not isinstance(var, dict):
            continue
        here = f"{path}[{i}]"
        name = var.get("name") or ""
        if not name:
            errors.append(required_cause(f"{here}.name"))
        elif not ENV_VAR_NAME.match(name):
            errors.append(invalid_cause(f"{here}.name", name, ENV_VAR_NAME_MSG))
        elif name in {".", ".."} or name.startswith(".."):
            errors.append(
                invalid_cause(f"{here}.name", name, "must not start with '..'" if name != "." else "must not be '.'")
            )
        source = var.get("valueFrom")
        if isinstance(source, dict):
            count = sum(1 for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef") if source.get(k))
            if count == 0:
                errors.append(
                    invalid_cause(
                        f"{here}.valueFrom",
                        "",
                        "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                    )
                )
            elif var.get("value"):
                errors.append(invalid_cause(f"{here}.valueFrom", "", "may not be specified when `value` is not empty"))
            elif count > 1:
                errors.append(
                    invalid_cause(f"{here}.valueFrom", "", "may not have more than one field specified at a time")
                )
    return errors


def _handler(handler: Any, path: str, kinds: tuple[str, ...]) -> list[Cause]:
    """core ``validateHandler``: exactly one handler type."""
    if not isinstance(handler, dict):
        return []
    errors: list[Cause] = []
    count = 0
    for kind in kinds:
        action = handler.get(kind)
        if action is None:
            continue
        if count > 0:
            errors.append(forbidden_cause(f"{path}.{kind}", "may not specify more than 1 handler type"))
            continue
        count += 1
        if kind in {"httpGet", "tcpSocket", "grpc"} and isinstance(action, dict):
            # validateHTTPGetAction / validateTCPSocketAction / validateGRPCAction: ValidatePortNumOrName
            errors += port_num_or_name(action.get("port", 0), f"{path}.{kind}.port")
        elif kind == "exec" and isinstance(action, dict) and not action.get("command"):
            errors.append(required_cause(f"{path}.{kind}.command"))
    if count == 0:
        errors.append(required_cause(path, "must specify a handler type"))
    return errors


def _probes(container: dict[str, Any], path: str) -> list[Cause]:
    """core ``validateLivenessProbe``/``validateReadinessProbe``/``validateStartupProbe``, ``validateLifecycle``."""
    errors: list[Cause] = []
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        value = container.get(probe)
        if not isinstance(value, dict):
            continue
        errors += _handler(value, f"{path}.{probe}", PROBE_HANDLERS)
        threshold = value.get("successThreshold")
        if probe != "readinessProbe" and threshold not in (None, 0, 1):
            errors.append(invalid_cause(f"{path}.{probe}.successThreshold", threshold, "must be 1"))
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            if lifecycle.get(hook) is not None:
                errors += _handler(lifecycle[hook], f"{path}.lifecycle.{hook}", LIFECYCLE_HANDLERS)
    return errors


_SUFFIXES = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip
QUANTITY = re.compile(r"^([+-]?[0-9.]+)(([eE][+-]?[0-9]+)|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|)$")


def quantity(value: Any) -> Decimal | None:
    """A resource.Quantity as a number (None when it does not parse)."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = QUANTITY.match(str(value).strip())
    if not match:
        return None
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        return None
    suffix = match.group(2)
    if match.group(3):
        return number * Decimal(10) ** int(suffix[1:])
    return number * Decimal(_SUFFIXES[suffix])


def _resources(resources: Any, path: str) -> list[Cause]:
    """core ``ValidateResourceRequirements``: a request may not exceed its limit."""
    if not isinstance(resources, dict):
        return []
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    errors: list[Cause] = []
    for name, value in sorted(requests.items()) if isinstance(requests, dict) else []:
        if not isinstance(limits, dict) or name not in limits:
            continue
        request, limit = quantity(value), quantity(limits[name])
        if request is not None and limit is not None and request > limit:
            errors.append(
                invalid_cause(
                    f"{path}.requests[{name}]",
                    str(value),
                    f"must be less than or equal to {name} limit of {limits[name]}",
                )
            )
    return errors


def _container_common(container: dict[str, Any], path: str) -> list[Cause]:
    """core ``validateContainerCommon``."""
    errors: list[Cause] = []
    name = container.get("name") or ""
    if not name:
        errors.append(required_cause(f"{path}.name"))
    else:
        errors += [invalid_cause(f"{path}.name", name, msg) for msg in dns1123_label_errors(name)]
    if not container.get("image"):
        errors.append(required_cause(f"{path}.image"))
    errors += _container_ports(container.get("ports"), f"{path}.ports")
    errors += _env(container.get("env"), f"{path}.env")
    errors += _resources(container.get("resources"), f"{path}.resources")
    return errors


def _tolerations(tolerations: Any, path: str) -> list[Cause]:
    """core ``ValidateTolerations`` (operator enum, Exists takes no value, effect enum)."""
    errors: list[Cause] = []
    for i, t in enumerate(tolerations if isinstance(tolerations, list) else []):
        if not isinstance(t, dict):
            continue
        here = f"{path}[{i}]"
        key, operator, value, effect = (
            t.get("key") or "",
            t.get("operator") or "",
            t.get("value") or "",
            t.get("effect") or "",
        )
        if key:
            prefix, _, name = key.rpartition("/")
            if not name or len(name) > 63 or not QUALIFIED.match(name) or (prefix and not SUBDOMAIN.match(prefix)):
                errors.append(
                    invalid_cause(
                        f"{here}.key",
                        key,
                        QUALIFIED_NAME_MSG,
                    )
                )
        if not key and operator != "Exists":
            errors.append(
                invalid_cause(
                    f"{here}.operator",
                    operator,
                    'operator must be Exists when `key` is empty, which means "match all values and all keys"',
                )
            )
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            errors.append(
                invalid_cause(f"{here}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set")
            )
        if operator in {"", "Equal"}:
            if value and (len(value) > 63 or not LABEL_VALUE.match(value)):
                errors.append(
                    invalid_cause(
                        f"{here}.operator",
                        value,
                        LABEL_VALUE_MSG,
                    )
                )
        elif operator == "Exists":
            if value:
                seconds = t.get("tolerationSeconds")
                struct = (
                    f'core.Toleration{{Key:{go_value(key)}, Operator:"Exists", Value:{go_value(value)}, '
                    f"Effect:{go_value(effect)}, TolerationSeconds:"
                    + ("(*int64)(nil)" if seconds is None else f"(*int64)({seconds})")
                    + "}"
                )
                errors.append(
                    (
                        "FieldValueInvalid",
                        f"Invalid value: {struct}: value must be empty when `operator` is 'Exists'",
                        f"{here}.operator",
                    )
                )
        else:
            errors.append(not_supported_cause(f"{here}.operator", operator, ("Equal", "Exists")))
        if effect and effect not in TAINT_EFFECTS:
            errors.append(not_supported_cause(f"{here}.effect", effect, TAINT_EFFECTS))
    return errors


def pod_spec_errors(spec: Any, path: str) -> list[Cause]:  # noqa: PLR0912 - one branch per upstream rule
    """core ``validateContainers``, ``validateInitContainers``, ``ValidateTolerations`` of a PodSpec."""
    if not isinstance(spec, dict):
        return [required_cause(f"{path}.containers")]
    errors: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        errors.append(required_cause(f"{path}.containers"))
    names: set[str] = set()
    for i, container in enumerate(containers if isinstance(containers, list) else []):
        if not isinstance(container, dict):
            continue
        here = f"{path}.containers[{i}]"
        errors += _container_common(container, here)
        name = container.get("name") or ""
        if name in names:
            errors.append(duplicate_cause(f"{here}.name", name))
        else:
            names.add(name)
        errors += _probes(container, here)
        if container.get("restartPolicy") is not None:
            errors.append(forbidden_cause(f"{here}.restartPolicy", "may not be set for non-init containers"))
    init = spec.get("initContainers")
    for i, container in enumerate(init if isinstance(init, list) else []):
        if not isinstance(container, dict):
            continue
        here = f"{path}.initContainers[{i}]"
        errors += _container_common(container, here)
        name = container.get("name") or ""
        if name in names:
            errors.append(duplicate_cause(f"{here}.name", name))
        elif name:
            names.add(name)
        if container.get("restartPolicy") == "Always":
            errors += _probes(container, here)
        else:
            for hook in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if container.get(hook) is not None:
                    errors.append(
                        forbidden_cause(
                            f"{here}.{hook}", "may not be set for init containers without restartPolicy=Always"
                        )
                    )
    errors += _tolerations(spec.get("tolerations"), f"{path}.tolerations")
    return errors


def _service(obj: dict[str, Any]) -> list[Cause]:
    """core ``ValidateService`` / ``validateServicePort``: names required on multi-port Services, unique."""
    spec = obj.get("spec") or {}
    ports = spec.get("ports") if isinstance(spec.get("ports"), list) else []
    errors: list[Cause] = []
    names: set[str] = set()
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        here = f"spec.ports[{i}]"
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            errors.append(required_cause(f"{here}.name"))
        elif name:
            errors += [invalid_cause(f"{here}.name", name, msg) for msg in dns1123_label_errors(name)]
            if name in names:
                errors.append(duplicate_cause(f"{here}.name", name))
            else:
                names.add(name)
        errors += [invalid_cause(f"{here}.port", port.get("port", 0), m) for m in port_num_errors(port.get("port", 0))]
        protocol = port.get("protocol") or "TCP"
        if protocol not in PORT_PROTOCOLS:
            errors.append(not_supported_cause(f"{here}.protocol", protocol, PORT_PROTOCOLS))
        if port.get("targetPort") not in (None, 0, ""):
            errors += port_num_or_name(port["targetPort"], f"{here}.targetPort")
        key = (protocol, port.get("port"))
        if key in seen:
            errors.append(
                duplicate_cause(
                    here,
                    f'core.ServicePort{{Name:"", Protocol:"{protocol}", AppProtocol:(*string)(nil), '
                    f'Port:{port.get("port")}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, '
                    "NodePort:0}",
                )
            )
        seen.add(key)
    return errors


def _network_policy(obj: dict[str, Any]) -> list[Cause]:
    """networking ``ValidateNetworkPolicyPort`` for every ingress and egress rule."""
    spec = obj.get("spec") or {}
    errors: list[Cause] = []
    for direction in ("ingress", "egress"):
        rules = spec.get(direction)
        for i, rule in enumerate(rules if isinstance(rules, list) else []):
            ports = rule.get("ports") if isinstance(rule, dict) else None
            for j, port in enumerate(ports if isinstance(ports, list) else []):
                if not isinstance(port, dict):
                    continue
                here = f"spec.{direction}[{i}].ports[{j}]"
                protocol = port.get("protocol")
                if protocol is not None and protocol not in ("TCP", "UDP", "SCTP"):
                    errors.append(not_supported_cause(f"{here}.protocol", protocol, ("TCP", "UDP", "SCTP")))
                number, end = port.get("port"), port.get("endPort")
                if isinstance(number, int):
                    errors += [invalid_cause(f"{here}.port", number, m) for m in port_num_errors(number)]
                    if end is not None:
                        if isinstance(end, int) and end < number:
                            errors.append(
                                invalid_cause(f"{here}.endPort", end, "must be greater than or equal to `port`")
                            )
                        errors += [invalid_cause(f"{here}.endPort", end, m) for m in port_num_errors(end)]
                elif isinstance(number, str):
                    if end is not None:
                        errors.append(
                            invalid_cause(f"{here}.endPort", end, "may not be specified when `port` is non-numeric")
                        )
                    errors += [invalid_cause(f"{here}.port", number, m) for m in port_name_errors(number)]
                elif end is not None:
                    errors.append(
                        invalid_cause(f"{here}.endPort", end, "may not be specified when `port` is not specified")
                    )
    return errors


def _ingress(obj: dict[str, Any]) -> list[Cause]:
    """networking ``validateHTTPIngressPath``: pathType required and supported, absolute clean paths."""
    spec = obj.get("spec") or {}
    errors: list[Cause] = []
    rules = spec.get("rules")
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        http = rule.get("http") if isinstance(rule, dict) else None
        paths = http.get("paths") if isinstance(http, dict) else None
        for j, entry in enumerate(paths if isinstance(paths, list) else []):
            if not isinstance(entry, dict):
                continue
            here = f"spec.rules[{i}].http.paths[{j}]"
            kind, path = entry.get("pathType"), entry.get("path") or ""
            if kind is None:
                errors.append(required_cause(f"{here}.pathType", "pathType must be specified"))
                continue
            if kind in {"Exact", "Prefix"}:
                if not path.startswith("/"):
                    errors.append(invalid_cause(f"{here}.path", path, "must be an absolute path"))
                if path:
                    errors += [
                        invalid_cause(f"{here}.path", path, f"must not contain '{seq}'")
                        for seq in INVALID_PATH_SEQUENCES
                        if seq in path
                    ]
                    errors += [
                        invalid_cause(f"{here}.path", path, f"cannot end with '{suffix}'")
                        for suffix in INVALID_PATH_SUFFIXES
                        if path.endswith(suffix)
                    ]
            elif kind == "ImplementationSpecific":
                if path and not path.startswith("/"):
                    errors.append(invalid_cause(f"{here}.path", path, "must be an absolute path"))
            else:
                errors.append(not_supported_cause(f"{here}.pathType", kind, PATH_TYPES))
            errors += _ingress_backend(entry.get("backend"), f"{here}.backend")
    return errors


def _ingress_backend(backend: Any, path: str) -> list[Cause]:
    """networking ``validateIngressBackend``: a service port is a name (IANA) or a number, not both."""
    service = backend.get("service") if isinstance(backend, dict) else None
    if not isinstance(service, dict):
        return []
    port = service.get("port") if isinstance(service.get("port"), dict) else {}
    name, number = port.get("name") or "", port.get("number") or 0
    if name and number:
        return [invalid_cause(path, "", "cannot set both port name & port number")]
    if name:
        return [invalid_cause(f"{path}.service.port.name", name, msg) for msg in port_name_errors(name)]
    if number:
        return [invalid_cause(f"{path}.service.port.number", number, m) for m in port_num_errors(number)]
    return [required_cause(path, "port name or number is required")]


RBAC_GROUP = "rbac.authorization.k8s.io"


def _policy_rules(obj: dict[str, Any], namespaced: bool) -> list[Cause]:
    """rbac ``validatePolicyRule`` for every rule of a Role or ClusterRole."""
    errors: list[Cause] = []
    rules = obj.get("rules")
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue
        here = f"rules[{i}]"
        if not rule.get("verbs"):
            errors.append(required_cause(f"{here}.verbs", "verbs must contain at least one value"))
        urls = rule.get("nonResourceURLs")
        if urls:
            shown = "[]string{" + ", ".join(go_value(u) for u in urls) + "}"
            if namespaced:
                errors.append(
                    (
                        "FieldValueInvalid",
                        f"Invalid value: {shown}: namespaced rules cannot apply to non-resource URLs",
                        f"{here}.nonResourceURLs",
                    )
                )
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                errors.append(
                    (
                        "FieldValueInvalid",
                        f"Invalid value: {shown}: rules cannot apply to both regular resources and non-resource URLs",
                        f"{here}.nonResourceURLs",
                    )
                )
            continue
        if not rule.get("apiGroups"):
            errors.append(required_cause(f"{here}.apiGroups", "resource rules must supply at least one api group"))
        if not rule.get("resources"):
            errors.append(required_cause(f"{here}.resources", "resource rules must supply at least one resource"))
    return errors


def _role_ref(ref: Any) -> str:
    ref = ref if isinstance(ref, dict) else {}
    return (
        f"rbac.RoleRef{{APIGroup:{go_value(ref.get('apiGroup') or '')}, Kind:{go_value(ref.get('kind') or '')}, "
        f"Name:{go_value(ref.get('name') or '')}}}"
    )


def _binding(obj: dict[str, Any], namespaced: bool, old: dict[str, Any] | None) -> list[Cause]:  # noqa: PLR0912 - one branch per upstream rule
    """rbac ``ValidateRoleBinding``/``ValidateClusterRoleBinding``, ``validateRoleBindingSubject``, and
    ``...Update``: "cannot change roleRef"."""
    errors: list[Cause] = []
    ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
    if ref.get("apiGroup") != RBAC_GROUP:
        errors.append(not_supported_cause("roleRef.apiGroup", ref.get("apiGroup") or "", (RBAC_GROUP,)))
    kinds = ("Role", "ClusterRole") if namespaced else ("ClusterRole",)
    if ref.get("kind") not in kinds:
        errors.append(not_supported_cause("roleRef.kind", ref.get("kind") or "", kinds))
    if not ref.get("name"):
        errors.append(required_cause("roleRef.name"))
    subjects = obj.get("subjects")
    for i, subject in enumerate(subjects if isinstance(subjects, list) else []):
        if not isinstance(subject, dict):
            continue
        here = f"subjects[{i}]"
        kind, name = subject.get("kind") or "", subject.get("name") or ""
        if not name:
            errors.append(required_cause(f"{here}.name"))
        if kind == "ServiceAccount":
            if name:
                errors += [invalid_cause(f"{here}.name", name, msg) for msg in _subdomain_errors(name)]
            if subject.get("apiGroup"):
                errors.append(not_supported_cause(f"{here}.apiGroup", subject["apiGroup"], ("",)))
            if not namespaced and not subject.get("namespace"):
                errors.append(required_cause(f"{here}.namespace"))
        elif kind in {"User", "Group"}:
            if not name:
                errors.append(invalid_cause(f"{here}.name", name, f"{kind.lower()} name cannot be empty"))
            group = subject.get("apiGroup") or RBAC_GROUP  # SetDefaults_Subject
            if group != RBAC_GROUP:
                errors.append(not_supported_cause(f"{here}.apiGroup", group, (RBAC_GROUP,)))
        else:
            errors.append(not_supported_cause(f"{here}.kind", kind, ("ServiceAccount", "User", "Group")))
    if old is not None and (old.get("roleRef") or {}) != ref:
        errors.append(("FieldValueInvalid", f"Invalid value: {_role_ref(ref)}: cannot change roleRef", "roleRef"))
    return errors


def _subdomain_errors(value: str) -> list[str]:
    """apimachinery ``IsDNS1123Subdomain`` (ServiceAccount names)."""
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not SUBDOMAIN.match(value):
        errs.append(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
            "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
    return errs


def _workload(obj: dict[str, Any]) -> list[Cause]:
    spec = obj.get("spec") or {}
    errors = []
    selector = spec.get("selector")
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector:
        errors.append(("FieldValueRequired", "Required value", "spec.selector"))
    elif not label_selector(selector)(template_labels):
        errors.append(
            (
                "FieldValueInvalid",
                f"Invalid value: map[string]string{_go_map(template_labels)}: "
                "`selector` does not match template `labels`",
                "spec.template.metadata.labels",
            )
        )
    errors += pod_spec_errors((spec.get("template") or {}).get("spec"), "spec.template.spec")
    return errors


def _go_map(labels: dict[str, Any]) -> str:
    return "{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"


def _pod_template_of(obj: dict[str, Any], gr: str) -> tuple[Any, str] | None:
    spec = obj.get("spec") or {}
    if gr == "/pods":
        return spec, "spec"
    if gr == "batch/jobs":
        return (spec.get("template") or {}).get("spec"), "spec.template.spec"
    if gr == "batch/cronjobs":
        job = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        return job.get("spec"), "spec.jobTemplate.spec.template.spec"
    if gr == "/podtemplates":
        return ((obj.get("template") or {}).get("spec")), "template.spec"
    return None


def _schema_required(rtype: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    """What the 1.31 OpenAPI marks ``required`` (judged by kubernetes-validate's schemas)."""
    if rtype.custom:
        return []
    from sandbox.kube import judge  # noqa: PLC0415 - judge imports this module for the audit

    return judge.judge(obj, rtype.api_version, rtype.kind).required


def validate(rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:  # noqa: PLR0912 - one branch per kind
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    errors = _name_errors(rtype, name) + _label_errors(meta.get("labels"))
    if rtype.gr in WORKLOADS:
        errors += _workload(obj)
        if (
            old is not None
            and rtype.gr != "apps/replicasets"
            and (old.get("spec") or {}).get("selector") != (obj.get("spec") or {}).get("selector")
        ):
            errors.append(("FieldValueInvalid", "Invalid value: field is immutable", "spec.selector"))
    elif rtype.gr in {"batch/jobs", "batch/cronjobs", "/pods", "/podtemplates"}:
        spec, path = _pod_template_of(obj, rtype.gr) or (None, "spec")
        errors += pod_spec_errors(spec, path)
        if rtype.gr in {"batch/jobs", "batch/cronjobs"}:
            restart = (spec or {}).get("restartPolicy") if isinstance(spec, dict) else None
            if restart not in {"Never", "OnFailure"}:
                errors.append(
                    (
                        "FieldValueNotSupported",
                        f'Unsupported value: "{restart}": supported values: "OnFailure", "Never"',
                        f"{path}.restartPolicy",
                    )
                )
    elif rtype.gr == "/services":
        errors += _service(obj)
    elif rtype.gr in {"rbac.authorization.k8s.io/roles", "rbac.authorization.k8s.io/clusterroles"}:
        errors += _policy_rules(obj, rtype.gr.endswith("/roles"))
    elif rtype.gr in {"rbac.authorization.k8s.io/rolebindings", "rbac.authorization.k8s.io/clusterrolebindings"}:
        errors += _binding(obj, rtype.gr.endswith("/rolebindings"), old)
    elif rtype.gr == "networking.k8s.io/networkpolicies":
        errors += _network_policy(obj)
    elif rtype.gr == "networking.k8s.io/ingresses":
        errors += _ingress(obj)
    elif rtype.gr == "/configmaps":
        for key, value in (obj.get("data") or {}).items():
            if not isinstance(value, str):
                errors.append(("FieldValueTypeInvalid", "Invalid value: must be a string", f"data.{key}"))
    errors += _immutable_data(rtype, obj, old)
    covered = {where for _, _, where in errors}
    errors += [cause for cause in _schema_required(rtype, obj) if cause[2] not in covered]
    if errors:
        raise invalid(rtype.kind, rtype.group, name, errors)


def _immutable_data(rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """ConfigMaps and Secrets marked ``immutable`` keep their data."""
    if rtype.gr not in {"/configmaps", "/secrets"} or old is None or not old.get("immutable"):
        return []
    return [
        ("FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set", key)
        for key in ("data", "binaryData", "immutable")
        if obj.get(key) != old.get(key)
    ]


def _crd(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    errors = []
    if not spec.get("group"):
        errors.append(("FieldValueRequired", "Required value", "spec.group"))
    if not names.get("plural") or not names.get("kind"):
        errors.append(("FieldValueRequired", "Required value", "spec.names"))
    expected = f"{names.get('plural')}.{spec.get('group')}"
    if (obj.get("metadata") or {}).get("name") != expected:
        errors.append(
            (
                "FieldValueInvalid",
                f'Invalid value: must be spec.names.plural+"."+spec.group ({expected})',
                "metadata.name",
            )
        )
    versions = spec.get("versions") or []
    if not versions:
        errors.append(("FieldValueRequired", "Required value", "spec.versions"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        errors.append(
            (
                "FieldValueInvalid",
                "Invalid value: must have exactly one version marked as storage version",
                "spec.versions",
            )
        )
    return errors
