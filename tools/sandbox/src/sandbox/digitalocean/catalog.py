"""Static catalogue of the emulated DigitalOcean account: regions, sizes, DOKS versions."""

from __future__ import annotations

from typing import Any

REGIONS: list[tuple[str, str]] = [
    ("ams3", "Amsterdam 3"),
    ("blr1", "Bangalore 1"),
    ("fra1", "Frankfurt 1"),
    ("lon1", "London 1"),
    ("nyc1", "New York 1"),
    ("nyc3", "New York 3"),
    ("sfo3", "San Francisco 3"),
    ("sgp1", "Singapore 1"),
    ("syd1", "Sydney 1"),
    ("tor1", "Toronto 1"),
]

# slug, memory MiB, vcpus, disk GB, monthly USD
SIZES: list[tuple[str, int, int, int, float]] = [
    ("s-1vcpu-2gb", 2048, 1, 50, 12.0),
    ("s-2vcpu-2gb", 2048, 2, 60, 18.0),
    ("s-2vcpu-4gb", 4096, 2, 80, 24.0),
    ("s-4vcpu-8gb", 8192, 4, 160, 48.0),
    ("s-8vcpu-16gb", 16384, 8, 320, 96.0),
    ("g-2vcpu-8gb", 8192, 2, 25, 63.0),
    ("c-4", 8192, 4, 50, 84.0),
]

# Newest first, as /v2/kubernetes/options lists them. Overridable with the setting
# {"digitalocean": {"kubernetes_versions": [...]}}. DOKS offers the three newest minors; the
# judge, DigitalOcean's OpenAPI spec (github.com/digitalocean/openapi,
# specification/resources/kubernetes/models/cluster.yml, 2026-05 "HA default for 1.36.0 and
# later"), has DOKS 1.36; the slugs follow its `<upstream>-do.<n>` shape (models/options.yml).
# The patch levels are the sandbox's own.
KUBERNETES_VERSIONS = ["1.36.1-do.0", "1.35.4-do.0", "1.34.1-do.0"]

# DOKS from this version on creates a highly available control plane when `ha` is omitted
# (models/cluster.yml: "When omitted on create, the default is version-dependent; for DOKS
# 1.36.0 and later, the default is true; for earlier versions, the default is false.").
HA_DEFAULT_FROM = (1, 36, 0)

FEATURES = ["cluster-autoscaler", "docr-integration", "ha-control-plane", "token-authentication"]


def regions() -> list[dict[str, Any]]:
    slugs = [s[0] for s in SIZES]
    return [
        {
            "name": name,
            "slug": slug,
            "features": ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"],
            "available": True,
            "sizes": slugs,
        }
        for slug, name in REGIONS
    ]


def sizes() -> list[dict[str, Any]]:
    return [
        {
            "slug": slug,
            "memory": memory,
            "vcpus": vcpus,
            "disk": disk,
            "transfer": 2.0 + vcpus,
            "price_monthly": price,
            "price_hourly": round(price / 672, 5),
            "regions": [r[0] for r in REGIONS],
            "available": True,
            "description": "Basic" if slug.startswith("s-") else "General Purpose",
            "disk_info": [{"type": "local", "size": {"amount": disk, "unit": "gib"}}],
        }
        for slug, memory, vcpus, disk, price in SIZES
    ]


def upstream_version(slug: str) -> tuple[int, ...]:
    """``1.36.1-do.0`` -> (1, 36, 1)."""
    return tuple(int(part) for part in slug.split("-", maxsplit=1)[0].split("."))


def version_entry(slug: str) -> dict[str, Any]:
    return {"slug": slug, "kubernetes_version": slug.split("-", maxsplit=1)[0], "supported_features": FEATURES}


def kubernetes_options(versions: list[str]) -> dict[str, Any]:
    return {
        "options": {
            "versions": [version_entry(v) for v in versions],
            "regions": [{"name": name, "slug": slug} for slug, name in REGIONS],
            "sizes": [{"name": slug, "slug": slug} for slug, *_rest in SIZES],
        }
    }
