"""How ``make e2e`` spreads the end-to-end tests over its pytest workers (``--dist loadgroup``).

Each group below runs on one worker, on a sandbox of its own: the journey (one sandbox, its steps
in order), the fault matrix per API (each worker that takes a part of it starts its own sandbox,
``test_faults.STATE``), the bad-input matrix and the shipped inventories. The journey is the
longest group and goes first, so it starts at once on a worker of its own while the other worker
works through the rest; the fault matrix follows, its slowest APIs first.
"""

from __future__ import annotations

import pytest

ORDER = ("journey", "faults-kubernetes", "faults-auth0", "faults-digitalocean", "bad_input", "shipped_inventories")


def group_of(item: pytest.Item) -> str:
    module = item.module.__name__.rsplit(".", 1)[-1].removeprefix("test_") if item.module else ""
    if module == "faults" and hasattr(item, "callspec") and "case" in item.callspec.params:
        return f"faults-{item.callspec.params['case'].api}"
    return module


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(ORDER)}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item)))
    items.sort(key=lambda item: rank.get(group_of(item), len(ORDER)))
