# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin of the same name (plugins/action/helm_release.py), on
# the controller; it runs kubernetes.core.helm_info and kubernetes.core.helm. This file documents it.
from __future__ import annotations

DOCUMENTATION = r"""
module: helm_release
short_description: Install or upgrade a Helm release, with a values diff under --diff
version_added: 0.1.0
description:
  - Reads the deployed release with M(kubernetes.core.helm_info) and compares its chart and
    values (what C(helm get values) prints) with the declared ones. When they match and the
    release is in state C(deployed), nothing else runs and the task reports no change. Otherwise
    M(kubernetes.core.helm) installs or upgrades the release with the very same values (in
    check mode it only reports the change).
  - With C(--diff) a changed release shows the chart (C(<name>-<version>)) and values, deployed
    then desired, as YAML; a release not installed yet shows every value as added. Secrets are
    masked with C(<masked>) (C(<masked, changed>) on the desired side when the secret changed)
    - values under keys whose name says secret material (password, token, clientSecret, apiKey,
    tls.key, ...), PEM private keys, and any string equal to (or holding) a secret of the run -
    a controller environment variable or an inventory variable or fact entry with such a name.
    References to secrets (existingSecret, secretKeyRef, C(${ENV_VAR})) are shown.
  - Every other option of M(kubernetes.core.helm) is passed to it unchanged. Without the
    helm-diff plugin that module warns on every upgrade check that its fallback comparison can
    miss changes; this action has already made that comparison (chart and values), so the
    warning is dropped.
author:
  - doks.gitops maintainers (@doks-gitops)
options:
  name:
    description: Release name.
    type: str
    required: true
    aliases: [release_name]
  release_namespace:
    description: Namespace of the release.
    type: str
    required: true
  chart_ref:
    description: Chart name in the repository C(chart_repo_url), or a chart reference M(kubernetes.core.helm) accepts.
    type: str
    required: true
  chart_version:
    description: The pinned chart version; part of the comparison.
    type: str
    required: true
  release_values:
    description: Values for the chart; compared with the deployed release's user-supplied values.
    type: dict
    default: {}
  kubeconfig:
    description: Kubeconfig file, for both modules.
    type: path
  binary_path:
    description: The helm binary, for both modules.
    type: path
attributes:
  check_mode:
    support: full
    description: Reads the release; M(kubernetes.core.helm) reports the change in check mode and writes nothing.
  diff_mode:
    support: full
    description: Chart and values, deployed vs desired, secrets masked.
  platform:
    support: full
    platforms: all
    description: Runs on the controller; the modules run where the task's connection points.
notes:
  - Other options of M(kubernetes.core.helm) (C(chart_repo_url), C(create_namespace), C(wait), ...) are passed through.
"""

EXAMPLES = r"""
- name: Install or upgrade the metrics-server release
  doks.gitops.helm_release:
    name: metrics-server
    release_namespace: kube-system
    chart_ref: metrics-server
    chart_repo_url: https://kubernetes-sigs.github.io/metrics-server/
    chart_version: 3.12.2
    release_values:
      args: [--kubelet-preferred-address-types=InternalIP]
    wait: true
"""

RETURN = r"""
status:
  description:
    - The release as M(kubernetes.core.helm) returns it after a change, or as deployed when
      nothing changed (without its manifest, notes and hooks).
  returned: when the release exists or was installed
  type: dict
  sample:
    chart: metrics-server-3.12.2
    status: deployed
    revision: "1"
    values: {args: [--kubelet-preferred-address-types=InternalIP]}
diff:
  description: Chart and values, deployed and desired, as YAML; secrets masked.
  returned: changed, with --diff
  type: dict
  sample:
    before_header: kube-system/metrics-server (deployed, revision 1)
    after_header: kube-system/metrics-server (desired)
    before: "chart: metrics-server-3.12.1\nvalues: {}\n"
    after: "chart: metrics-server-3.12.2\nvalues:\n  args:\n  - --kubelet-preferred-address-types=InternalIP\n"
"""
