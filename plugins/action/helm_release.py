# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for doks.gitops.helm_release: kubernetes.core.helm behind a values diff."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.doks.gitops.plugins.plugin_utils.helm_values import (
    material_strings,
    release_changed,
    secret_variable,
    values_diff,
)

HELM = "kubernetes.core.helm"
HELM_INFO = "kubernetes.core.helm_info"
# kubernetes.core.helm's connection options (HELM_AUTH_ARG_SPEC) and binary: helm_info gets them too.
CONNECTION_ARGS = (
    "binary_path",
    "kubeconfig",
    "context",
    "host",
    "api_key",
    "validate_certs",
    "ca_cert",
)
REQUIRED_ARGS = ("name", "release_namespace", "chart_ref", "chart_version")
# The warning kubernetes.core.helm prints on every upgrade check without the helm-diff plugin. Its
# fallback compares chart, appVersion and values, and so does this action before it calls the
# module at all; nothing else (values files, --set, post-renderers) is in play here.
DEFAULT_CHECK_WARNING = "The default idempotency check can fail to report changes"
# Variables that are facts of the play's machinery, not of the inventory: never searched for secrets.
SKIPPED_VARS = frozenset({"hostvars", "groups", "group_names", "vars", "omit", "play_hosts", "ansible_play_hosts"})
MAX_DEPTH = 8


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if "release_name" in args:
            args["name"] = args.pop("release_name")
        missing = [name for name in REQUIRED_ARGS if not args.get(name)]
        if missing:
            raise AnsibleActionFail(f"helm_release: missing required arguments {missing}")
        # One values object: what the diff shows is what Helm receives.
        values = args.get("release_values") or {}
        if not isinstance(values, Mapping):
            raise AnsibleActionFail(f"helm_release: release_values must be a mapping, got {type(values).__name__}")
        args["release_values"] = values
        chart = {"name": args["chart_ref"], "version": args["chart_version"]}
        release = f"{args['release_namespace']}/{args['name']}"

        info = self._execute_module(
            module_name=HELM_INFO,
            module_args={
                "name": args["name"],
                "release_namespace": args["release_namespace"],
                **{k: args[k] for k in CONNECTION_ARGS if args.get(k) is not None},
            },
            task_vars=task_vars,
        )
        if info.get("failed"):
            return {**result, **info}
        deployed = _without_payload(info.get("status"))
        changed = release_changed(deployed, chart, values)

        if changed:
            helm = self._execute_module(module_name=HELM, module_args=args, task_vars=task_vars)
            result.update(helm)
            result["warnings"] = [w for w in helm.get("warnings", []) if DEFAULT_CHECK_WARNING not in str(w)]
        else:
            result.update(changed=False, status=deployed)
        # helm-diff's manifest diff ('prepared'), when that plugin is installed, gives way to ours.
        result.pop("diff", None)
        if self._task.diff and result.get("changed"):
            result["diff"] = values_diff(deployed, chart, values, release, self._known_secrets(task_vars))
        return result

    def _known_secrets(self, task_vars: Mapping[str, Any]) -> set[str]:
        """Secret values of this run: secret-named variables, fact entries and controller environment variables."""
        templar = self._templar.copy_with_new_env(available_variables=task_vars)
        found: set[str] = {value for name, value in os.environ.items() if secret_variable(name)}
        for name, value in task_vars.items():
            if name in SKIPPED_VARS or name.startswith("ansible_"):
                continue
            if secret_variable(name):
                found.update(material_strings(_template(templar, value)))
            elif isinstance(value, Mapping | list):
                for leaf in _secret_leaves(value, 0):
                    found.update(material_strings(_template(templar, leaf)))
        return found


def _without_payload(status: Any) -> dict[str, Any] | None:
    """helm_info's status without the rendered manifest, notes and hooks (large, and not compared)."""
    if not isinstance(status, Mapping):
        return None
    return {k: v for k, v in status.items() if k not in ("manifest", "notes", "hooks")}


def _template(templar: Any, value: Any) -> Any:
    try:
        return templar.template(value)
    except Exception:  # an undefined or broken variable holds no secret to mask
        return None


def _secret_leaves(value: Any, depth: int) -> Iterator[Any]:
    """The values under secret-named keys anywhere in a mapping or list (auth0_apps_clients.*.client_secret)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if secret_variable(key):
                yield item
            else:
                yield from _secret_leaves(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _secret_leaves(item, depth + 1)
