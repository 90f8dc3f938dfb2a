"""Derives the field table of Tekton Pipelines' ``tekton.dev/v1`` kinds from the real CRDs.

``python -m sandbox.tektontypes GIT_DIR`` reads ``config/300-crds/300-{task,pipeline,taskrun,
pipelinerun}.yaml`` at the pinned tag (``PIPELINE_TAG``) from a git directory of
tektoncd/pipeline and writes ``sandbox/kube/tekton_v1.json``: for each kind, the v1
``openAPIV3Schema`` of ``spec`` and ``status`` reduced to what judges an object — type, the
properties, items, map values, ``required``, int-or-string and where upstream preserves unknown
fields — with every description dropped. ``sandbox/crdgen.py`` rebuilds the stand-in CRDs from
it (closed exactly where the real ones are closed) and ``sandbox/kube/tekton.py`` (the admission
webhook emulation) decodes objects with it. The output is committed; regenerate it when the
pinned Tekton Pipelines version moves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

PIPELINE_TAG = "v1.15.0"
KINDS = {"Task": "task", "Pipeline": "pipeline", "TaskRun": "taskrun", "PipelineRun": "pipelinerun"}
OUT = Path(__file__).resolve().parent / "kube" / "tekton_v1.json"


def reduce(node: dict[str, Any]) -> dict[str, Any]:
    """The judging part of a schema node.

    Keys: t(ype), p(reserve unknown fields), i(nt-or-string), r(equired), f(ields), a(rray items), m(ap values).
    """
    out: dict[str, Any] = {}
    if "type" in node:
        out["t"] = node["type"]
    if node.get("x-kubernetes-preserve-unknown-fields"):
        out["p"] = 1
    if node.get("x-kubernetes-int-or-string"):
        out["i"] = 1
    if node.get("required"):
        out["r"] = list(node["required"])
    if node.get("properties"):
        out["f"] = {key: reduce(sub) for key, sub in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        out["a"] = reduce(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        out["m"] = reduce(node["additionalProperties"])
    return out


def derive(git_dir: str) -> dict[str, Any]:
    table: dict[str, Any] = {"source": f"tektoncd/pipeline {PIPELINE_TAG} config/300-crds", "kinds": {}}
    for kind, stem in KINDS.items():
        text = subprocess.run(
            ["git", "--git-dir", git_dir, "show", f"{PIPELINE_TAG}:config/300-crds/300-{stem}.yaml"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        crd = yaml.safe_load(text)
        (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
        props = version["schema"]["openAPIV3Schema"]["properties"]
        table["kinds"][kind] = {part: reduce(props[part]) for part in ("spec", "status") if part in props}
    return table


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m sandbox.tektontypes GIT_DIR_OF_TEKTONCD_PIPELINE\n")
        return 2
    OUT.write_text(json.dumps(derive(argv[0]), separators=(",", ":"), sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
