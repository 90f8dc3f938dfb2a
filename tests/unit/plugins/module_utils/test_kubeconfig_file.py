"""When doks_cluster fetches a new kubeconfig (plugins/module_utils/kubeconfig.py), without HTTP."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ansible_collections.doks.gitops.plugins.module_utils import kubeconfig

CLUSTER = {"id": "c-1", "endpoint": "https://c-1.k8s.example"}
NOW = 1_700_000_000


def head(expires: int, cluster: dict[str, str] = CLUSTER) -> str:
    return kubeconfig.stamp(cluster["id"], cluster["endpoint"], expires) + "apiVersion: v1\n"


def fresh(text: str | None, expiry: int | None = 604800, renew: int = 86400) -> bool:
    return kubeconfig.is_fresh(text, CLUSTER, expiry_seconds=expiry, renew_before=renew, now=NOW)


def test_the_stamp_is_read_back() -> None:
    assert kubeconfig.marker_expiry(head(NOW + 5)) == NOW + 5


def test_a_file_of_this_cluster_with_time_left_is_kept() -> None:
    assert fresh(head(NOW + 86401))


def test_a_token_within_the_renewal_margin_is_renewed() -> None:
    assert not fresh(head(NOW + 86400))


def test_a_short_lived_token_is_renewed_at_half_its_lifetime() -> None:
    """renew_before is capped at half of expiry_seconds: a 1 h token is renewed with 30 min left."""
    assert fresh(head(NOW + 1801), expiry=3600)
    assert not fresh(head(NOW + 1800), expiry=3600)


def test_another_cluster_or_endpoint_or_no_stamp_is_renewed() -> None:
    assert not fresh(head(NOW + 10**6, {"id": "c-2", "endpoint": CLUSTER["endpoint"]}))
    assert not fresh(head(NOW + 10**6, {"id": "c-1", "endpoint": "https://other"}))
    assert not fresh("apiVersion: v1\n")
    assert not fresh(None)


def test_a_missing_file_is_stale_without_asking_the_cluster(tmp_path: Path) -> None:
    reason = kubeconfig.stale_reason(str(tmp_path / "none"), CLUSTER, expiry_seconds=3600, renew_before=60, timeout=0.1)
    assert reason == ""


def test_the_file_is_written_private_with_its_stamp(tmp_path: Path) -> None:
    path = tmp_path / "new" / "c.kubeconfig"
    kubeconfig.write_stamped(str(path), CLUSTER, "apiVersion: v1\n", 3600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert text.endswith("apiVersion: v1\n")
    assert kubeconfig.is_fresh(text, CLUSTER, expiry_seconds=3600, renew_before=60, now=os.path.getmtime(path))
