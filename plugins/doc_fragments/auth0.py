# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # Credentials of the Auth0 Management API machine-to-machine client.
    DOCUMENTATION = r"""
options:
  domain:
    description:
      - The Auth0 tenant domain, for example V(example.eu.auth0.com) (no scheme). API calls go to
        C(https://<domain>/api/v2/) and the token request to C(https://<domain>/oauth/token).
      - If not set, the environment variable E(AUTH0_DOMAIN) is used.
    type: str
    required: true
  client_id:
    description:
      - Client ID of a machine-to-machine application authorised for the Auth0 Management API.
      - If not set, the environment variable E(AUTH0_CLIENT_ID) is used.
    type: str
    required: true
  client_secret:
    description:
      - Client secret of that application. Never logged or returned.
      - If not set, the environment variable E(AUTH0_CLIENT_SECRET) is used.
    type: str
    required: true
  audience:
    description:
      - Audience of the Management API token. Defaults to C(https://<domain>/api/v2/); set it when
        the tenant is reached through a custom domain.
      - If not set, the environment variable E(AUTH0_AUDIENCE) is used.
    type: str
notes:
  - The module requests one access token per run (OAuth 2.0 client credentials grant) and never
    echoes the client secret or the token.
"""
