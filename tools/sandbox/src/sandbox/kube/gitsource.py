"""Render a git source (``repoURL`` + ``path``) the way Argo CD's repo server does, with the git CLI.

Only repositories the sandbox's git server serves are read (``argosync`` decides: a ``repoURL``
under the git server's URL); the clone goes over HTTPS with the sandbox CA like any client's.
After Argo CD v3.4.4 (reposerver/repository/repository.go, util/git/client.go, util/app/path,
util/app/discovery):

* Revision (``nativeGitClient.lsRemote``): a 40-hex SHA is taken as is; otherwise the remote's refs
  are listed (``git ls-remote``; a failure is ``failed to list refs: <err>``, a 404 being go-git's
  ``repository not found``) and the revision (empty = ``HEAD``) is matched against each ref's full
  name or short name (``main``, ``v1.0``); a truncated SHA (7-39 hex) is taken as is; anything
  else is ``unable to resolve '<rev>' to a commit SHA``. Semver constraints on tags are not modelled.
* Checkout (``checkoutRevision``): unless the commit is already in the cache clone,
  ``git fetch origin --tags --force --prune``; if ``git checkout --force <rev>`` fails,
  ``git fetch origin <rev> --tags --force --prune`` and ``FETCH_HEAD``; a failure there is the
  Internal error ``Failed to checkout revision <rev>: `git fetch ...` failed exit status N: <stderr>``.
  The revision reported (``status.sync.revision``) is the checked-out commit (``CommitSHA``).
* Path (``apppathutil.Path``): ``<path>: app path is absolute`` / ``outside root`` / ``does not
  exist`` / ``is not a directory``.
* Type (``GetAppSourceType``): an explicit ``helm``/``kustomize``/``directory``/``plugin`` block
  decides (two of them: ``multiple application sources defined``); else discovery at the top of the
  path: a file named ``*Chart.yaml`` makes it Helm, ``kustomization.yaml``/``.yml``/``Kustomization``
  Kustomize (which wins over Helm, discovery's walk order), anything else Directory.
* Helm: ``helm template .`` in the chart directory (helmrender.py) with ``--name-template``
  (``helm.releaseName`` or the app name), ``helm.valueFiles`` resolved against the path (absolute
  ones against the repository root; outside it: ``file '<f>' resolved to outside repository root``),
  then ``values``/``valuesObject``, then ``parameters``. Chart dependencies are not built.
* Kustomize: ``kubectl kustomize <path>`` (the pinned kubectl; kustomize options are not applied).
* Directory: ``*.yaml``, ``*.yml``, ``*.json`` files of the path (subdirectories with
  ``directory.recurse``), ``directory.exclude`` and ``directory.include`` globs against the path
  relative to the app path; files holding ``+argocd:skip-file-rendering`` are skipped; a ``List`` is
  expanded into its items; a YAML document without ``apiVersion``/``kind`` makes the file skipped
  (not a manifest). Jsonnet is not evaluated.

Renders run on one worker thread outside the emulator's lock, like helmrender's. A result is
reused for ``REVISION_TTL`` seconds, and so is a repository's ``ls-remote`` listing (the repo server
caches git references too); after that the next
``get`` answers the kept result and refreshes it in the background (a failed one is retried every
``ERROR_RETRY`` seconds by the periodic refresh); ``generation`` grows whenever a
refresh changes a result, so argosync compares again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from sandbox.kube import helmrender

REVISION_TTL = 3.0
# A failed generation is retried this often by the periodic refresh (the repo server pauses
# generation after repeated failures too: --repo-server-pause-generation-after-failed-attempts).
ERROR_RETRY = 30.0
KEEP = 30.0  # a result no Application uses any more is dropped this long after its last refresh
TIMEOUT = 60.0
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
TRUNCATED_SHA = re.compile(r"^[0-9a-f]{7,39}$")
MANIFEST_FILE = re.compile(r"^.*\.(yaml|yml|json|jsonnet)$")
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SKIP_MARKER = "+argocd:skip-file-rendering"
EXPLICIT = {"helm": "Helm", "kustomize": "Kustomize", "directory": "Directory", "plugin": "Plugin"}


@dataclass(frozen=True)
class GitRequest:
    """One git source to render: everything that decides the output except the resolved commit."""

    repo: str
    revision: str
    path: str
    source: str  # JSON of the source's helm / kustomize / directory blocks
    release: str
    namespace: str
    kube_version: str
    api_versions: tuple[str, ...]
    ca_file: str
    cache: str  # cache clones live here (under the sandbox's state directory)
    helm_home: str

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True, default=list).encode()).hexdigest()

    def spec(self) -> dict[str, Any]:
        return dict(json.loads(self.source))


@dataclass(frozen=True)
class GitResult:
    objects: tuple[dict[str, Any], ...] = ()
    error: str = ""  # "rpc error: code = <Code> desc = <message>" as the controller quotes it
    revision: str = ""  # the commit rendered
    source_type: str = ""


class RepoError(Exception):
    def __init__(self, message: str, code: str = "Unknown") -> None:
        super().__init__(message)
        self.code = code


def _env(req: GitRequest) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(Path(req.cache) / "home"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_SSL_CAINFO": req.ca_file,
        "LANG": "C.UTF-8",
    }


def _git(req: GitRequest, clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=clone, env=_env(req), capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def _cmd_error(args: tuple[str, ...], done: subprocess.CompletedProcess[str]) -> str:
    """util/exec CmdError: ``<args>`` failed exit status N: <stderr>."""
    return f"`git {' '.join(args)}` failed exit status {done.returncode}: {done.stderr.strip()}"


def clone_dir(req: GitRequest) -> Path:
    clone = Path(req.cache) / hashlib.sha256(req.repo.rstrip("/").encode()).hexdigest()[:16]
    if not (clone / ".git").is_dir():
        shutil.rmtree(clone, ignore_errors=True)
        clone.mkdir(parents=True)
        for args in (("init", "--quiet"), ("remote", "add", "origin", req.repo)):
            done = _git(req, clone, *args)
            if done.returncode != 0:
                raise RepoError(f"Failed to initialize git repo: {_cmd_error(args, done)}", "Internal")
    return clone


# repoURL -> (when listed, ``git ls-remote`` output): one listing per repository and REVISION_TTL
# (the repo server's git references cache), whatever the number of Applications reading it.
# Only the worker thread touches it.
_refs: dict[str, tuple[float, str]] = {}


def peeled(repo: str, sha: str) -> str:
    """The commit an annotated tag object of ``repo``'s last listing points to (``<tag>^{}``), else ``sha``."""
    lines = [line.split("\t") for line in _refs.get(repo, (0.0, ""))[1].splitlines()]
    tags = {ref: value for value, ref in lines if ref.startswith("refs/tags/")}
    for ref, value in tags.items():
        if value == sha and f"{ref}^{{}}" in tags:
            return tags[f"{ref}^{{}}"]
    return sha


