"""Render a Helm chart source the way Argo CD's repo server does, with the real ``helm`` binary.

Argo CD v3.4.4 (reposerver/repository/repository.go, util/helm/cmd.go) pulls the chart and runs
``helm template`` with the release name (``helm.releaseName`` or the Application's name), the
destination namespace, ``--kube-version``, one ``--api-versions`` per served group/version and
group/version/Kind, ``--include-crds`` unless ``helm.skipCrds``, the values (``valuesObject`` wins
over the ``values`` string) and ``--set``/``--set-string`` per ``helm.parameters``. Here the values
go to helm on stdin (``--values -``), never into a file; the sandbox CA is passed with ``--ca-file``.

``helm`` is a subprocess and slow, so renders run on one worker thread, outside the emulator's
lock: ``Renderer.get`` answers from the cache, or starts the render and answers ``None`` (the
caller comes back on a later controller round). Results (objects or the error) are cached by
everything that decides the output: chart, version, repository, release, namespace, values digest,
API versions and Kubernetes version.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import sandbox

CACHE_SIZE = 128
TIMEOUT = 60.0


@dataclass(frozen=True)
class RenderRequest:
    """One ``helm template`` run: everything that decides its output."""

    repo: str
    chart: str
    version: str
    release: str
    namespace: str
    values: str  # YAML handed to helm on stdin
    parameters: tuple[tuple[str, str, bool], ...]  # (name, value, forceString)
    skip_crds: bool
    kube_version: str
    api_versions: tuple[str, ...]
    ca_file: str
    home: str  # HELM_*_HOME root (repository index cache), under the sandbox's state directory
    # A chart checked out of a git source: its directory (helm runs there, no --repo) and the
    # resolved helm.valueFiles, passed before the inline values as Argo CD does (util/helm/cmd.go)
    chart_path: str = ""
    value_files: tuple[str, ...] = ()

    def key(self) -> str:
        """The cache key: a digest of the request (values included, so they never sit in a key in clear)."""
        text = json.dumps(
            [
                *(self.repo, self.chart, self.version, self.release, self.namespace, self.values),
                *(self.parameters, self.skip_crds, self.kube_version, self.api_versions),
                *(self.chart_path, self.value_files),
            ],
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class RenderResult:
    objects: tuple[dict[str, Any], ...] = ()
    error: str = ""


def tool_binary(name: str) -> str:
    """A pinned tool (helm, kubectl): ``$SANDBOX_TOOLS_BIN/<name>``, else ``.tools/bin/<name>`` above
    the package, else PATH."""
    if os.environ.get("SANDBOX_TOOLS_BIN"):
        return str(Path(os.environ["SANDBOX_TOOLS_BIN"]) / name)
    for parent in Path(sandbox.__file__).resolve().parents:
        candidate = parent / ".tools" / "bin" / name
        if candidate.is_file():
            return str(candidate)
    return shutil.which(name) or name


def helm_binary() -> str:
    """The pinned helm (:func:`tool_binary`)."""
    return tool_binary("helm")


def command(req: RenderRequest) -> list[str]:
    if req.chart_path:
        args = [helm_binary(), "template", ".", "--name-template", req.release]
    else:
        args = [helm_binary(), "template", req.release, req.chart, "--repo", req.repo, "--version", req.version]
    args += ["--namespace", req.namespace or "default", "--kube-version", req.kube_version]
    for value_file in req.value_files:
        args += ["--values", value_file]
    args += ["--values", "-"]
    args += ["--skip-crds"] if req.skip_crds else ["--include-crds"]
    if req.ca_file and not req.chart_path:
        args += ["--ca-file", req.ca_file]
    for api in req.api_versions:
        args += ["--api-versions", api]
    for name, value, force in req.parameters:
        args += ["--set-string" if force else "--set", f"{name}={value}"]
    return args


def _environment(home: str) -> dict[str, str]:
    root = Path(home)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "HELM_CACHE_HOME": str(root / "cache"),
        "HELM_CONFIG_HOME": str(root / "config"),
        "HELM_DATA_HOME": str(root / "data"),
        "LANG": "C.UTF-8",
    }


def shown_command(req: RenderRequest) -> str:
    """How Argo CD's error quotes the command (util/exec CmdError): values and parameters left out."""
    return (
        f"helm template . --name-template {req.release} --namespace {req.namespace or 'default'} "
        f"--kube-version {req.kube_version} --values <redacted> --include-crds"
    )


def render(req: RenderRequest) -> RenderResult:
    """Run ``helm template`` (blocking); a failure becomes the error Argo CD's repo server reports."""
    Path(req.home).mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            command(req),
            input=req.values,
            env=_environment(req.home),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            cwd=req.chart_path or None,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return RenderResult(error=f"`{shown_command(req)}` failed {exc}")
    if done.returncode != 0:
        return RenderResult(error=f"`{shown_command(req)}` failed exit status {done.returncode}: {done.stderr.strip()}")
    try:
        docs = [d for d in yaml.safe_load_all(done.stdout) if isinstance(d, dict) and d]
    except yaml.YAMLError as exc:
        return RenderResult(error=f"failed to unmarshal manifests: {exc}")
    return RenderResult(objects=tuple(docs))


class Renderer:
    """Renders on one worker thread and caches results by request key."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argocd-helm")
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, RenderResult] = OrderedDict()
        self._pending: dict[str, Future[RenderResult]] = {}
        self.runs = 0  # helm invocations (tests check renders happen once per change)

    def get(self, req: RenderRequest) -> RenderResult | None:
        """The cached result, or None while the render runs (it is started on the first call)."""
        key = req.key()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            if key not in self._pending:
                self._pending[key] = self._pool.submit(self._run, key, req)
        return None

    def _run(self, key: str, req: RenderRequest) -> RenderResult:
        result = render(req)
        with self._lock:
            self.runs += 1
            self._cache[key] = result
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            self._pending.pop(key, None)
        return result

    def busy(self) -> bool:
        with self._lock:
            return bool(self._pending)


RENDERER = Renderer()
