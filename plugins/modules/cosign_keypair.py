#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: cosign_keypair
short_description: Generate once, keep, and rotate on request a cosign signing key pair in a Kubernetes Secret
version_added: 0.1.0
description:
  - Keeps a cosign key pair in the Secret O(name) of O(namespace), the way Tekton Chains reads it
    (C(signing-secrets) in C(tekton-chains)) - data keys C(cosign.key), C(cosign.password) and
    C(cosign.pub), as C(cosign generate-key-pair k8s://tekton-chains/signing-secrets) writes them.
  - C(cosign.key) is cosign's C(ENCRYPTED SIGSTORE PRIVATE KEY) PEM block - an ECDSA P-256 key in
    PKCS#8 encrypted with scrypt (N=65536, r=8, p=1) and NaCl secretbox - as
    C(github.com/sigstore/cosign/v2) v2.6.5 C(pkg/cosign/keys.go) (the version Tekton Chains
    v0.29.2 vendors) and C(github.com/secure-systems-lab/go-securesystemslib) v0.11.0
    C(encrypted/encrypted.go) write it; C(cosign.password) is a random 32-character password;
    C(cosign.pub) the PKIX C(PUBLIC KEY) PEM block.
  - Create once. A missing Secret is created, and a Secret without C(cosign.key) (the empty one
    of the Chains release) is filled. A Secret that holds C(cosign.key) is kept - a new key would
    make every signature made so far unverifiable with the published public key - unless
    O(rotate=true). A kept key must decrypt with C(cosign.password) (else the module fails, as Chains
    could not sign with it), and C(cosign.pub) is set from it when missing or different.
  - Only the public key leaves the module; the private key and the password are never returned
    or logged. Other data keys of the Secret are left alone.
author:
  - doks.gitops maintainers (@doks-gitops)
requirements:
  - kubernetes >= 24.2.0
  - cryptography >= 3.0
  - PyNaCl >= 1.4.0
attributes:
  check_mode:
    support: full
    description: Reads the Secret and reports what would change; nothing is written.
  diff_mode:
    support: none
    description: The Secret's content is secret; only RV(action) says what changed.
options:
  namespace:
    description: Namespace of the Secret (it must exist).
    type: str
    default: tekton-chains
  name:
    description: Name of the Secret.
    type: str
    default: signing-secrets
  rotate:
    description:
      - Replace the key pair and password even if the Secret holds one. Set it for one run only,
        then publish the new public key to every verifier; signatures made with the old key no
        longer verify with it.
    type: bool
    default: false
  labels:
    description: Labels of the Secret when the module creates it (an existing Secret keeps its own).
    type: dict
    default: {}
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
seealso:
  - name: Tekton Chains signing
    description: How Chains reads the signing-secrets Secret.
    link: https://github.com/tektoncd/chains/blob/v0.29.2/docs/signing.md
"""

EXAMPLES = r"""
- name: Keep the Chains signing key, generated once
  doks.gitops.cosign_keypair:
    kubeconfig: "{{ gitops_kubeconfig }}"
    namespace: tekton-chains
    name: signing-secrets
  register: chains_key

- name: Rotate the key (one run only)
  doks.gitops.cosign_keypair:
    kubeconfig: "{{ gitops_kubeconfig }}"
    rotate: true
"""

RETURN = r"""
action:
  description:
    - V(keep) (nothing changed), V(create) (new Secret), V(fill) (the Secret had no key),
      V(rotate), or V(publish) (C(cosign.pub) set from the kept key).
  returned: always
  type: str
  sample: keep
public_key:
  description:
    - The PEM public key the Secret holds (after the change); empty in check mode when the key
      is yet to be generated.
  returned: always
  type: str
  sample: |
    -----BEGIN PUBLIC KEY-----
    MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...
    -----END PUBLIC KEY-----
"""

import contextlib
import copy
from typing import Any, Dict

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.doks.gitops.plugins.module_utils import cosign_keys

# kubernetes.core's module_utils are its internals: galaxy.yml and requirements.yml hold
# kubernetes.core to the major release these imports were tested on (>=6.2.0,<7.0.0).
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule

with contextlib.suppress(ImportError):  # AnsibleK8SModule reports a missing kubernetes client
    from kubernetes.dynamic.exceptions import NotFoundError


def argspec() -> Dict[str, Any]:
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        namespace=dict(type="str", default="tekton-chains"),
        name=dict(type="str", default="signing-secrets"),
        rotate=dict(type="bool", default=False),
        labels=dict(type="dict", default={}),
    )
    return spec


def run(module: AnsibleK8SModule) -> Dict[str, Any]:
    params = module.params
    client = get_api_client(module)
    secrets = client.resource("Secret", "v1")
    try:
        live = client.get(secrets, name=params["name"], namespace=params["namespace"]).to_dict()
        data = live.get("data") or {}
    except NotFoundError:
        live, data = None, None
    if module.check_mode and (live is None or params["rotate"] or not data.get(cosign_keys.KEY)):
        action = "create" if live is None else ("rotate" if data.get(cosign_keys.KEY) else "fill")
        return dict(changed=True, action=action, public_key="")
    try:
        outcome = cosign_keys.reconcile(data, rotate=params["rotate"])
    except cosign_keys.KeyFormatError as e:
        module.fail_json(
            msg="The Secret %s/%s holds a key Tekton Chains cannot use: %s. Fix the Secret, or run once with "
            "rotate=true to replace the key pair." % (params["namespace"], params["name"], e)
        )
    result = dict(changed=outcome.action != "keep", action=outcome.action, public_key=outcome.public_pem.decode())
    if module.check_mode or not result["changed"]:
        return result
    if live is None:
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": params["name"], "namespace": params["namespace"], "labels": params["labels"]},
            "data": outcome.data,
        }
        client.create(secrets, body, namespace=params["namespace"])
    else:
        client.patch(
            secrets,
            {"data": outcome.data},
            name=params["name"],
            namespace=params["namespace"],
            content_type="application/merge-patch+json",
        )
    return result


def main() -> None:
    module = AnsibleK8SModule(argument_spec=argspec(), supports_check_mode=True)
    if not cosign_keys.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    if not cosign_keys.HAS_NACL:
        module.fail_json(msg=missing_required_lib("PyNaCl"))
    try:
        result = run(module)
    except Exception as e:  # a 401, a refused write or a network failure: never echo the data
        status = getattr(e, "status", None)
        reason = getattr(e, "reason", None) or type(e).__name__
        where = "%s/%s" % (module.params["namespace"], module.params["name"])
        module.fail_json(msg="Keeping the Secret %s failed: %s %s" % (where, status or "", reason))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
