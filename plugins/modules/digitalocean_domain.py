#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: digitalocean_domain
short_description: Ensure a DigitalOcean DNS zone (domain) exists or is absent
version_added: 0.1.0
description:
  - Creates the DNS zone O(name) in DigitalOcean DNS if it is missing, or deletes it with O(state=absent).
  - Records are not managed here (external-dns writes them); an existing zone is left as it is.
  - A create that may have been applied (timeout, 5xx) is checked with a lookup before anything else,
    and never sent twice.
author:
  - doks.gitops maintainers (@doks-gitops)
extends_documentation_fragment:
  - doks.gitops.digitalocean
  - doks.gitops.api
attributes:
  check_mode:
    support: full
    description: Reports whether the zone would be created or deleted and makes no write.
  diff_mode:
    support: full
    description: Shows the zone name before and after.
options:
  name:
    description: The zone, a fully qualified domain name such as V(example.com).
    type: str
    required: true
  state:
    description: V(present) creates the zone if missing, V(absent) deletes it with all its records.
    type: str
    choices: [present, absent]
    default: present
  only_if_empty:
    description:
      - With O(state=absent), delete the zone only when it holds no record but its C(NS) and C(SOA) ones;
        otherwise keep it and say which records it holds in RV(kept). Teardown sets it, after removing the
        records its cluster owns, so records made by hand or by another cluster keep their zone.
    type: bool
    default: false
seealso:
  - module: doks.gitops.doks_cluster
  - name: Domains API
    description: The domains endpoints of the API v2 reference.
    link: https://docs.digitalocean.com/reference/api/digitalocean/#tag/Domains
"""

EXAMPLES = r"""
- name: Ensure the platform's DNS zone
  doks.gitops.digitalocean_domain:
    name: gitops.example.com
"""

RETURN = r"""
domain:
  description: The zone as the API reports it (name and default TTL); planned values in check mode.
  returned: state=present
  type: dict
  sample: {name: gitops.example.com, ttl: 1800}
kept:
  description: With O(only_if_empty=true), why the zone was kept (empty when it was deleted or absent).
  returned: state=absent
  type: str
  sample: "holds 2 records: www.gitops.example.com A, mail.gitops.example.com MX"
actions:
  description: What the run did (or would do in check mode), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create domain gitops.example.com"]
api_calls:
  description: HTTP attempts this run made, by kind.
  returned: always
  type: dict
  sample: {get: 1, write: 0}
"""

from typing import Any, Dict, List, Optional
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.doks.gitops.plugins.module_utils.digitalocean import (
    DigitalOceanClient,
    Run,
    diff,
    digitalocean_argument_spec,
    run_module,
)
from ansible_collections.doks.gitops.plugins.module_utils.preflight import is_hostname


def lookup(client: DigitalOceanClient, name: str) -> Optional[Dict[str, Any]]:
    body = client.get_or_none("/v2/domains/%s" % quote(name))
    return (body or {}).get("domain")


def occupants(client: DigitalOceanClient, name: str) -> List[str]:
    """The zone's records other than NS and SOA, as ``<fqdn> <type>``."""
    records = client.list_all("/v2/domains/%s/records" % quote(name), "domain_records")
    return [
        "%s %s" % (name if r["name"] == "@" else "%s.%s" % (r["name"], name), r["type"])
        for r in records
        if r["type"] not in ("NS", "SOA")
    ]


def ensure(run: Run, name: str) -> Dict[str, Any]:
    client = run.client
    current = lookup(client, name)
    wanted = run.params["state"] == "present"
    before = {"name": name} if current else None
    if not wanted and current is not None and run.params["only_if_empty"]:
        held = occupants(client, name)
        if held:
            kept = "holds %d record%s: %s" % (len(held), "" if len(held) == 1 else "s", ", ".join(held))
            return {"kept": kept, "diff": diff(before, before)}
    result: Dict[str, Any] = {"diff": diff(before, {"name": name} if wanted else None)}
    if wanted:
        result["domain"] = {"name": name, "ttl": (current or {}).get("ttl")}
    else:
        result["kept"] = ""
    if (current is not None) == wanted:
        return result
    run.actions.append("%s domain %s" % ("create" if wanted else "delete", name))
    if run.check:
        return result
    if not wanted:
        client.delete("/v2/domains/%s" % quote(name))
        return result
    client.create_once("/v2/domains", {"name": name}, lambda: lookup(client, name), "domain %s" % name)
    result["domain"] = lookup(client, name) or result["domain"]
    return result


def main() -> None:
    spec = digitalocean_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        only_if_empty=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    name = module.params["name"].lower().rstrip(".")
    if not is_hostname(name):
        module.fail_json(msg="name %r is not a fully qualified domain name" % module.params["name"])
    run_module(module, "doks.gitops/digitalocean_domain", lambda run: ensure(run, name))


if __name__ == "__main__":
    main()
