#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: spaces_key
short_description: Manage a DigitalOcean Spaces access key by name, with bucket grants and rotation
version_added: 0.1.0
description:
  - Finds the Spaces access key named O(name); creates it with O(grants) if it is missing, rotates
    it if its grants drifted, deletes it with O(state=absent).
  - DigitalOcean can change only the name of an existing key ("You can only update the name of the
    key", API v2 spec C(specification/resources/spaces/key_update.yml) and C(key_patch.yml) in
    U(https://github.com/digitalocean/openapi)); grants sent to an existing key are not applied. So
    different grants mean a new key - a rotation - never an update in place.
  - The secret key is returned only by the API call that creates a key. The module returns it
    (RV(secret_key)) only from a run that created or rotated the key; store it at once (for
    example in a Kubernetes Secret) in the same play.
  - Rotation creates a new key with the same name and O(grants), then deletes the old one(s) - or,
    with O(delete_replaced=false), leaves them for the caller to delete once the new secret is
    stored (a second call with O(stored_access_key) set to the new key does that). It happens when
    O(rotate=true), when the grants differ, or when O(stored_access_key) is given and differs from
    the existing key's access key id (the stored secret belongs to another key, or is lost).
  - When several keys have the name and O(stored_access_key) is one of them with the wanted grants,
    the others are leftovers of a rotation and are deleted; the stored key is kept.
  - A create that may have been applied (timeout, 5xx) is never repeated blindly - keys named O(name)
    that appeared meanwhile, whose secret was never received, are deleted before the one retry; when
    none appeared, nothing was created and the module fails asking to run again (as every create of
    the collection does).
author:
  - doks.gitops maintainers (@doks-gitops)
extends_documentation_fragment:
  - doks.gitops.digitalocean
  - doks.gitops.api
attributes:
  check_mode:
    support: full
    description: Reports what would change and makes no write; no secret is returned.
  diff_mode:
    support: full
    description: Shows the key's name and grants before and after.
options:
  name:
    description: Name of the access key.
    type: str
    required: true
  state:
    description: V(present) ensures the key, V(absent) deletes every key with this name.
    type: str
    choices: [present, absent]
    default: present
  grants:
    description:
      - Bucket permissions of the key. A V(fullaccess) grant applies to every bucket and takes an
        empty O(grants[].bucket).
    type: list
    elements: dict
    default: []
    suboptions:
      bucket:
        description: Bucket name (empty for V(fullaccess)).
        type: str
        required: true
      permission:
        description: What the key may do in the bucket.
        type: str
        required: true
        choices: [read, readwrite, fullaccess]
  rotate:
    description: Replace the key with a new one (new access key and secret) even if nothing else changed.
    type: bool
    default: false
  delete_replaced:
    description:
      - Delete the replaced key(s) in the same call as a rotation. V(false) keeps them (their
        access key ids are returned in RV(replaced)) so that the caller can first store the new
        secret, then delete them with a second call that passes the new key as O(stored_access_key);
        consumers of the old key keep working meanwhile.
    type: bool
    default: true
  stored_access_key:
    description:
      - The access key id whose secret the caller has stored. When set and the existing key has
        another access key id - or this is the empty string because no secret is stored - the key is
        rotated so that the caller receives a secret it can keep. Leave unset to never rotate for this.
    type: str
notes:
  - Keys are matched by name. Several keys with the same name are an error unless a rotation replaces them all.
seealso:
  - module: doks.gitops.doks_cluster
  - name: Spaces keys API
    description: The Spaces access keys endpoints of the API v2 reference.
    link: https://docs.digitalocean.com/reference/api/digitalocean/#tag/Spaces-Keys
"""

EXAMPLES = r"""
- name: Ensure Loki's key for the logs bucket (rotated if the stored secret is gone)
  doks.gitops.spaces_key:
    name: loki-logs
    grants:
      - bucket: gitops-logs
        permission: readwrite
    stored_access_key: "{{ stored_id | default('') }}"
  register: key
  no_log: true

- name: Delete the key
  doks.gitops.spaces_key:
    name: loki-logs
    state: absent
"""

RETURN = r"""
key:
  description: The key (without its secret).
  returned: state=present
  type: dict
  contains:
    name:
      description: Key name.
      type: str
    access_key:
      description: Access key id (null in check mode before creation).
      type: str
      sample: DO00EXAMPLE7EXAMPLE9
    grants:
      description: Bucket grants.
      type: list
      elements: dict
    created_at:
      description: Creation time.
      type: str
secret_key:
  description: The secret of a key created or rotated by this run. Shown once - store it right away.
  returned: when the key was created or rotated (not in check mode)
  type: str
rotated:
  description: Whether an existing key was replaced.
  returned: always
  type: bool
replaced:
  description:
    - Access key ids of the keys a rotation replaced and left in place (O(delete_replaced=false));
      delete them once the new secret is stored.
  returned: state=present
  type: list
  elements: str
actions:
  description: What the run did (or would do), one sentence each.
  returned: always
  type: list
  elements: str
api_calls:
  description: HTTP attempts this run made, by kind.
  returned: always
  type: dict
  sample: {get: 1, write: 0}
"""

from typing import Any, Dict, List, Optional

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.doks.gitops.plugins.module_utils.digitalocean import (
    Run,
    diff,
    digitalocean_argument_spec,
    run_module,
)

KEYS = "/v2/spaces/keys"


def norm_grants(grants: Optional[List[Dict[str, Any]]]) -> List[Dict[str, str]]:
    items = [{"bucket": g.get("bucket") or "", "permission": g["permission"]} for g in grants or []]
    return sorted(items, key=lambda g: (g["bucket"], g["permission"]))


def public(key: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "name": key.get("name"),
        "access_key": key.get("access_key"),
        "grants": norm_grants(key.get("grants")),
        "created_at": key.get("created_at"),
    }


class SpacesKeyManager:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.module = run.module
        self.client = run.client
        self.params = run.params
        self.actions = run.actions

    def find(self) -> List[Dict[str, Any]]:
        keys = self.client.list_all(KEYS, "keys", {"name": self.params["name"]})
        return [k for k in keys if k.get("name") == self.params["name"]]

    def create(self, known: List[Dict[str, Any]]) -> Dict[str, Any]:
        """Create the key (create-once). A create that failed but happened anyway made a key whose
        secret never reached us, which is useless: delete it and create once more."""
        body = {"name": self.params["name"], "grants": norm_grants(self.params["grants"])}
        before = {k["access_key"] for k in known}

        def orphans() -> List[Dict[str, Any]]:
            return [k for k in self.find() if k["access_key"] not in before]

        answer, lost = self.client.create_once(KEYS, body, orphans, "key %s" % self.params["name"])
        if lost is None:
            return answer["key"]
        for orphan in answer:
            self.client.delete("%s/%s" % (KEYS, orphan["access_key"]))
            self.actions.append("delete key %s whose secret was lost in a failed create" % orphan["access_key"])
        return self.client.post(KEYS, body)["key"]

    def absent(self) -> Dict[str, Any]:
        existing = self.find()
        for key in existing:
            self.actions.append("delete key %s (%s)" % (self.params["name"], key["access_key"]))
            if not self.module.check_mode:
                self.client.delete("%s/%s" % (KEYS, key["access_key"]))
        before = public(existing[0]) if existing else {}
        return {"changed": bool(existing), "rotated": False, "diff": diff(before, None)}

    def split_leftovers(
        self, existing: List[Dict[str, Any]], kept: Optional[Dict[str, Any]], wanted: List[Dict[str, str]]
    ) -> List[Dict[str, Any]]:
        """Keys a rotation replaced but left in place, when the caller stored the new one's secret.

        With ``delete_replaced=false`` (or a run that stopped between create and delete), several
        keys share the name; the one whose secret the caller stored (``stored_access_key``) and
        that has the wanted grants is kept, the others are leftovers.
        """
        if len(existing) < 2 or kept is None or self.params["rotate"] or norm_grants(kept.get("grants")) != wanted:
            return []
        return [k for k in existing if k is not kept]

    def replace(self, existing: List[Dict[str, Any]], result: Dict[str, Any]) -> Dict[str, Any]:
        """Create the key (POST once, see create), then delete the replaced ones or hand them back."""
        replaced = [old["access_key"] for old in existing]
        if self.params["delete_replaced"]:
            for access_key in replaced:
                self.actions.append("delete replaced key %s (%s)" % (self.params["name"], access_key))
        else:
            result["replaced"] = replaced
        if self.module.check_mode:
            return {}
        created = self.create(existing)
        if self.params["delete_replaced"]:
            for access_key in replaced:
                self.client.delete("%s/%s" % (KEYS, access_key))
        result["secret_key"] = created.get("secret_key")
        return public(created)

    def present(self) -> Dict[str, Any]:
        existing = self.find()
        wanted = norm_grants(self.params["grants"])
        stored = self.params["stored_access_key"]
        kept = next((k for k in existing if stored and k.get("access_key") == stored), None)
        leftovers = self.split_leftovers(existing, kept, wanted)
        if leftovers:
            existing = [kept] if kept else []
        if len(existing) > 1 and not self.params["rotate"] and stored is None:
            self.run.fail(
                "%d Spaces keys are named %s; delete the extra ones or set rotate: true to replace them all"
                % (len(existing), self.params["name"])
            )
        current = kept or (existing[0] if existing else None)
        # A key's grants cannot change: DigitalOcean "can only update the name of the key"
        # (openapi specification/resources/spaces/key_update.yml, key_patch.yml); grants sent with
        # a PUT are not applied. Other grants mean a new key.
        grants_differ = current is not None and norm_grants(current.get("grants")) != wanted
        rotate = bool(existing) and (
            self.params["rotate"]
            or len(existing) > 1
            or grants_differ
            or (stored is not None and stored != (current or {}).get("access_key"))
        )
        result: Dict[str, Any] = {"rotated": rotate, "replaced": []}
        for leftover in leftovers:
            self.actions.append(
                "delete key %s (%s) replaced by a rotation" % (self.params["name"], leftover["access_key"])
            )
            if not self.module.check_mode:
                self.client.delete("%s/%s" % (KEYS, leftover["access_key"]))
        after = {"name": self.params["name"], "access_key": None, "grants": wanted, "created_at": None}
        if current is None or rotate:
            self.actions.append(
                ("rotate key %s" if rotate else "create key %s") % self.params["name"]
                + " with grants %s" % ", ".join("%s:%s" % (g["bucket"] or "*", g["permission"]) for g in wanted)
                + (" (the grants of an existing key cannot change)" if rotate and grants_differ else "")
            )
            after = self.replace(existing, result) or after
        else:
            after = public(current)
        result.update(
            changed=bool(self.actions),
            key=after,
            diff=diff(
                {k: v for k, v in public(current).items() if k in ("name", "grants")} if current else None,
                {k: v for k, v in after.items() if k in ("name", "grants")},
            ),
        )
        return result


def argument_spec() -> Dict[str, Any]:
    spec = digitalocean_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        grants=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                bucket=dict(type="str", required=True),
                permission=dict(type="str", required=True, choices=["read", "readwrite", "fullaccess"]),
            ),
        ),
        rotate=dict(type="bool", default=False),
        delete_replaced=dict(type="bool", default=True),
        stored_access_key=dict(type="str", no_log=False),
    )
    return spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    for grant in module.params["grants"]:
        if grant["permission"] == "fullaccess" and grant["bucket"]:
            module.fail_json(msg="grants: a fullaccess grant applies to every bucket; set its bucket to ''")
        if grant["permission"] != "fullaccess" and not grant["bucket"]:
            module.fail_json(msg="grants: a %s grant needs a bucket name" % grant["permission"])
    if len({g["permission"] == "fullaccess" for g in module.params["grants"]}) > 1:
        # openapi specification/resources/spaces/key_create.yml: "you cannot mix a fullaccess
        # permission with scoped permissions" (400 bad_request).
        module.fail_json(msg="grants: a fullaccess grant cannot be mixed with bucket grants; use one or the other")

    def work(run: Run) -> Dict[str, Any]:
        manager = SpacesKeyManager(run)
        return manager.absent() if module.params["state"] == "absent" else manager.present()

    run_module(module, "doks.gitops/spaces_key", work)


if __name__ == "__main__":
    main()
