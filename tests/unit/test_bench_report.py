"""The benchmark's verdicts (tests/bench/bench_site.py ``ratios``) judge what issue 20 asks.

Pure: runs are built by hand, no sandbox. The added-cluster rows pass only when the new cluster got
as many Synced/Healthy Applications as a spoke that was already there, and only the hub (its
platform project, which admits the new destination) changed among the clusters already there.
"""

from __future__ import annotations

from typing import Any

from tests.bench.bench_site import Run, ratios

EMPTY = {"kubernetes": 0, "artifacts": 0, "auth0": 0, "digitalocean": 0, "spaces": 0}


def run(clusters: int, phase: str, **fields: Any) -> Run:
    base: dict[str, Any] = dict(
        clusters=clusters,
        delivery="argocd",
        phase=phase,
        wall=10.0,
        rc=0,
        changed=0,
        failed=0,
        requests=dict(EMPTY, kubernetes=100),
        writes=dict(EMPTY),
        kube_mutating=0,
        cpu_controller=1.0,
        cpu_emulators=1.0,
        load=0.0,
    )
    return Run(**(base | fields))


def verdicts(added: Run) -> dict[str, bool]:
    runs = [run(4, "first converge", requests=dict(EMPTY, kubernetes=1000)), run(4, "no-op re-run", drift=1.0), added]
    return {name.split(": ", 1)[1]: ok for name, ok in ratios(runs)[1] if name.startswith("5 clusters")}


def test_an_added_cluster_with_the_whole_platform_and_quiet_neighbours_passes() -> None:
    added = run(
        5,
        "cluster added",
        added={"bench-5-loki": "Synced/Healthy", "bench-5-alloy": "Synced/Healthy"},
        reference=2,
        changed_by_host={"bench-1": 1, "bench-2": 0, "bench-3": 0, "bench-4": 0, "bench-5": 40},
    )
    assert verdicts(added) == {
        "the added cluster's Applications Synced/Healthy after one run": True,
        "changed on the clusters already there": True,
    }


def test_a_missing_or_unhealthy_application_or_a_changed_spoke_misses() -> None:
    added = run(
        5,
        "cluster added",
        added={"bench-5-loki": "Synced/Progressing"},
        reference=2,
        changed_by_host={"bench-1": 1, "bench-2": 3, "bench-5": 40},
    )
    assert verdicts(added) == {
        "the added cluster's Applications Synced/Healthy after one run": False,
        "changed on the clusters already there": False,
    }
