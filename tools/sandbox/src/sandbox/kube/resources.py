"""The resource types a virtual cluster serves: the built-in table and types from CRDs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
NO_COLLECTION = ["create", "delete", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(VERBS)
    model: str = ""  # kubernetes client model name: the schema source for built-ins
    status: bool = False  # has a status subresource
    scale: bool = False  # has a scale subresource
    generation: bool = False  # metadata.generation tracks spec changes
    crd_schema: Any = field(default=None, compare=False, hash=False)  # openAPIV3Schema of a CR
    storage_version: str = ""  # CRs: the version objects are stored at

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def gr(self) -> str:
        """Storage key: group/plural (versions of one resource share their objects)."""
        return f"{self.group}/{self.plural}"

    @property
    def custom(self) -> bool:
        return self.crd_schema is not None


def _r(group: str, version: str, kind: str, plural: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    model = kw.pop("model", f"{version[0].upper()}{version[1:]}{kind}")
    return ResourceType(group, version, kind, plural, namespaced, model=model, **kw)


ALL = ("all",)
EXT = ("api-extensions",)

BUILTIN: list[ResourceType] = [
    _r("", "v1", "Namespace", "namespaces", False, short_names=("ns",), verbs=tuple(NO_COLLECTION), status=True),
    _r("", "v1", "Pod", "pods", short_names=("po",), categories=ALL, status=True),
    _r("", "v1", "Service", "services", short_names=("svc",), categories=ALL, status=True),
    _r("", "v1", "Endpoints", "endpoints", short_names=("ep",)),
    _r("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    _r("", "v1", "Secret", "secrets"),
    _r("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",)),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",), status=True),
    _r("", "v1", "PersistentVolume", "persistentvolumes", False, short_names=("pv",), status=True),
    _r("", "v1", "Event", "events", short_names=("ev",), model="CoreV1Event"),
    _r("", "v1", "Node", "nodes", False, short_names=("no",), status=True),
    _r("", "v1", "LimitRange", "limitranges", short_names=("limits",)),
    _r("", "v1", "ResourceQuota", "resourcequotas", short_names=("quota",), status=True),
    _r("", "v1", "PodTemplate", "podtemplates"),
    _r(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        short_names=("rc",),
        categories=ALL,
        status=True,
        scale=True,
        generation=True,
    ),
    _r("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, categories=EXT, status=True),
    _r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    _r("events.k8s.io", "v1", "Event", "events", short_names=("ev",), model="EventsV1Event"),
    _r("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", False),
    _r("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False),
    _r("storage.k8s.io", "v1", "CSINode", "csinodes", False),
    _r("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", False, status=True),
    _r(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        False,
        short_names=("csr",),
        status=True,
    ),
    _r("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False, verbs=("create",)),
    _r("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False, verbs=("create",)),
    _r("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False, verbs=("create",)),
    _r(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        short_names=("deploy",),
        categories=ALL,
        **{"status": True, "scale": True, "generation": True},
    ),
    _r(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        short_names=("sts",),
        categories=ALL,
        **{"status": True, "scale": True, "generation": True},
    ),
    _r("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), categories=ALL, status=True, generation=True),
    _r(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        short_names=("rs",),
        categories=ALL,
        **{"status": True, "scale": True, "generation": True},
    ),
    _r("apps", "v1", "ControllerRevision", "controllerrevisions"),
    _r("batch", "v1", "Job", "jobs", categories=ALL, status=True, generation=True),
    _r("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), categories=ALL, status=True, generation=True),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), status=True, generation=True),
    _r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False, generation=True),
    _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",), generation=True),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _r(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        short_names=("pdb",),
        status=True,
        generation=True,
    ),
    _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, short_names=("sc",)),
    _r(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short_names=("hpa",),
        categories=ALL,
        status=True,
    ),
    _r("coordination.k8s.io", "v1", "Lease", "leases"),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        False,
        categories=EXT,
        generation=True,
    ),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        False,
        categories=EXT,
        status=True,
        generation=True,
    ),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        False,
        categories=EXT,
        generation=True,
    ),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        False,
        categories=EXT,
        generation=True,
    ),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        short_names=("crd", "crds"),
        categories=EXT,
        status=True,
        generation=True,
    ),
    _r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, short_names=("pc",)),
    # Aggregated APIs (metrics-server registers v1beta1.metrics.k8s.io).
    _r("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, categories=EXT, status=True),
    _r("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False, verbs=("create",)),
    _r("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False, verbs=("create",)),
]

# Kinds that only answer a POST (reviews): nothing is stored.
VIRTUAL = {
    "selfsubjectaccessreviews",
    "selfsubjectrulesreviews",
    "subjectaccessreviews",
    "tokenreviews",
    "selfsubjectreviews",
}

# Preferred order of groups in discovery, as a real API server lists them.
GROUP_ORDER = [
    "",
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "flowcontrol.apiserver.k8s.io",
]


def from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The served versions of an established CustomResourceDefinition."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    storage = next(
        (v["name"] for v in spec.get("versions") or [] if v.get("storage")), versions[0]["name"] if versions else ""
    )
    result = []
    for version in versions:
        subresources = version.get("subresources") or {}
        schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
        result.append(
            ResourceType(
                group=spec.get("group", ""),
                version=version["name"],
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status="status" in subresources,
                scale="scale" in subresources,
                generation=True,
                crd_schema=schema,
                storage_version=storage,
            )
        )
    return result
