"""Git server: the GitOps repositories over HTTPS with git's own smart-HTTP protocol.

Every request under ``/<name>.git/`` is handed to ``git http-backend`` (git's CGI, the program that
serves git over HTTP behind Apache or nginx) with ``GIT_PROJECT_ROOT`` = ``<state>/git``, so clones
and fetches speak the real protocol (v0 and v2, ``Git-Protocol`` header passed on). Only GET, HEAD
and POST reach the CGI (405 otherwise). Reads are anonymous (public repositories).

Pushes, as a Git host over HTTPS takes them (GitHub: a token as the Basic password, any user name):
* ``doks-gitops.git`` is read-only: ``http.receivepack`` is false, and http-backend answers the
  ``git-receive-pack`` service with 403.
* ``doks-gitops-platform.git``, the platform GitOps repository Ansible writes rendered manifests
  into (``gitops_platform_repo_*``), takes pushes authenticated with the git server's token
  (``endpoints.json`` ``platform_token``): a ``git-receive-pack`` request without it, or with
  another password, gets 401 and ``WWW-Authenticate: Basic`` (git then fails with "Authentication
  failed", or asks for a user name it cannot prompt for). With it the request reaches http-backend
  with ``REMOTE_USER`` set, which is how http-backend enables receive-pack when
  ``http.receivepack`` is unset (git-http-backend(1) "SERVICES"). The repository starts as a Git
  host creates one with a README: ``main`` at one root commit; ``reset`` brings it back to that.

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

import base64
import hmac
import os
import re
import secrets
import shutil
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
PLATFORM = "doks-gitops-platform"
PLATFORM_README = (
    "# Platform GitOps repository\n\n"
    "Rendered manifests the doks.gitops collection writes (clusters/<cluster>/<component>/) and\n"
    "Argo CD delivers. Served by the doks.gitops sandbox.\n"
)
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


def build_platform(bare: Path) -> str:
    """(Re)create ``bare`` as a fresh writable repository: ``main`` at one root commit with a README."""
    if bare.exists():
        shutil.rmtree(bare)
    _git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    _git("--git-dir", str(bare), "config", "http.uploadpack", "true")
    env = git_env(GIT_DIR=str(bare), **IDENTITY)
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        input=PLATFORM_README,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    ).stdout.strip()
    tree = subprocess.run(
        ["git", "mktree"],
        input=f"100644 blob {blob}\tREADME.md\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    ).stdout.strip()
    commit = _git("commit-tree", tree, "-m", "Initial commit", env=env)
    _git("--git-dir", str(bare), "update-ref", "refs/heads/main", commit)
    _git("--git-dir", str(bare), "symbolic-ref", "HEAD", "refs/heads/main")
    return commit


def basic_password(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic`` header, else None."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


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
    """Serves the bare repositories under ``<state>/git`` with ``git http-backend``."""

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
        with self.lock:
            if "token" not in self.store.data:
                self.store.data["token"] = "sandbox_git_" + secrets.token_hex(20)
                self.store.touch()
        if not (self.root / f"{PLATFORM}.git" / "HEAD").is_file():
            build_platform(self.root / f"{PLATFORM}.git")

    def endpoint(self, base_url: str) -> dict[str, Any]:
        served = {"doks_gitops": f"{base_url}/{REPOSITORY}.git", "doks_gitops_revision": self.revision}
        platform = {"platform": f"{base_url}/{PLATFORM}.git", "platform_token": self.store.data["token"]}
        # an installed copy of the package away from its checkout has no application/ to serve
        return {"url": base_url, "root": str(self.root), **platform, **(served if self.revision else {})}

    def error(self, status: int, message: str, **extra: Any) -> Response:
        return Response(status, f"{status} {message}\n", content_type=TEXT_TYPE)

    def reset(self) -> None:
        """The platform repository back to its first commit (the others are built from the sources)."""
        with self.lock:
            build_platform(self.root / f"{PLATFORM}.git")

    def _push_user(self, request: Request) -> str | None:
        """The user of a push to the platform repository authenticated with the token, else None."""
        credentials = basic_password(request.headers.get("Authorization"))
        if credentials is None or not hmac.compare_digest(credentials[1], str(self.store.data["token"])):
            return None
        return credentials[0] or "token"

    def handle(self, request: Request) -> Response:
        if not REPO_PATH.match(request.path) or "/../" in request.path:
            return self.error(404, "not found")
        if request.method not in {"GET", "HEAD", "POST"}:
            response = self.error(405, "method not allowed")
            response.headers["Allow"] = "GET, HEAD, POST"
            return response
        pushing = request.path.endswith("/git-receive-pack") or "git-receive-pack" in request.query.get("service", [])
        user = None
        if pushing and request.path.startswith(f"/{PLATFORM}.git/"):
            user = self._push_user(request)
            if user is None:
                response = self.error(401, "authentication required")
                response.headers["WWW-Authenticate"] = 'Basic realm="doks-gitops sandbox"'
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
            **({"REMOTE_USER": user} if user else {}),
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
