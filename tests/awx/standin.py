"""A small stand-in for the AWX API v2 the awx.awx modules call, on the sandbox core.

Generic resources with the list/detail conventions of AWX (``count``/``next``/``results``,
``id``/``url``/``type``/``related``), Django-style filters (``field=``, ``field__startswith=``,
``or__field=``), the ``survey_spec`` and ``credentials`` sub-resources of job templates, and
secret credential inputs returned as ``$encrypted$`` as AWX does. Enough to run
``playbooks/awx_configure.yml`` for real and inspect what it created.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.server import Emulator, HTTPError, Request, Response

RESOURCES = {
    "organizations": "organization",
    "credential_types": "credential_type",
    "credentials": "credential",
    "execution_environments": "execution_environment",
    "projects": "project",
    "inventories": "inventory",
    "inventory_sources": "inventory_source",
    "job_templates": "job_template",
    "instance_groups": "instance_group",
    "labels": "label",
}
PREFIX = "/api/v2/"
NOTIFY = ("notification_templates_started", "notification_templates_success", "notification_templates_error")
RELATED = {
    "job_templates": ("survey_spec", "credentials", "labels", "instance_groups", *NOTIFY),
    "projects": NOTIFY,
    "inventory_sources": NOTIFY,
    "inventories": ("instance_groups",),
}
DETAIL = re.compile(r"^(?P<res>[a-z_]+)/(?:(?P<id>\d+)/(?:(?P<sub>[a-z_]+)/)?)?$")


class AwxStandin(Emulator):
    name = "awx"

    def _db(self) -> dict[str, Any]:
        data = self.store.data
        if "objects" not in data:
            data["objects"] = {res: {} for res in RESOURCES}
            data["next_id"] = 1
            data["surveys"] = {}
            data["jt_credentials"] = {}
            self._insert("organizations", {"name": "Default", "description": ""})
        return data

    def _insert(self, res: str, body: dict[str, Any]) -> dict[str, Any]:
        data = self.store.data
        oid = data["next_id"]
        data["next_id"] += 1
        url = f"{PREFIX}{res}/{oid}/"
        related = {sub: f"{url}{sub}/" for sub in RELATED.get(res, ())}
        obj = {**body, "id": oid, "type": RESOURCES[res], "url": url, "related": related}
        obj["summary_fields"] = {}
        data["objects"][res][str(oid)] = obj
        self.store.touch()
        return obj

    def error(self, status: int, message: str, **extra: Any) -> Response:
        return Response(status, {"detail": message})

    def handle(self, request: Request) -> Response:
        if not request.path.startswith(PREFIX):
            raise HTTPError(404, "Not found.")
        if request.bearer() != self.ctx.settings.get("token", "awx-token"):
            raise HTTPError(401, "Authentication credentials were not provided.")
        db = self._db()
        match = DETAIL.match(request.path[len(PREFIX) :])
        if request.path == PREFIX + "ping/":
            return self._ok({"version": "24.6.1", "active_node": "awx-1"})
        if not match or match["res"] not in RESOURCES:
            raise HTTPError(404, "Not found.")
        res, oid, sub = match["res"], match["id"], match["sub"]
        if oid is None:
            return self._collection(db, res, request)
        obj = db["objects"][res].get(oid)
        if obj is None:
            raise HTTPError(404, "Not found.")
        if sub:
            return self._sub(db, res, obj, sub, request)
        return self._detail(db, res, obj, request)

    def _ok(self, body: Any, status: int = 200) -> Response:
        return Response(status, body, headers={"X-API-Product-Name": "AWX", "X-API-Product-Version": "24.6.1"})

    def _collection(self, db: dict[str, Any], res: str, request: Request) -> Response:
        if request.method == "POST":
            body = request.json() or {}
            if any(o.get("name") == body.get("name") for o in db["objects"][res].values()):
                raise HTTPError(400, f"{RESOURCES[res]} with this name already exists.")
            obj = self._insert(res, body)
            self._mark_secrets()
            return self._ok(self._public(res, obj), 201)
        items = [self._public(res, o) for o in db["objects"][res].values() if self._matches(o, request.query)]
        return self._ok({"count": len(items), "next": None, "previous": None, "results": items})

    @staticmethod
    def _matches(obj: dict[str, Any], query: dict[str, list[str]]) -> bool:
        ors = []
        for key, values in query.items():
            if key in {"page", "page_size", "order_by"}:
                continue
            value = values[-1]
            field, _, op = key.removeprefix("or__").partition("__")
            actual = str(obj.get(field, ""))
            hit = actual.startswith(value) if op == "startswith" else actual == value
            if key.startswith("or__"):
                ors.append(hit)
            elif not hit:
                return False
        return not ors or any(ors)

    @staticmethod
    def _public(res: str, obj: dict[str, Any]) -> dict[str, Any]:
        if res != "credentials":
            return obj
        return {
            **obj,
            "inputs": {k: ("$encrypted$" if k in obj.get("_secret", []) else v) for k, v in obj["inputs"].items()},
        }

    def _detail(self, db: dict[str, Any], res: str, obj: dict[str, Any], request: Request) -> Response:
        if request.method == "GET":
            return self._ok(self._public(res, obj))
        if request.method == "PATCH":
            obj.update(request.json() or {})
            self._mark_secrets()
            self.store.touch()
            return self._ok(self._public(res, obj))
        if request.method == "DELETE":
            del db["objects"][res][str(obj["id"])]
            self.store.touch()
            return Response(204)
        raise HTTPError(405, f'Method "{request.method}" not allowed.')

    def _sub(self, db: dict[str, Any], res: str, obj: dict[str, Any], sub: str, request: Request) -> Response:
        key = str(obj["id"])
        if res == "job_templates" and sub == "survey_spec":
            if request.method == "POST":
                db["surveys"][key] = request.json()
                self.store.touch()
            return self._ok(db["surveys"].get(key, {}))
        if res == "job_templates" and sub == "credentials":
            attached = db["jt_credentials"].setdefault(key, [])
            if request.method == "POST":
                body = request.json() or {}
                if body.get("disassociate"):
                    attached.remove(body["id"])
                elif body["id"] not in attached:
                    attached.append(body["id"])
                self.store.touch()
                return Response(204)
            items = [db["objects"]["credentials"][str(i)] for i in attached]
            return self._ok({"count": len(items), "next": None, "previous": None, "results": items})
        if sub in {"labels", "instance_groups"} or sub.startswith("notification_templates_"):
            return self._ok({"count": 0, "next": None, "previous": None, "results": []})
        raise HTTPError(404, "Not found.")

    def _mark_secrets(self) -> None:
        """Credential inputs whose credential type declares them secret read back encrypted."""
        db = self._db()
        types = db["objects"]["credential_types"]
        for cred in db["objects"]["credentials"].values():
            ctype = types.get(str(cred.get("credential_type")), {})
            fields = (ctype.get("inputs") or {}).get("fields", [])
            cred["_secret"] = [f["id"] for f in fields if f.get("secret")]