def resolve(req: GitRequest, clone: Path) -> str:
    """``nativeGitClient.lsRemote``: the SHA ``req.revision`` names (or the SHA as given); for an
    annotated tag the tag object's, as go-git lists it."""
    revision = req.revision
    if FULL_SHA.match(revision):
        return revision
    listed = _refs.get(req.repo)
    if listed is None or time.monotonic() - listed[0] >= REVISION_TTL:
        done = _git(req, clone, "ls-remote", "origin")
        if done.returncode != 0:
            _refs.pop(req.repo, None)
            reason = "repository not found" if "not found" in done.stderr else done.stderr.strip()
            raise RepoError(f"failed to list refs: {reason}")
        listed = _refs[req.repo] = (time.monotonic(), done.stdout)
    revision = revision or "HEAD"
    short = not revision.startswith("refs/")
    for line in listed[1].splitlines():
        sha, _, ref = line.partition("\t")
        if ref.endswith("^{}"):
            continue
        name = ref
        for prefix in ("refs/heads/", "refs/tags/", "refs/remotes/"):
            if ref.startswith(prefix):
                name = ref[len(prefix) :]
        if ref == revision or (short and name == revision):
            return sha
    if TRUNCATED_SHA.match(revision):
        return revision
    raise RepoError(f"unable to resolve '{revision}' to a commit SHA")


def checkout(req: GitRequest, clone: Path, revision: str) -> str:
    """``checkoutRevision``; the commit checked out."""
    present = _git(req, clone, "cat-file", "-t", revision)
    if present.returncode != 0 or present.stdout.strip() != "commit":
        args = ("fetch", "origin", "--tags", "--force", "--prune")
        done = _git(req, clone, *args)
        if done.returncode != 0:
            raise RepoError(f"Failed to fetch default: {_cmd_error(args, done)}", "Internal")
    target = revision
    if _git(req, clone, "checkout", "--force", "--quiet", revision).returncode != 0:
        args = ("fetch", "origin", revision, "--tags", "--force", "--prune")
        done = _git(req, clone, *args)
        if done.returncode != 0:
            raise RepoError(f"Failed to checkout revision {revision}: {_cmd_error(args, done)}", "Internal")
        target = "FETCH_HEAD"
        done = _git(req, clone, "checkout", "--force", "--quiet", target)
        if done.returncode != 0:
            raise RepoError(f"Failed to checkout FETCH_HEAD: {_cmd_error(('checkout', target), done)}", "Internal")
    _git(req, clone, "clean", "-ffdx")
    return _git(req, clone, "rev-parse", "HEAD").stdout.strip()


