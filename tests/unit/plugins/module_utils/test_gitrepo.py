"""The pure rules of doks.gitops.git_files (plugins/module_utils/gitrepo.py), without git or HTTP."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.doks.gitops.plugins.module_utils import gitrepo


@pytest.mark.parametrize("path", ["", ".", "..", "../x", "a/../../x", "/abs", ".git", ".git/config", "a/.git/hooks/x"])
def test_paths_that_leave_the_directory_or_touch_git_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        gitrepo.clean_path(path, "path")


def test_paths_are_normalised() -> None:
    assert gitrepo.clean_path("clusters//c1/./tekton/", "path") == "clusters/c1/tekton"
    assert gitrepo.wanted_files("clusters/c1", {"a/b.yaml": "x", "c.yaml": "y"}) == {
        "clusters/c1/a/b.yaml": "x",
        "clusters/c1/c.yaml": "y",
    }


def test_plan_and_diffs_name_each_change_once() -> None:
    current = {"d/keep": "1", "d/change": "old", "d/drop": "x"}
    wanted = {"d/keep": "1", "d/change": "new", "d/add": "n"}
    assert gitrepo.plan(current, wanted) == (["d/add"], ["d/change"], ["d/drop"])
    assert gitrepo.plan(current, dict(current)) == ([], [], [])
    assert [(d["before_header"], d["after_header"]) for d in gitrepo.diffs(current, wanted)] == [
        ("/dev/null", "d/add"),
        ("d/change", "d/change"),
        ("d/drop", "/dev/null"),
    ]


def test_the_token_goes_through_the_environment_as_basic_credentials() -> None:
    env = gitrepo.auth_environment("tok-123", "x-access-token")
    assert env["GIT_CONFIG_COUNT"] == "1" and env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    scheme, _, value = env["GIT_CONFIG_VALUE_0"].partition("Basic ")
    assert scheme == "Authorization: " and base64.b64decode(value).decode() == "x-access-token:tok-123"
    assert gitrepo.auth_environment("", "x") == {}


def test_only_a_lost_race_is_retried_and_secrets_are_masked() -> None:
    assert gitrepo.push_lost_race(" ! [rejected]        HEAD -> main (fetch first)")
    assert gitrepo.push_lost_race(" ! [rejected]        HEAD -> main (non-fast-forward)")
    assert not gitrepo.push_lost_race("fatal: Authentication failed for 'https://h/r.git/'")
    assert gitrepo.scrub("token tok-1 and tok-1", ["tok-1", ""]) == "token ******** and ********"
