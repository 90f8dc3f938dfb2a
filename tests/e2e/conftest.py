"""The order in which ``make e2e`` hands the end-to-end files to its pytest workers
(``--dist loadfile --no-loadscope-reorder``: each file on one worker, in collection order).

The journey is the longest file and goes first, so it starts at once on a worker of its own while
the other worker works through the rest; the fault matrix follows. (``--dist loadgroup`` could
spread the fault matrix by API, but with pytest 9.2 and pytest-xdist 3.8 an ``xdist_group`` mark
never reaches the node ids xdist schedules by, so it is not used.)
"""

from __future__ import annotations

import pytest

ORDER = ("test_journey", "test_faults", "test_bad_input", "test_shipped_inventories")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(ORDER)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(ORDER)))