def app_path(root: Path, path: str) -> Path:
    """util/app/path ``Path``."""
    if PurePosixPath(path).is_absolute():
        raise RepoError(f"{path}: app path is absolute")
    resolved = Path(os.path.normpath(root / path))
    if not str(resolved).startswith(str(root)):
        raise RepoError(f"{path}: app path outside root")
    if not resolved.exists():
        raise RepoError(f"{path}: app path does not exist")
    if not resolved.is_dir():
        raise RepoError(f"{path}: app path is not a directory")
    return resolved


def source_type(spec: dict[str, Any], path: Path) -> str:
    explicit = [EXPLICIT[k] for k in EXPLICIT if spec.get(k) is not None]
    if len(explicit) > 1:
        raise RepoError(f"error getting app source type: multiple application sources defined: {','.join(explicit)}")
    if explicit:
        return explicit[0]
    found = "Directory"
    for entry in sorted(p.name for p in path.iterdir() if p.is_file()):
        if entry.endswith("Chart.yaml"):
            found = "Helm"
        if entry in KUSTOMIZATIONS:
            found = "Kustomize"
    return found


def _values(helm: dict[str, Any]) -> str:
    if isinstance(helm.get("valuesObject"), dict):
        return yaml.safe_dump(helm["valuesObject"], sort_keys=True)
    return str(helm.get("values") or "")


def value_file(root: Path, path: Path, raw: str) -> str:
    """pathutil.ResolveValueFilePathOrUrl (local files): relative to the app path, absolute to the root."""
    joined = root / raw.lstrip("/") if raw.startswith("/") else path / raw
    resolved = Path(os.path.normpath(joined))
    if not str(resolved).startswith(str(root) + os.sep):
        raise RepoError(f"error resolving value file path: file '{raw}' resolved to outside repository root")
    return str(resolved)


def render_helm(req: GitRequest, root: Path, path: Path) -> list[dict[str, Any]]:
    helm = req.spec().get("helm") or {}
    params = tuple(
        (str(p.get("name", "")), str(p.get("value", "")), bool(p.get("forceString")))
        for p in helm.get("parameters") or []
        if isinstance(p, dict)
    )
    files = tuple(value_file(root, path, str(f)) for f in helm.get("valueFiles") or [])
    if helm.get("ignoreMissingValueFiles"):
        files = tuple(f for f in files if Path(f).exists())
    render = helmrender.RenderRequest(
        repo=req.repo,
        chart="",
        version="",
        release=str(helm.get("releaseName") or req.release),
        namespace=req.namespace,
        values=_values(helm),
        parameters=params,
        skip_crds=bool(helm.get("skipCrds")),
        kube_version=req.kube_version,
        api_versions=req.api_versions,
        ca_file="",
        home=req.helm_home,
        chart_path=str(path),
        value_files=files,
    )
    result = helmrender.render(render)
    if result.error:
        raise RepoError(result.error.replace(str(root), "<path to cached source>"))
    return list(result.objects)


def kubectl_binary() -> str:
    """The pinned kubectl (:func:`helmrender.tool_binary`)."""
    return helmrender.tool_binary("kubectl")


def render_kustomize(req: GitRequest, root: Path, path: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl_binary(), "kustomize", str(path)],
        env=_env(req),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        shown = f"<path to cached source>/{path.relative_to(root)}"
        stderr = done.stderr.strip().replace(str(root), "<path to cached source>")
        raise RepoError(f"`kustomize build {shown}` failed exit status {done.returncode}: {stderr}")
    return [d for d in yaml.safe_load_all(done.stdout) if isinstance(d, dict) and d]


def _braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [p for alt in match.group(1).split(",") for p in _braces(head + alt + tail)]


def glob_match(pattern: str, name: str) -> bool:
    """util/glob.Match (gobwas/glob without separators: ``*`` spans ``/``, ``{a,b}`` alternatives)."""
    return any(fnmatchcase(name, p) for p in _braces(pattern))


