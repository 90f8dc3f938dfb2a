"""Git server: the GitOps repository over HTTPS with git's own smart-HTTP protocol, read-only.

Every request under ``/<name>.git/`` is handed to ``git http-backend`` (git's CGI, the program that
serves git over HTTP behind Apache or nginx) with ``GIT_PROJECT_ROOT`` = ``<state>/git``, so clones
and fetches speak the real protocol (v0 and v2, ``Git-Protocol`` header passed on). Pushes are
refused: ``http.receivepack`` is false in every repository, and http-backend answers the
``git-receive-pack`` service with 403. Only GET, HEAD and POST reach the CGI (405 otherwise).

At start the server (re)builds ``doks-gitops.git``: a bare repository whose ``main`` branch is one
commit of the working tree's ``application/`` directory (the lofi charts, at the same paths),
made with the git CLI from a private index. Author, committer, dates and message are fixed and the
commit has no parent, so identical content always gives the same SHA; a changed tree moves ``main``
to a new root commit (force-moved, like a rewritten branch). The source directory is the repository
around this package, or the ``source`` setting (``{"git": {"source": "/path/to/checkout"}}``); a
copy of the package installed away from its checkout (no ``application/`` there) serves no
``doks-gitops.git`` and publishes no ``doks_gitops``.

Any other bare repository placed under ``<state>/git/`` is served too (the contract tests add their
own fixtures that way). ``endpoints.json`` publishes ``url``, ``doks_gitops`` (the clone URL) and
``root`` (the directory of the served repositories).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import sandbox
from sandbox.server import Context, Emulator, Request, Response

TEXT_TYPE = "text/plain; charset=utf-8"
REPOSITORY = "doks-gitops"
SOURCE_DIRS = ("application",)
# Fixed identity and time: the commit SHA depends on the content only.
IDENTITY = {
    "GIT_AUTHOR_NAME": "doks.gitops sandbox",
    "GIT_AUTHOR_EMAIL": "sandbox@doks-gitops.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "doks.gitops sandbox",
    "GIT_COMMITTER_EMAIL": "sandbox@doks-gitops.invalid",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+0000",
}
MESSAGE = "lofi GitOps charts (application/) served by the sandbox\n"
REPO_PATH = re.compile(r"^/[A-Za-z0-9._-]+\.git(/.*)?$")
TIMEOUT = 120.0


def git_env(**extra: str) -> dict[str, str]:
    """A clean environment for the git CLI: no user or system config, no prompts."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "LANG": "C.UTF-8",
        **extra,
    }


def _git(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args], env=env or git_env(), cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


def default_source() -> Path:
    """The checkout around this package (<root>/tools/sandbox/src/sandbox/__init__.py -> <root>)."""
    return Path(sandbox.__file__).resolve().parents[4]


def build_repository(bare: Path, source: Path, dirs: tuple[str, ...] = SOURCE_DIRS) -> str:
    """Make ``bare``'s ``main`` one root commit of ``dirs`` of ``source``; return its SHA."""
    if not (bare / "HEAD").is_file():
        bare.parent.mkdir(parents=True, exist_ok=True)
        _git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    _git("--git-dir", str(bare), "config", "http.receivepack", "false")
    _git("--git-dir", str(bare), "config", "http.uploadpack", "true")
    index = bare / "sandbox-build.index"
    index.unlink(missing_ok=True)
    env = git_env(GIT_DIR=str(bare), GIT_WORK_TREE=str(source), GIT_INDEX_FILE=str(index), **IDENTITY)
    present = [d for d in dirs if (source / d).is_dir()]
    if not present:
        raise FileNotFoundError(f"{source} holds none of {', '.join(dirs)}: nothing to serve")
    try:
        # ignore rules of the source tree apply (no __pycache__ or local caches in the commit)
        _git("add", "--all", "--", *present, env=env, cwd=source)
        tree = _git("write-tree", env=env, cwd=source)
        commit = _git("commit-tree", tree, "-m", MESSAGE.strip(), env=env, cwd=source)
    finally:
        index.unlink(missing_ok=True)
    _git("--git-dir", str(bare), "update-ref", "refs/heads/main", commit)
    _git("--git-dir", str(bare), "symbolic-ref", "HEAD", "refs/heads/main")
    # what git-update-server-info writes, for dumb clients; smart clients do not need it
    _git("--git-dir", str(bare), "update-server-info")
    return commit


def parse_cgi(output: bytes) -> Response:
    """A CGI answer (headers, blank line, body) as a Response."""
    head, sep, body = output.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = output.partition(b"\n\n")
    status = 200
    headers: dict[str, str] = {}
    content_type = "application/octet-stream"
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name.lower() == "content-type":
            content_type = value
        elif name:
            headers[name] = value
    return Response(status, body, headers=headers, content_type=content_type)


class GitServer(Emulator):
    """Serves the bare repositories under ``<state>/git`` read-only with ``git http-backend``."""

    name = "git"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        state = Path(ctx.endpoints.get("state_dir") or ctx.store.path.parent)
        self.root = state / "git"
        self.source = Path(ctx.settings.get("source") or default_source())
        self.root.mkdir(parents=True, exist_ok=True)
        self.revision = ""
        if ctx.settings.get("source") or all((self.source / d).is_dir() for d in SOURCE_DIRS):
            self.revision = build_repository(self.root / f"{REPOSITORY}.git", self.source)

    def endpoint(self, base_url: str) -> dict[str, Any]:
        served = {"doks_gitops": f"{base_url}/{REPOSITORY}.git", "doks_gitops_revision": self.revision}
        # an installed copy of the package away from its checkout has no application/ to serve
        return {"url": base_url, "root": str(self.root), **(served if self.revision else {})}

    def error(self, status: int, message: str, **extra: Any) -> Response:
        return Response(status, f"{status} {message}\n", content_type=TEXT_TYPE)

    def reset(self) -> None:
        """Nothing to wipe: the repositories are built from the project's sources."""

    def handle(self, request: Request) -> Response:
        if not REPO_PATH.match(request.path) or "/../" in request.path:
            return self.error(404, "not found")
        if request.method not in {"GET", "HEAD", "POST"}:
            response = self.error(405, "method not allowed")
            response.headers["Allow"] = "GET, HEAD, POST"
            return response
        env = git_env(
            GIT_PROJECT_ROOT=str(self.root),
            GIT_HTTP_EXPORT_ALL="1",
            GATEWAY_INTERFACE="CGI/1.1",
            SERVER_PROTOCOL="HTTP/1.1",
            REQUEST_METHOD="GET" if request.method == "HEAD" else request.method,
            PATH_INFO=request.path,
            QUERY_STRING="&".join(f"{k}={v}" for k, values in request.query.items() for v in values),
            CONTENT_TYPE=request.headers.get("Content-Type") or "",
            CONTENT_LENGTH=str(len(request.body)),
            REMOTE_ADDR="127.0.0.1",
        )
        for header in ("Content-Encoding", "Git-Protocol"):
            value = request.headers.get(header)
            if value:
                env["HTTP_" + header.upper().replace("-", "_")] = value
        # GIT_PROTOCOL is how http-backend hands the client's Git-Protocol header to upload-pack
        if request.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = str(request.headers.get("Git-Protocol"))
        done = subprocess.run(
            ["git", "http-backend"], input=request.body, env=env, capture_output=True, timeout=TIMEOUT, check=False
        )
        if done.returncode != 0 and not done.stdout:
            return self.error(500, done.stderr.decode(errors="replace").strip() or "git http-backend failed")
        return parse_cgi(done.stdout)
