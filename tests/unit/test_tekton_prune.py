"""The tekton role's pruner script, run with a stand-in kubectl that records deletions."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "roles/tekton/files/prune.sh"

FAKE_KUBECTL = """#!/bin/sh
if [ "$1" = get ]; then
  case "$2" in
    pipelineruns*) cat "$FAKE_DIR/pipelineruns.json" ;;
    taskruns*) cat "$FAKE_DIR/taskruns.json" ;;
  esac
  echo "$*" >> "$FAKE_DIR/gets"
else
  echo "$*" >> "$FAKE_DIR/deletes"
fi
"""


def _run(ns: str, name: str, *, done: str | None, ref: str | None = None, **labels: str) -> dict:
    run: dict = {"metadata": {"namespace": ns, "name": name, "labels": labels}, "spec": {}, "status": {}}
    if ref:
        run["spec"]["pipelineRef"] = {"name": ref}
    if done:
        run["status"]["completionTime"] = done
    return run


def _prune(tmp_path: Path, prs: list, trs: list, keep: int, namespaces: str = "") -> tuple[list[str], list[str]]:
    (tmp_path / "pipelineruns.json").write_text(json.dumps({"items": prs}))
    (tmp_path / "taskruns.json").write_text(json.dumps({"items": trs}))
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(FAKE_KUBECTL)
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "FAKE_DIR": str(tmp_path),
        "PRUNE_KEEP": str(keep),
        "PRUNE_NAMESPACES": namespaces,
    }
    subprocess.run(["bash", str(SCRIPT)], env=env, check=True, capture_output=True)
    deletes = (tmp_path / "deletes").read_text().splitlines() if (tmp_path / "deletes").exists() else []
    return deletes, (tmp_path / "gets").read_text().splitlines()


def test_keeps_newest_completed_runs_per_pipeline(tmp_path: Path) -> None:
    prs = [_run("ci", f"build-{i}", done=f"2026-01-0{i}T00:00:00Z", ref="build") for i in range(1, 6)]
    prs += [_run("ci", "build-running", done=None, ref="build")]
    prs += [_run("ci", f"lint-{i}", done=f"2026-02-0{i}T00:00:00Z", ref="lint") for i in range(1, 3)]
    prs += [_run("other", "build-x", done="2026-01-01T00:00:00Z", ref="build")]
    deletes, gets = _prune(tmp_path, prs, [], keep=2)
    assert sorted(deletes) == [
        f"delete pipelineruns.tekton.dev -n ci build-{i} --ignore-not-found --wait=false" for i in (1, 2, 3)
    ]
    assert all("--all-namespaces" in g for g in gets)


def test_only_standalone_taskruns_are_pruned_and_namespaces_are_honoured(tmp_path: Path) -> None:
    child = [
        {
            "metadata": {"namespace": "ci", "name": f"child-{i}", "labels": {"tekton.dev/pipelineRun": "build-1"}},
            "spec": {"taskRef": {"name": "kaniko"}},
            "status": {"completionTime": f"2026-01-0{i}T00:00:00Z"},
        }
        for i in range(1, 5)
    ]
    alone = [
        {
            "metadata": {"namespace": "ci", "name": f"alone-{i}", "labels": {}},
            "spec": {"taskRef": {"name": "kaniko"}},
            "status": {"completionTime": f"2026-01-0{i}T00:00:00Z"},
        }
        for i in range(1, 4)
    ]
    deletes, gets = _prune(tmp_path, [], child + alone, keep=1, namespaces="ci")
    assert sorted(deletes) == [
        f"delete taskruns.tekton.dev -n ci alone-{i} --ignore-not-found --wait=false" for i in (1, 2)
    ]
    assert all("-n ci" in g for g in gets)