def render_directory(req: GitRequest, root: Path, path: Path) -> list[dict[str, Any]]:
    directory = req.spec().get("directory") or {}
    recurse = bool(directory.get("recurse"))
    include, exclude = str(directory.get("include") or ""), str(directory.get("exclude") or "")
    objects: list[dict[str, Any]] = []
    for current, dirs, files in os.walk(path):
        dirs.sort()
        if not recurse:
            dirs.clear()
        for name in sorted(files):
            file = Path(current) / name
            rel = file.relative_to(path).as_posix()
            if not MANIFEST_FILE.match(name) or name.endswith(".jsonnet") or not file.is_file():
                continue
            if (exclude and glob_match(exclude, rel)) or (include and not glob_match(include, rel)):
                continue
            text = file.read_text()
            if SKIP_MARKER in text:
                continue
            objects += _manifests(name, text)
    return objects


def _manifests(name: str, text: str) -> list[dict[str, Any]]:
    try:
        docs = [json.loads(text)] if name.endswith(".json") else [d for d in yaml.safe_load_all(text) if d is not None]
    except (ValueError, yaml.YAMLError) as exc:
        raise RepoError(f'Failed to unmarshal "{name}": {exc}', "FailedPrecondition") from exc
    if not all(isinstance(d, dict) and d.get("apiVersion") and d.get("kind") for d in docs):
        return []  # not a Kubernetes manifest: the repo server skips the file
    return docs


def expand_lists(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for obj in objects:
        if str(obj.get("kind", "")).endswith("List") and isinstance(obj.get("items"), list):
            out += [i for i in obj["items"] if isinstance(i, dict)]
        elif obj.get("kind", "").endswith("List") and "items" in obj and obj["items"] is None:
            continue
        else:
            out.append(obj)
    return out


def generate(req: GitRequest, known: GitResult | None = None) -> GitResult:
    """Resolve, check out and render (blocking); errors become the repo server's messages."""
    try:
        clone = clone_dir(req)
        revision = resolve(req, clone)
        # the same commit as last time: nothing to fetch or render (the repo server's manifest cache)
        if known is not None and known.revision == peeled(req.repo, revision) and not known.error:
            return known
        commit = checkout(req, clone, revision)
        path = app_path(clone, req.path)
        kind = source_type(req.spec(), path)
        if kind == "Helm":
            objects = render_helm(req, clone, path)
        elif kind == "Kustomize":
            objects = render_kustomize(req, clone, path)
        elif kind == "Directory":
            objects = render_directory(req, clone, path)
        else:
            raise RepoError("config management plugins are not modelled by the sandbox")
        return GitResult(tuple(expand_lists(objects)), revision=commit, source_type=kind)
    except RepoError as exc:
        return GitResult(error=f"rpc error: code = {exc.code} desc = {exc}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return GitResult(error=f"rpc error: code = Unknown desc = {exc}")


@dataclass
class _Entry:
    result: GitResult
    fetched: float
    request: GitRequest


@dataclass
class GitRenderer:
    """One worker thread; results kept per request, refreshed after ``REVISION_TTL``."""

    ttl: float = REVISION_TTL
    runs: int = 0  # renders that ran (tests check a refresh of an unchanged revision renders nothing)
    generation: int = 0
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="argocd-git"))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _pending: set[str] = field(default_factory=set)

    def get(self, req: GitRequest) -> GitResult | None:
        """The kept result (refreshed in the background once stale), or None while the first render runs."""
        key = req.key()
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if now - entry.fetched >= self.ttl:
                    self._submit(key, req)
                return entry.result
            self._submit(key, req)
        return None

    def poll(self, active: set[str]) -> None:
        """Refresh the stale results of the sources Applications use (``active``: request keys), the
        controller's periodic refresh; drop the others once they are ``KEEP`` seconds old."""
        now = time.monotonic()
        with self._lock:
            for key, entry in list(self._entries.items()):
                if key not in active:
                    if now - entry.fetched > KEEP and key not in self._pending:
                        del self._entries[key]
                elif now - entry.fetched >= (ERROR_RETRY if entry.result.error else self.ttl):
                    self._submit(key, entry.request)

    def _submit(self, key: str, req: GitRequest) -> None:
        if key not in self._pending:
            self._pending.add(key)
            self._pool.submit(self._run, key, req)

    def _run(self, key: str, req: GitRequest) -> None:
        with self._lock:
            known = self._entries.get(key)
        result = generate(req, known.result if known else None)
        with self._lock:
            self.runs += result is not (known.result if known else None)
            now = time.monotonic()
            if known is None or known.result != result:
                self.generation += 1
            self._entries[key] = _Entry(result, now, req)
            self._pending.discard(key)

    def busy(self) -> bool:
        with self._lock:
            return bool(self._pending)


GITS = GitRenderer()
