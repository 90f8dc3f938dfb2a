#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: argocd_app_wait
short_description: Wait until an Argo CD Application is delivered (Synced and Healthy)
version_added: 0.1.0
description:
  - Reads an Argo CD Application (C(argoproj.io/v1alpha1)) until it is delivered, with the rules
    of M(doks.gitops.k8s_apply_changed) for the Applications it applies, that is when the controller compared
    the current spec (C(status.sync.comparedTo) equals C(spec.source) or C(spec.sources),
    C(spec.destination) and C(spec.ignoreDifferences)), no sync operation is requested, running,
    or finished after the last reconciliation (as C(argocd app wait) decides), and it is
    C(Synced) and C(Healthy), or C(Progressing) where every resource that is not Healthy has a
    kind of O(progressing_kinds).
  - For Applications the play did not apply itself (an app-of-apps child, say); for those it
    applies, use M(doks.gitops.k8s_apply_changed) with O(doks.gitops.k8s_apply_changed#module:wait=true).
  - Fails after O(timeout) seconds naming the sync and health, the last sync message, the
    conditions and the resources not Synced or not Healthy.
  - Never writes.
author:
  - doks.gitops maintainers (@doks-gitops)
requirements:
  - kubernetes >= 24.2.0
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  name:
    description: Name of the Application.
    type: str
    required: true
  namespace:
    description: Namespace of the Application.
    type: str
    default: argocd
  timeout:
    description: Seconds to wait before failing.
    type: int
    default: 300
  sleep:
    description: Seconds between two reads.
    type: int
    default: 5
  source:
    description:
      - The C(spec.source) the Application must have before its status is judged (compared as
        Argo CD's Go types write it back, empty fields left out). For an Application another
        controller writes from what the play just changed (the ApplicationSet controller after a
        spoke patched its registration) - until that controller has written the new spec, the
        status of the previous one, Synced and Healthy, would otherwise be accepted.
      - Not set - the spec is not looked at (only C(status.sync.comparedTo) against it).
    type: dict
  progressing_kinds:
    description:
      - Kinds whose C(Progressing) health does not keep the Application from being delivered,
        for example C(Ingress), Progressing until an ingress controller publishes its address.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reads and waits in check mode as well; it never writes.
  diff_mode:
    support: none
    description: It changes nothing, so there is no diff.
  platform:
    support: full
    platforms: all
    description: Runs wherever the kubernetes Python client can reach the API server.
seealso:
  - module: doks.gitops.k8s_apply_changed
"""

EXAMPLES = r"""
- name: Wait for the lofi Application
  doks.gitops.argocd_app_wait:
    kubeconfig: "{{ gitops_kubeconfig }}"
    name: lofi
    namespace: argocd
    timeout: 300
"""

RETURN = r"""
sync:
  description: C(status.sync.status) of the Application when it was found delivered.
  returned: success
  type: str
  sample: Synced
health:
  description: C(status.health.status) of the Application when it was found delivered.
  returned: success
  type: str
  sample: Healthy
elapsed:
  description: Seconds waited.
  returned: success
  type: int
  sample: 4
"""

import copy
from functools import partial
from typing import Any, Dict, List, Optional

from ansible_collections.doks.gitops.plugins.module_utils import argocd_app

# kubernetes.core's module_utils are its internals (see k8s_apply_changed.py for the pinned range).
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.waiter import Waiter


def argspec() -> Dict[str, Any]:
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        name=dict(type="str", required=True),
        namespace=dict(type="str", default="argocd"),
        timeout=dict(type="int", default=300),
        sleep=dict(type="int", default=5),
        progressing_kinds=dict(type="list", elements="str", default=[]),
        source=dict(type="dict"),
    )
    return spec


def delivered(progressing_kinds: List[str], source: Optional[Dict[str, Any]], resource: Any) -> bool:
    app = resource.to_dict() if resource is not None else None
    if app is not None and argocd_app.source_differs(app, source):
        return False
    return argocd_app.not_ready(app, progressing_kinds) is None


def run(module: AnsibleK8SModule) -> None:
    params = module.params
    svc = K8sService(get_api_client(module), module)
    resource = svc.find_resource(argocd_app.APPLICATION_KIND, argocd_app.APPLICATION_API_VERSION, fail=True)
    ready, instance, elapsed = Waiter(
        svc.client, resource, partial(delivered, params["progressing_kinds"], params["source"])
    ).wait(timeout=params["timeout"], sleep=params["sleep"], name=params["name"], namespace=params["namespace"])
    if not ready:
        if instance and argocd_app.source_differs(instance, params["source"]):
            module.fail_json(
                msg="Application %s/%s still has another spec.source after %ss than the one expected %s "
                "(the controller that writes it has not caught up)."
                % (params["namespace"], params["name"], params["timeout"], params["source"])
            )
        module.fail_json(
            msg=argocd_app.timeout_message(
                instance or None, params["namespace"], params["name"], params["timeout"], params["progressing_kinds"]
            )
        )
    sync, health = argocd_app.sync_health(instance)
    module.exit_json(changed=False, sync=sync, health=health, elapsed=elapsed)


def main() -> None:
    module = AnsibleK8SModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        run(module)
    except CoreException as e:
        module.fail_from_exception(e)


if __name__ == "__main__":
    main()
