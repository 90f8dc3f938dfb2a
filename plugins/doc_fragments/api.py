# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # Options every doks.gitops REST module shares (connection, TLS, retries).
    DOCUMENTATION = r"""
options:
  timeout:
    description:
      - Seconds to wait for each HTTP response before the attempt counts as failed.
    type: float
    default: 30
  validate_certs:
    description:
      - Verify the API's TLS certificate. Leave on; use O(ca_path) for private CAs.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of CA certificates to trust for the API endpoint (for example a corporate
        proxy's CA or the local sandbox's CA). Empty uses the system trust store.
    type: path
  retries:
    description:
      - How many times a call is retried after a 429 (rate limit), or after a 5xx, timeout or
        dropped connection when the call is safe to repeat. A create (POST) is never repeated
        blindly; the module looks the object up first.
    type: int
    default: 5
  retry_max_delay:
    description:
      - Upper bound in seconds for one wait between attempts. Waits honour C(Retry-After) and
        the rate-limit reset headers, else use exponential backoff with jitter.
    type: float
    default: 30
"""
