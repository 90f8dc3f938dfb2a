# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: changes
type: aggregate
short_description: At the end of a run, list what changed, per host and role
version_added: 0.1.0
description:
  - Collects the tasks that reported a change and prints, when the playbook ends, one block per
    host listing them grouped by role, or that nothing changed. It prints task names only, never a
    result, so nothing a task returned (secrets included) is printed.
  - Enable it with C(callbacks_enabled = doks.gitops.changes) in C(ansible.cfg).
author:
  - doks.gitops maintainers (@doks-gitops)
requirements:
  - enabled in configuration
"""

from collections import defaultdict
from typing import Any

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "doks.gitops.changes"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._changes: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._hosts: set[str] = set()

    def v2_runner_on_ok(self, result: Any) -> None:
        host = result._host.get_name()
        self._hosts.add(host)
        if not result._result.get("changed"):
            return
        task = result._task
        role = task._role.get_name(include_role_fqcn=False) if task._role else "playbook"
        name = task.get_name().split(" : ", 1)[-1]  # the role is the heading already
        if name not in self._changes[host][role]:
            self._changes[host][role].append(name)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._hosts.add(result._host.get_name())

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if not self._hosts:
            return
        self._display.banner("WHAT CHANGED")
        for host in sorted(self._hosts):
            roles = self._changes.get(host)
            if not roles:
                self._display.display(f"{host}: nothing changed")
                continue
            self._display.display(f"{host}:")
            for role, names in roles.items():
                self._display.display(f"  {role}:")
                for name in names:
                    self._display.display(f"    - {name}")
