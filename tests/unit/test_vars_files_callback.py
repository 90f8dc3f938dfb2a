"""The doks.gitops.vars_files callback names the file and line of a YAML error in group_vars/host_vars.

ansible-core 2.19.14's host_group_vars re-raises a parse error as ``AnsibleParserError(to_native(e))``
(ansible/plugins/vars/host_group_vars.py, get_vars), which drops the origin: the run ends with
``[ERROR]: YAML parsing failed: ...`` and no file, even at -vvv. The callback parses the same files
when the playbook starts and shows core's own error with its origin.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ansible import context
from ansible_collections.doks.gitops.plugins.callback import vars_files

BROKEN = "gitops_domain: sandbox.example.com\ngitops_acme_email: ops: example.com\n"
VAULTED = "$ANSIBLE_VAULT;1.1;AES256\n6331383932643066\n3934636339623937\n"


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_only_the_files_host_group_vars_reads_are_parsed(tmp_path: Path) -> None:
    inv = tree(
        tmp_path / "inv",
        {
            "hosts.yml": "clusters: {hosts: {a: {}}}\n",
            "group_vars/all/main.yml": "gitops_domain: ok.example.com\n",
            "group_vars/all/nested/broken.yml": BROKEN,
            "group_vars/all/vault": VAULTED,
            "group_vars/all/.hidden.yml": BROKEN,
            "group_vars/all/main.yml~": BROKEN,
            "group_vars/all/notes.txt": BROKEN,
            "host_vars/a.yaml": "x: [1,\n",
        },
    )
    errors = vars_files.yaml_errors([str(inv)])
    assert [str(e.obj) for e in errors] == [
        f"{inv}/group_vars/all/nested/broken.yml:2:23",
        f"{inv}/host_vars/a.yaml:2:1",
    ]
    assert "Colons in unquoted values" in errors[0].message


def test_base_dirs_follow_the_inventory_sources_and_the_playbook(tmp_path: Path) -> None:
    inv = tree(tmp_path / "inv", {"hosts.yml": "all: {}\n"})
    dirs = vars_files.base_dirs([str(inv / "hosts.yml"), "localhost", str(inv), "a"], str(tmp_path / "pb"))
    assert dirs == [str(inv), str(tmp_path / "pb")]


def test_the_callback_reports_each_error_and_nothing_on_clean_files(tmp_path: Path, monkeypatch: Any) -> None:
    inv = tree(tmp_path / "inv", {"group_vars/clusters.yml": BROKEN, "host_vars/a.yml": "x: 1\n"})
    shown: list[Any] = []
    callback = vars_files.CallbackModule()
    monkeypatch.setattr(callback, "_display", SimpleNamespace(error=shown.append))
    monkeypatch.setattr(context, "CLIARGS", {"inventory": (f"{inv},localhost",)})
    callback.v2_playbook_on_start(SimpleNamespace(_basedir=str(tmp_path)))
    assert [str(e.obj) for e in shown] == [f"{inv}/group_vars/clusters.yml:2:23"]
    (inv / "group_vars" / "clusters.yml").write_text("gitops_acme_email: 'ops: example.com'\n")
    shown.clear()
    callback.v2_playbook_on_start(SimpleNamespace(_basedir=str(tmp_path)))
    assert shown == []
