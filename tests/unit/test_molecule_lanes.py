"""How `make molecule` shares the scenarios between its lanes (tests/tools/molecule_lanes.py)."""

from __future__ import annotations

from tests.tools.molecule_lanes import plan


def test_every_scenario_runs_once_and_the_lanes_end_close_together() -> None:
    durations = {"a": 400, "b": 390, "c": 300, "d": 290, "e": 250, "f": 230, "g": 130, "h": 100}
    lanes = plan(sorted(durations), 2, durations)
    assert sorted(s for lane in lanes for s in lane) == sorted(durations)
    ends = [sum(durations[s] for s in lane) for lane in lanes]
    assert max(ends) - min(ends) <= max(durations.values()) / 4, (lanes, ends)
    # the longest scenarios start first, one per lane
    assert {lanes[0][0], lanes[1][0]} == {"a", "b"}


def test_unknown_scenarios_count_as_the_mean_and_lanes_never_outnumber_scenarios() -> None:
    lanes = plan(["new", "old"], 4, {"old": 100})
    assert sorted(lanes) == [["new"], ["old"]]
    assert plan(["only"], 2, {}) == [["only"]]
