"""Run the molecule scenarios in parallel lanes: ``make molecule``.

A scenario's run is one ansible-playbook at a time, which keeps one of the machine's cores busy;
the scenarios do not depend on each other (each prepares what it needs), so they run in
``--lanes`` lanes, each lane on a sandbox of its own (``<state>-<lane>``, reset first, stopped
afterwards) and its scenarios one after the other, as ``make molecule`` ran them before.

Scenarios go to lanes longest first, by the durations the last run recorded
(``<state>/durations.json``, else ``FIRST_GUESS``; unknown ones count as the mean), so the lanes
end close together.
Each scenario's output goes to ``<state>/<scenario>.log``; a failed scenario's log is printed
whole. The first failure stops the other lanes from starting new scenarios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sandbox import client

ROOT = Path(__file__).resolve().parents[2]
# Seconds per scenario when no run has recorded any (a fresh clone): a two-lane run on a loaded
# 2-core machine, 2026-12-02. Only their ratios matter.
FIRST_GUESS = {
    "argocd": 392,
    "auth0_apps": 99,
    "doks_cluster": 133,
    "ingress_certmanager": 393,
    "ingress_certmanager_nginx": 295,
    "lofi_pipeline": 700,
    "observability": 235,
    "tekton": 300,
}
PYTHON = sys.executable
BIN = Path(PYTHON).parent
# the emulators' settings (the default cluster's nodes): the sandbox inventory's sandbox_settings
SETTINGS = ROOT / "inventories" / "sandbox" / "group_vars" / "all" / "sandbox.yml"


def sandbox(action: str, state: Path) -> None:
    client.cli(action, state, *(["--settings", str(SETTINGS)] if action == "up" else []))


def plan(scenarios: list[str], lanes: int, durations: dict[str, float]) -> list[list[str]]:
    """Longest first, each to the lane that ends soonest."""
    known = [durations[s] for s in scenarios if s in durations]
    mean = sum(known) / len(known) if known else 1.0
    cost = {s: durations.get(s, mean) for s in scenarios}
    plans: list[list[str]] = [[] for _ in range(min(lanes, len(scenarios)) or 1)]
    ends = [0.0] * len(plans)
    for s in sorted(scenarios, key=lambda name: (-cost[name], name)):
        lane = ends.index(min(ends))
        plans[lane].append(s)
        ends[lane] += cost[s]
    return plans


class Lanes:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.failed: list[str] = []
        self.durations: dict[str, float] = {}
        self.lock = threading.Lock()

    def scenario(self, name: str, lane_state: Path) -> bool:
        log = self.state / f"{name}.log"
        env = {**os.environ, "SANDBOX_STATE_DIR": str(lane_state)}
        start = time.monotonic()
        with log.open("w") as out:
            # molecule keeps a scenario's state (e.g. "prepared") across runs: the sandbox is fresh
            subprocess.run(
                [str(BIN / "molecule"), "reset", "-s", name],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            rc = subprocess.run(
                [str(BIN / "molecule"), "test", "-s", name],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            ).returncode
        took = time.monotonic() - start
        with self.lock:
            self.durations[name] = round(took, 1)
            print(f"=== molecule {name}: {'ok' if rc == 0 else f'FAILED (rc={rc})'} in {took:.0f} s", flush=True)
            if rc:
                self.failed.append(name)
                print(log.read_text(), flush=True)
        return rc == 0

    def lane(self, index: int, scenarios: list[str]) -> None:
        lane_state = Path(f"{self.state}-{index}")
        sandbox("down", lane_state)
        sandbox("reset", lane_state)
        sandbox("up", lane_state)
        try:
            for name in scenarios:
                if self.failed or not self.scenario(name, lane_state):
                    return
        finally:
            sandbox("down", lane_state)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument("--state", type=Path, default=ROOT / ".cache" / "sandbox-molecule")
    parser.add_argument("scenarios", nargs="+")
    args = parser.parse_args()
    args.state.mkdir(parents=True, exist_ok=True)
    recorded = args.state / "durations.json"
    durations = {**FIRST_GUESS, **(json.loads(recorded.read_text()) if recorded.is_file() else {})}
    lanes = Lanes(args.state)
    plans = plan(args.scenarios, args.lanes, durations)
    for index, scenarios in enumerate(plans):
        print(f"lane {index}: {' '.join(scenarios)}", flush=True)
    threads = [threading.Thread(target=lanes.lane, args=(i, p)) for i, p in enumerate(plans)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorded.write_text(json.dumps({**durations, **lanes.durations}, indent=2, sort_keys=True))
    missing = [s for s in args.scenarios if s not in lanes.durations]
    if lanes.failed or missing:
        print(f"molecule failed: {' '.join(lanes.failed) or 'none'}; not run: {' '.join(missing) or 'none'}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
