#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: git_files
short_description: Keep one directory of a Git repository holding exactly the given files
version_added: 0.2.0
description:
  - Makes the directory O(path) of the branch O(branch) of the repository O(repo_url) hold exactly
    O(files) (with O(state=present)) or nothing (O(state=absent)), in one commit pushed over HTTPS
    when something differs. The directory belongs to the caller, so a file in it that O(files) does
    not name is removed; nothing outside it is read into the commit or changed.
  - This is how rendered manifests reach a GitOps repository that Argo CD reads (the platform
    GitOps repository, see the doks.gitops.gitops role). The module returns, for the directory and
    each directory directly below it, the last commit that changed it, so an Argo CD Application
    can pin it as C(targetRevision) and changes when, and only when, its own files change.
  - Runs the git CLI (C(git) on the target's PATH) in a temporary directory removed afterwards.
    A run with nothing to change makes no commit and no push.
  - A push that lost a race with another writer (the branch moved since the fetch) is redone on
    the new branch head, up to O(retries) times; any other failure stops the module with git's
    message, the token masked. A branch that does not exist yet (an empty repository) is created.
author:
  - doks.gitops maintainers (@doks-gitops)
attributes:
  check_mode:
    support: full
    description: Fetches and compares, never commits or pushes; reports what would change.
  diff_mode:
    support: full
    description: One diff per added, changed or removed file.
options:
  repo_url:
    description: HTTPS clone URL of the repository.
    type: str
    required: true
  branch:
    description: Branch to read and commit to.
    type: str
    default: main
  path:
    description: Directory of the repository this call owns, relative to its root.
    type: str
    required: true
  files:
    description:
      - File name (relative to O(path), subdirectories allowed) to its content.
      - Ignored with O(state=absent).
    type: dict
    default: {}
  state:
    description: V(present) keeps exactly O(files) under O(path); V(absent) removes O(path).
    type: str
    choices: [present, absent]
    default: present
  token:
    description:
      - Token sent as the HTTP Basic password (GitHub, GitLab, Gitea take a personal or
        fine-grained access token that way). Needed to push; a public repository is read without it.
      - Reaches git through its environment only, never a command line or a file.
    type: str
  username:
    description: User name sent with O(token).
    type: str
    default: x-access-token
  ca_path:
    description: CA bundle to verify the server with (C(GIT_SSL_CAINFO)); empty uses git's default.
    type: path
  author_name:
    description: Author and committer name of the commit.
    type: str
    default: doks.gitops
  author_email:
    description: Author and committer e-mail of the commit.
    type: str
    default: doks-gitops@users.noreply.github.com
  commit_message:
    description: Commit message.
    type: str
    default: "doks.gitops: update rendered manifests"
  retries:
    description: Times a push that lost a race with another writer is redone on the new head.
    type: int
    default: 3
  timeout:
    description: Seconds a transfer may stall (under 1 byte/s) before git aborts it.
    type: int
    default: 120
requirements:
  - git >= 2.31 on the target (configuration through C(GIT_CONFIG_COUNT))
seealso:
  - module: doks.gitops.k8s_apply_changed
"""

EXAMPLES = r"""
- name: Write the rendered Tekton manifests into the platform GitOps repository
  doks.gitops.git_files:
    repo_url: https://github.com/acme/platform-gitops.git
    token: "{{ gitops_platform_repo_token }}"
    path: clusters/prod-1/tekton
    files:
      pipeline/release.yaml: "{{ pipeline_docs | map('to_nice_yaml') | join('---\n') }}"
  register: written

- name: Pin the Application to the commit that last changed its directory
  ansible.builtin.debug:
    msg: "{{ written.revisions.pipeline }}"
"""

RETURN = r"""
commit:
  description: Head of the branch after the run (before, when nothing changed or in check mode).
  returned: always
  type: str
  sample: 6f1c0d3b6a1f0b1e8a1f6f7a3c2d1e0f9a8b7c6d
revision:
  description: Last commit that changed O(path); empty when it holds nothing.
  returned: always
  type: str
revisions:
  description: Directory directly below O(path) to the last commit that changed it.
  returned: always
  type: dict
  sample: {pipeline: 6f1c0d3b6a1f0b1e8a1f6f7a3c2d1e0f9a8b7c6d}
added:
  description: Repository paths added (or that would be).
  returned: always
  type: list
  elements: str
modified:
  description: Repository paths whose content changed (or would).
  returned: always
  type: list
  elements: str
removed:
  description: Repository paths removed (or that would be).
  returned: always
  type: list
  elements: str
"""

import os
import shutil
import tempfile
from typing import Any, Dict, List, Tuple

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.doks.gitops.plugins.module_utils.gitrepo import (
    auth_environment,
    clean_path,
    diffs,
    plan,
    push_lost_race,
    scrub,
    wanted_files,
)


# git's words when the server answered 401 (http.c): it could not prompt, or the credentials failed.
AUTH_MARKERS = ("could not read Username", "could not read Password", "Authentication failed")


class GitError(Exception):
    """A git command failed; the message is git's, with the token masked."""


class Repo:
    """A scratch clone of one branch, driven through the git CLI."""

    def __init__(self, module: AnsibleModule, workdir: str) -> None:
        self.module = module
        self.dir = workdir
        params = module.params
        self.env: Dict[str, str] = {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "HOME": workdir,
            "LC_ALL": "C",
            # a transfer slower than 1 byte/s for this long is aborted (git-config(1) http.lowSpeedTime)
            "GIT_HTTP_LOW_SPEED_LIMIT": "1",
            "GIT_HTTP_LOW_SPEED_TIME": str(params["timeout"]),
            "GIT_AUTHOR_NAME": params["author_name"],
            "GIT_AUTHOR_EMAIL": params["author_email"],
            "GIT_COMMITTER_NAME": params["author_name"],
            "GIT_COMMITTER_EMAIL": params["author_email"],
            **auth_environment(params["token"], params["username"]),
        }
        if params["ca_path"]:
            self.env["GIT_SSL_CAINFO"] = params["ca_path"]
        self.secrets = [params["token"] or "", self.env.get("GIT_CONFIG_VALUE_0", "")]

    def git(self, *args: str, check: bool = True) -> Tuple[int, str, str]:
        rc, out, err = self.module.run_command(["git", "-C", self.dir, *args], environ_update=self.env, check_rc=False)
        if check and rc != 0:
            raise GitError(f"git {args[0]} failed ({rc}): {self.explain(err.strip() or out.strip())}")
        return rc, out, err

    def explain(self, stderr: str) -> str:
        """git's message with the token masked, and what to do when the server refused the credentials."""
        text = scrub(stderr, self.secrets)
        if any(marker in text for marker in AUTH_MARKERS):
            text += (
                " (the server asked for credentials: the token is missing, wrong, expired, or lacks"
                " write access to the repository)"
            )
        return text

    def fetch(self, url: str, branch: str) -> bool:
        """Fetch the branch into FETCH_HEAD and check it out; False when it does not exist yet."""
        out = self.git("ls-remote", "--heads", "--", url, f"refs/heads/{branch}")[1]
        if not out.strip():
            return False
        self.git("fetch", "--quiet", "--no-tags", "--", url, f"refs/heads/{branch}")
        self.git("checkout", "--quiet", "--force", "-B", branch, "FETCH_HEAD")
        return True

    def files_under(self, path: str) -> Dict[str, str]:
        """Repository path -> content of every tracked file under ``path`` at the checkout."""
        out = self.git("ls-files", "-z", "--", path)[1]
        found: Dict[str, str] = {}
        for name in filter(None, out.split("\0")):
            with open(os.path.join(self.dir, name), encoding="utf-8", errors="surrogateescape") as handle:
                found[name] = handle.read()
        return found

    def write(self, path: str, wanted: Dict[str, str]) -> None:
        """Make the work tree's ``path`` hold exactly ``wanted`` and stage it."""
        shutil.rmtree(os.path.join(self.dir, path), ignore_errors=True)
        for name, content in wanted.items():
            target = os.path.join(self.dir, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(content)
        self.git("add", "--all", "--", path)

    def head(self) -> str:
        rc, out = self.git("rev-parse", "--verify", "--quiet", "HEAD", check=False)[:2]
        return out.strip() if rc == 0 else ""

    def last_change(self, path: str) -> str:
        """The last commit that changed ``path``; empty when HEAD holds nothing there."""
        if not self.head() or self.git("rev-parse", "--verify", "--quiet", f"HEAD:{path}", check=False)[0] != 0:
            return ""
        return self.git("log", "-1", "--format=%H", "HEAD", "--", path)[1].strip()

    def subdirectories(self, path: str) -> List[str]:
        if not self.head():
            return []
        out = self.git("ls-tree", "-d", "--name-only", "-z", f"HEAD:{path}", check=False)[1]
        return sorted(filter(None, out.split("\0")))


def revisions(repo: Repo, path: str) -> Dict[str, Any]:
    return {
        "revision": repo.last_change(path),
        "revisions": {name: repo.last_change(f"{path}/{name}") for name in repo.subdirectories(path)},
    }


def converge(module: AnsibleModule, repo: Repo, path: str, wanted: Dict[str, str]) -> Dict[str, Any]:
    """Fetch, compare and (unless check mode) commit and push; redo on a lost push race."""
    params = module.params
    url, branch = params["repo_url"], params["branch"]
    attempts = params["retries"] + 1
    for attempt in range(attempts):
        exists = repo.fetch(url, branch)
        if not exists:
            repo.git("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        current = repo.files_under(path)
        added, modified, removed = plan(current, wanted)
        result: Dict[str, Any] = {
            "changed": bool(added or modified or removed),
            "added": added,
            "modified": modified,
            "removed": removed,
        }
        if module._diff and result["changed"]:
            result["diff"] = diffs(current, wanted)
        if not result["changed"] or module.check_mode:
            return {**result, "commit": repo.head(), **revisions(repo, path)}
        repo.write(path, wanted)
        repo.git("commit", "--quiet", "--no-verify", "-m", params["commit_message"])
        pushed = repo.git("push", "--quiet", "--", url, f"HEAD:refs/heads/{branch}", check=False)
        rc, err = pushed[0], pushed[2]
        if rc == 0:
            return {**result, "commit": repo.head(), **revisions(repo, path)}
        if not push_lost_race(err) or attempt == attempts - 1:
            raise GitError(f"git push failed ({rc}): {repo.explain(err.strip())}")
    raise GitError("unreachable")  # pragma: no cover


def argument_spec() -> Dict[str, Any]:
    return {
        "repo_url": {"type": "str", "required": True},
        "branch": {"type": "str", "default": "main"},
        "path": {"type": "str", "required": True},
        "files": {"type": "dict", "default": {}},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "token": {"type": "str", "no_log": True},
        "username": {"type": "str", "default": "x-access-token"},
        "ca_path": {"type": "path"},
        "author_name": {"type": "str", "default": "doks.gitops"},
        "author_email": {"type": "str", "default": "doks-gitops@users.noreply.github.com"},
        "commit_message": {"type": "str", "default": "doks.gitops: update rendered manifests"},
        "retries": {"type": "int", "default": 3},
        "timeout": {"type": "int", "default": 120},
    }


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if not params["repo_url"].startswith("https://"):
        module.fail_json(msg=f"repo_url {params['repo_url']!r} must be an https:// clone URL")
    try:
        path = clean_path(params["path"], "path")
        files = {str(k): str(v) for k, v in (params["files"] or {}).items()}
        wanted = wanted_files(path, files) if params["state"] == "present" else {}
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if module.get_bin_path("git") is None:
        module.fail_json(msg="git is not installed on the target: install git (>= 2.31)")
    workdir = tempfile.mkdtemp(prefix="doks-gitops-git-")
    try:
        repo = Repo(module, workdir)
        repo.git("init", "--quiet")
        result = converge(module, repo, path, wanted)
    except GitError as exc:
        module.fail_json(msg=f"{params['repo_url']} ({params['branch']}): {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
