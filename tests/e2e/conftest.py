"""The order in which ``make e2e`` hands the end-to-end files to its pytest workers
(``--dist loadfile --no-loadscope-reorder``: each file on one worker, in collection order).

The journey is the longest file and goes first, so it starts at once on a worker of its own while
the other worker works through the rest; the fault matrix follows. (``--dist loadgroup`` would
spread the fault matrix by API, with the ``xdist_group`` marks below, but with pytest 9.2 and
pytest-xdist 3.8 the group never reaches the node ids xdist schedules by, so it is not used.)
"""

from __future__ import annotations

import pytest

ORDER = ("journey", "faults-kubernetes", "faults-auth0", "faults-digitalocean", "bad_input", "shipped_inventories")


def group_of(item: pytest.Item) -> str:
    module = item.module.__name__.rsplit(".", 1)[-1].removeprefix("test_") if item.module else ""
    if module == "faults" and hasattr(item, "callspec") and "case" in item.callspec.params:
        return f"faults-{item.callspec.params['case'].api}"
    return module


# before xdist's own hook, which turns the xdist_group marks into the "@group" suffix of each nodeid
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(ORDER)}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item)))
    items.sort(key=lambda item: rank.get(group_of(item), len(ORDER)))
