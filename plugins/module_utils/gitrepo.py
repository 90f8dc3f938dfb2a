# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers of doks.gitops.git_files: which files a directory of the repository should hold,
what changes, and how git is given a token without it reaching a command line or a log.
"""

from __future__ import annotations

import base64
import posixpath
from typing import Dict, List, Optional, Tuple

# git's own words when a push lost a race with another writer (the remote moved since the fetch):
# "! [rejected] ... (fetch first)" or "(non-fast-forward)", and "failed to update ref" from a
# server-side lock (builtin/send-pack.c, transport.c).
PUSH_RACE_MARKERS = ("fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref")


def clean_path(path: str, what: str) -> str:
    """``path`` as a normalised relative POSIX path; ValueError naming ``what`` when it leaves its root."""
    norm = posixpath.normpath(path.strip())
    if not path.strip() or norm in (".", "") or norm.startswith("../") or norm == ".." or posixpath.isabs(norm):
        raise ValueError(f"{what} {path!r} must be a relative path inside the repository (no '..', not absolute)")
    if norm == ".git" or norm.startswith(".git/") or "/.git/" in f"/{norm}/":
        raise ValueError(f"{what} {path!r} must not name git's own directory")
    return norm


def wanted_files(root: str, files: Dict[str, str]) -> Dict[str, str]:
    """Repository path -> content of every file the directory ``root`` must hold."""
    base = clean_path(root, "path")
    return {posixpath.join(base, clean_path(name, "file")): content for name, content in files.items()}


def plan(current: Dict[str, str], wanted: Dict[str, str]) -> Tuple[List[str], List[str], List[str]]:
    """(added, modified, removed) repository paths that turn ``current`` into ``wanted`` (sorted)."""
    added = sorted(p for p in wanted if p not in current)
    modified = sorted(p for p in wanted if p in current and current[p] != wanted[p])
    removed = sorted(p for p in current if p not in wanted)
    return added, modified, removed


def diffs(current: Dict[str, str], wanted: Dict[str, str]) -> List[Dict[str, str]]:
    """Ansible's --diff entries, one per changed file (an absent side is empty)."""
    added, modified, removed = plan(current, wanted)
    return [
        {
            "before_header": path if path in current else "/dev/null",
            "after_header": path if path in wanted else "/dev/null",
            "before": current.get(path, ""),
            "after": wanted.get(path, ""),
        }
        for path in sorted(added + modified + removed)
    ]


def auth_environment(token: Optional[str], username: str) -> Dict[str, str]:
    """git's configuration through the environment (GIT_CONFIG_COUNT, git-config(1) "ENVIRONMENT"):
    the token as an HTTP Basic password on every request, as Git hosts take it over HTTPS (GitHub: any
    user name, the token as the password). Neither argv (ps, logs) nor a file on disk holds it."""
    if not token:
        return {}
    credentials = base64.b64encode(f"{username}:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {credentials}",
    }


def push_lost_race(stderr: str) -> bool:
    """Whether a failed push failed because the branch moved meanwhile (safe to fetch and redo)."""
    return any(marker in stderr for marker in PUSH_RACE_MARKERS)


def scrub(text: str, secrets: List[str]) -> str:
    """``text`` with every secret (and its Basic encoding) replaced by ********."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text
