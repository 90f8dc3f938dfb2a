# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name (plugins/action/preflight.py), on
# the controller, before anything talks to an API. This file documents it.
from __future__ import annotations

DOCUMENTATION = r"""
module: preflight
short_description: Validate a cluster's whole inventory before any API call
version_added: 0.1.0
description:
  - Checks the variables of the current inventory host against the argument specs of the
    doks.gitops roles (types, choices, required values) and against the rules specs cannot
    express - DNS domain and host name syntax, unique node-pool names, taint keys, values and
    effects, placement that selects a declared pool and tolerates its taint, well-formed chart
    and release pins, variables with a role's prefix that no role declares (typos), and names
    a cluster owns alone (DNS domain, host names, DOKS cluster, log bucket) that another host
    of group C(clusters) also uses, even when a limit leaves that host out of the run.
  - Reports every problem at once, one line each, naming the variable and the fix, and fails
    when there is any. It never changes anything.
  - Once the inventory alone is valid, it reads over the network (reads only, check mode
    included) - every pinned chart version must be in its repository's C(index.yaml) (the
    mirror's when C(gitops_helm_repo_mirror) is set; a repository that does not answer is
    skipped, an OCI registry is not judged), naming the nearest published versions; then,
    with C(gitops_preflight_credentials) (default true), each enabled API's credentials are
    tried with one authenticated read - DigitalOcean C(GET /v2/account), Auth0's token and
    one C(GET), Spaces C(ListBuckets), and the DNS token of external-dns and the DNS-01
    solver C(GET /v2/domains), which must answer, and C(GET /v2/kubernetes/clusters), which
    must be refused (a token custom-scoped to DNS, never account-wide). A refusal names the
    variable and the environment variable it is read from. With C(--tags), only the selected
    roles' charts and APIs.
  - Runs on the controller (action plugin).
author:
  - doks.gitops maintainers (@doks-gitops)
options:
  roles:
    description:
      - Roles whose argument specs and cross-field rules (C(RULES) of
        C(plugins/module_utils/preflight.py), keyed by role) apply. Defaults to every role of the
        collection. When the check passes, the fact C(gitops_preflight_passed) lists the roles
        checked so far; each role's first task runs C(doks.gitops.preflight) for C([gitops, <role>])
        unless that fact already names the role.
    type: list
    elements: str
  network:
    description:
      - Also read over the network once the inventory alone is valid (published chart versions,
        then the credentials, see above). A role's own preflight (its first task, for a run of
        the role alone) passes false - its first API call is a read that fails on a refused
        credential - and checks the inventory only.
    type: bool
    default: true
  unknown_variables:
    description:
      - Report variables named with one of the collection's prefixes (C(gitops_), C(doks_cluster_),
        C(auth0_apps_), ...) that no role declares or sets, with the nearest declared name.
        A misspelt variable would otherwise be ignored and its default used.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Read-only, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing to diff.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
"""

EXAMPLES = r"""
- name: Validate the inventory before any API call
  doks.gitops.preflight:

- name: Validate only what the ingress layer needs
  doks.gitops.preflight:
    roles: [gitops, ingress_certmanager]
"""

RETURN = r"""
problems:
  description: Every problem found, each with the variable, what is wrong and how to fix it.
  returned: always
  type: list
  elements: dict
  sample:
    - variable: gitops_domain
      message: "'example_com' is not a DNS domain"
      fix: set it to the zone the platform's hosts live under
roles:
  description: The roles whose argument specs and rules were applied.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: Set when no problem was found.
  returned: success
  type: dict
  contains:
    gitops_preflight_passed:
      description: Every role checked by a passing preflight on this host so far.
      type: list
      elements: str
"""
