# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # DigitalOcean API v2 credentials and endpoint; combine with doks.gitops.api.
    DOCUMENTATION = r"""
options:
  api_token:
    description:
      - DigitalOcean personal access token (C(dop_v1_...)) with read and write scopes for
        Kubernetes, Spaces keys and domains.
      - If not set, the environment variables E(DIGITALOCEAN_TOKEN) then E(DO_API_TOKEN) are used.
    type: str
    required: true
  api_url:
    description:
      - Base URL of the DigitalOcean API, without C(/v2). Change it only for a proxy or the
        local sandbox.
    type: str
    default: https://api.digitalocean.com
"""
