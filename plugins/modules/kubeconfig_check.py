#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: kubeconfig_check
short_description: Check that a kubeconfig still opens its cluster, and say how to renew it if not
version_added: 0.1.0
description:
  - Reads the kubeconfig at O(path) and sends one authenticated read (C(GET /api)) to the
    cluster of its current context with its bearer token.
  - Fails, naming the file and the fix O(renew_hint), when the file is missing or unreadable,
    when the token's expiry written by M(doks.gitops.doks_cluster) has passed, or when the
    cluster answers 401 (the token expired or was revoked). Without this check the first
    C(kubernetes.core) task would end in a Python traceback.
  - A cluster that does not answer, answers 5xx, or a kubeconfig without a bearer token (client
    certificates, an exec plugin) is no verdict; the module succeeds and says so in RV(state).
author:
  - doks.gitops maintainers (@doks-gitops)
attributes:
  check_mode:
    support: full
    description: Only reads; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
options:
  path:
    description: The kubeconfig file.
    type: path
    required: true
  renew_hint:
    description: What the user should do to get a fresh kubeconfig; ends the failure message.
    type: str
    default: fetch a fresh kubeconfig for this cluster into that file
  timeout:
    description: Seconds to wait for the cluster's answer.
    type: float
    default: 10
seealso:
  - module: doks.gitops.doks_cluster
"""

EXAMPLES = r"""
- name: Check the kubeconfig before the first Kubernetes task
  doks.gitops.kubeconfig_check:
    path: "{{ gitops_kubeconfig }}"
    renew_hint: run the play with --tags doks_cluster, which writes a fresh kubeconfig there
"""

RETURN = r"""
state:
  description: V(ok), or V(unknown) when the check could not decide (see RV(detail)).
  returned: success
  type: str
  sample: ok
server:
  description: The API server of the kubeconfig's current context.
  returned: when the file names one
  type: str
  sample: https://0b6ed0c1-7d4e-4a1e-9d3a-7e4a3c1f0e2b.k8s.ondigitalocean.com
detail:
  description: Why the state is V(unknown).
  returned: success
  type: str
  sample: ""
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.doks.gitops.plugins.module_utils.kubeconfig import OK, UNKNOWN, probe


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            renew_hint=dict(type="str", default="fetch a fresh kubeconfig for this cluster into that file"),
            timeout=dict(type="float", default=10),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    verdict = probe(path, timeout=module.params["timeout"])
    if verdict.state in (OK, UNKNOWN):
        module.exit_json(changed=False, state=verdict.state, server=verdict.server, detail=verdict.detail)
    module.fail_json(
        msg="The kubeconfig %s cannot be used: %s. To renew it, %s."
        % (path, verdict.detail, module.params["renew_hint"]),
        state=verdict.state,
        server=verdict.server,
    )


if __name__ == "__main__":
    main()
