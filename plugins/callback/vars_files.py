# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: vars_files
type: aggregate
short_description: Name the file and line of a YAML error in group_vars and host_vars
version_added: 0.1.0
description:
  - When the playbook starts, parses every file under C(group_vars/) and C(host_vars/) next to
    the inventory sources and the playbook, the files Ansible's C(host_group_vars) plugin reads,
    and reports each YAML error with its file, line and column.
  - ansible-core 2.19 reports such an error, when the play starts, as C(YAML parsing failed ...)
    without the file (C(host_group_vars) re-raises it without its origin); this callback prints the
    same error with its origin first. It prints nothing when every file parses, and reads no
    secret (vault-encrypted values are not decrypted).
  - Enable it with C(callbacks_enabled = doks.gitops.vars_files) in C(ansible.cfg).
author:
  - doks.gitops maintainers (@doks-gitops)
requirements:
  - enabled in configuration
"""

import os
from typing import Any, Iterable, Iterator

from ansible import constants as C
from ansible import context
from ansible.errors import AnsibleError
from ansible.parsing.utils.yaml import from_yaml
from ansible.plugins.callback import CallbackBase

SUBDIRS = ("group_vars", "host_vars")


def _vars_files(directory: str) -> Iterator[str]:
    """The files host_group_vars would read under ``directory`` (DataLoader._get_dir_vars_files):
    no hidden or backup (~) files, only YAML extensions or none, sub-directories recursively."""
    for name in sorted(os.listdir(directory)):
        if name.startswith(".") or name.endswith("~"):
            continue
        path = os.path.join(directory, name)
        ext = os.path.splitext(name)[1]
        if os.path.isdir(path) and not ext:
            yield from _vars_files(path)
        elif os.path.isfile(path) and (not ext or ext in C.YAML_FILENAME_EXTENSIONS):
            yield path


def base_dirs(inventory: Iterable[str], playbook_dir: str | None) -> list[str]:
    """Directories whose group_vars/host_vars Ansible reads: each inventory source's directory
    (the source itself when it is one) and the playbook's; host lists such as ``a,b`` are not paths."""
    found: list[str] = []
    for source in inventory:
        path = os.path.abspath(os.path.expanduser(source))
        if os.path.isdir(path):
            found.append(path)
        elif os.path.exists(path):
            found.append(os.path.dirname(path))
    if playbook_dir:
        found.append(os.path.abspath(playbook_dir))
    return list(dict.fromkeys(found))


def yaml_errors(directories: Iterable[str]) -> list[AnsibleError]:
    """Each vars file under ``<dir>/group_vars`` and ``<dir>/host_vars`` that does not parse, as
    Ansible's own error (its origin names the file, line and column)."""
    errors: list[AnsibleError] = []
    for directory in directories:
        for sub in SUBDIRS:
            root = os.path.join(directory, sub)
            if not os.path.isdir(root):
                continue
            for path in _vars_files(root):
                errors.extend(_parse(path))
    return errors


def _parse(path: str) -> list[AnsibleError]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return []  # Ansible reports a file it cannot read itself, with its name
    try:
        from_yaml(text, file_name=path)
    except AnsibleError as exc:
        return [exc]
    return []


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "doks.gitops.vars_files"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook: Any) -> None:
        inventory = context.CLIARGS.get("inventory") or C.DEFAULT_HOST_LIST or []
        sources = [part for item in inventory for part in str(item).split(",") if part]
        for error in yaml_errors(base_dirs(sources, getattr(playbook, "_basedir", None))):
            self._display.error(error)
