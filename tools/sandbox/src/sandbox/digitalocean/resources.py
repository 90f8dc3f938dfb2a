"""Spaces access keys, domains with records, projects with resources."""

from __future__ import annotations

import re
import secrets
import string
import uuid
from typing import TYPE_CHECKING, Any

from sandbox.digitalocean.common import body_of, iso, paginate
from sandbox.server import HTTPError, Request, Response

if TYPE_CHECKING:
    from sandbox.digitalocean import DigitalOceanEmulator

PERMISSIONS = ("read", "readwrite", "fullaccess", "")
RECORD_TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
NOT_FOUND = "The resource you were accessing could not be found."


class _Api:
    def __init__(self, emu: DigitalOceanEmulator) -> None:
        self.emu = emu

    def _save(self) -> None:
        self.emu.store.touch()


# ---------------------------------------------------------------------- Spaces keys
class SpacesKeysApi(_Api):
    def routes(self) -> list[tuple[str, str, Any]]:
        key = r"/v2/spaces/keys/([^/]+)"
        return [
            ("GET", r"/v2/spaces/keys", self.list),
            ("POST", r"/v2/spaces/keys", self.create),
            ("GET", key, self.get),
            ("PUT", key, self.update),
            ("PATCH", key, self.patch),
            ("DELETE", key, self.delete),
        ]

    @property
    def keys(self) -> dict[str, dict[str, Any]]:
        return self.emu.data["spaces_keys"]

    def _key(self, access_key: str) -> dict[str, Any]:
        if access_key not in self.keys:
            raise HTTPError(404, NOT_FOUND)
        return self.keys[access_key]

    @staticmethod
    def _grants(value: Any) -> list[dict[str, str]]:
        """Grants per specification/resources/spaces/models/grant.yml (``bucket`` and ``permission``
        required; "Possible values are `read`, `readwrite`, `fullaccess`, or an empty string").
        A refusal is the endpoints' documented 400 (responses/bad_request.yml)."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise HTTPError(400, "grants must be an array")
        grants = []
        for grant in value:
            if not isinstance(grant, dict) or "bucket" not in grant or grant.get("permission") not in PERMISSIONS:
                raise HTTPError(400, f"every grant needs a bucket and a permission in {', '.join(PERMISSIONS[:3])}")
            if grant["permission"] == "fullaccess" and grant["bucket"] != "":
                raise HTTPError(400, "fullaccess applies to all buckets: its bucket must be empty")
            grants.append({"bucket": str(grant["bucket"]), "permission": grant["permission"]})
        # key_create.yml: "At the moment, you cannot mix a fullaccess permission with scoped
        # permissions."; responses/bad_request.yml: 400 bad_request "cannot mix fullaccess
        # permission with scoped permissions."
        kinds = {g["permission"] == "fullaccess" for g in grants if g["permission"]}
        if len(kinds) > 1:
            raise HTTPError(400, "cannot mix fullaccess permission with scoped permissions.")
        return grants

    @staticmethod
    def _public(key: dict[str, Any]) -> dict[str, Any]:
        return {k: key[k] for k in ("name", "access_key", "grants", "created_at")}

    def list(self, request: Request) -> Response:
        items = sorted(self.keys.values(), key=lambda k: k["created_at"], reverse=True)
        name, bucket, permission = request.arg("name"), request.arg("bucket"), request.arg("permission")
        if name:
            items = [k for k in items if k["name"] == name]
        if bucket:
            items = [k for k in items if any(g["bucket"] == bucket for g in k["grants"])]
        if permission:
            items = [k for k in items if any(g["permission"] == permission for g in k["grants"])]
        return paginate(request, "keys", [self._public(k) for k in items])

    def create(self, request: Request) -> Response:
        body = body_of(request)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise HTTPError(400, "name is required")
        grants = self._grants(body.get("grants"))
        alphabet = string.ascii_uppercase + string.digits
        access_key = "DO" + "".join(secrets.choice(alphabet) for _i in range(18))
        key = {
            "name": name,
            "access_key": access_key,
            "grants": grants,
            "created_at": iso(self.emu.now()),
            "_secret_key": secrets.token_urlsafe(32)[:43],
        }
        self.keys[access_key] = key
        self._save()
        return Response(201, {"key": {**self._public(key), "secret_key": key["_secret_key"]}})

    def get(self, request: Request, access_key: str) -> Response:
        return Response(200, {"key": self._public(self._key(access_key))})

    def update(self, request: Request, access_key: str, *, partial: bool = False) -> Response:
        """PUT/PATCH: only the name changes; ``grants`` in the body are not applied.

        DigitalOcean's spec (github.com/digitalocean/openapi, ``specification/resources/spaces/
        key_update.yml`` and ``key_patch.yml``): "At the moment, you cannot convert a fullaccess key
        to a scoped key or vice versa. You can only update the name of the key." The request body
        schema is the whole ``models/key.yml`` (so ``grants`` is not refused), and the documented
        answer to a name-only update keeps the key's grants (``responses/key_update.yml``). So
        grants sent here are ignored and the key keeps the grants it was created with.
        """
        key = self._key(access_key)
        body = body_of(request)
        if ("name" in body or not partial) and (not isinstance(body.get("name"), str) or not body["name"]):
            raise HTTPError(400, "name is required")
        if "grants" in body:
            self._grants(body["grants"])  # still a well-formed body, as the schema requires
        if "name" in body:
            key["name"] = body["name"]
        self._save()
        return Response(200, {"key": self._public(key)})

    def patch(self, request: Request, access_key: str) -> Response:
        return self.update(request, access_key, partial=True)

    def delete(self, request: Request, access_key: str) -> Response:
        self._key(access_key)
        del self.keys[access_key]
        self._save()
        return Response(204, None)


# ---------------------------------------------------------------------- domains
class DomainsApi(_Api):
    def routes(self) -> list[tuple[str, str, Any]]:
        domain = r"/v2/domains/([^/]+)"
        record = domain + r"/records/([^/]+)"
        return [
            ("GET", r"/v2/domains", self.list),
            ("POST", r"/v2/domains", self.create),
            ("GET", domain, self.get),
            ("DELETE", domain, self.delete),
            ("GET", domain + "/records", self.list_records),
            ("POST", domain + "/records", self.create_record),
            ("GET", record, self.get_record),
            ("PUT", record, self.update_record),
            ("PATCH", record, self.update_record),
            ("DELETE", record, self.delete_record),
        ]

    @property
    def domains(self) -> dict[str, dict[str, Any]]:
        return self.emu.data["domains"]

    def _domain(self, name: str) -> dict[str, Any]:
        if name not in self.domains:
            raise HTTPError(404, NOT_FOUND)
        return self.domains[name]

    def _zone_file(self, domain: dict[str, Any]) -> str:
        lines = [f"$ORIGIN {domain['name']}.", f"$TTL {domain['ttl']}"]
        for record in domain["_records"]:
            lines.append(f"{record['name']}\t{record['ttl']}\tIN\t{record['type']}\t{record['data']}")
        return "\n".join(lines) + "\n"

    def _public(self, domain: dict[str, Any]) -> dict[str, Any]:
        return {"name": domain["name"], "ttl": domain["ttl"], "zone_file": self._zone_file(domain)}

    def list(self, request: Request) -> Response:
        items = [self._public(self.domains[n]) for n in sorted(self.domains)]
        return paginate(request, "domains", items)

    def create(self, request: Request) -> Response:
        body = body_of(request)
        name = str(body.get("name") or "").lower().rstrip(".")
        if not DOMAIN_RE.match(name):
            raise HTTPError(422, "name is invalid: it must be a fully qualified domain name")
        if name in self.domains:
            raise HTTPError(422, f"{name} already exists")
        domain: dict[str, Any] = {"name": name, "ttl": 1800, "_records": [], "_next": 1}
        for ns in ("ns1.digitalocean.com.", "ns2.digitalocean.com.", "ns3.digitalocean.com."):
            self._add(domain, {"type": "NS", "name": "@", "data": ns, "ttl": 1800})
        self._add(domain, {"type": "SOA", "name": "@", "data": "1800", "ttl": 1800})
        if body.get("ip_address"):
            self._add(domain, {"type": "A", "name": "@", "data": body["ip_address"], "ttl": 1800})
        self.domains[name] = domain
        self._save()
        return Response(201, {"domain": {"name": name, "ttl": None, "zone_file": None}})

    def get(self, request: Request, name: str) -> Response:
        return Response(200, {"domain": self._public(self._domain(name))})

    def delete(self, request: Request, name: str) -> Response:
        self._domain(name)
        del self.domains[name]
        self._save()
        return Response(204, None)

    @staticmethod
    def _add(domain: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        record = {
            "id": 100000000 + domain["_next"],
            "type": spec["type"],
            "name": spec.get("name") or "@",
            "data": str(spec.get("data", "")),
            "priority": spec.get("priority"),
            "port": spec.get("port"),
            "ttl": int(spec.get("ttl") or 1800),
            "weight": spec.get("weight"),
            "flags": spec.get("flags"),
            "tag": spec.get("tag"),
        }
        domain["_next"] += 1
        domain["_records"].append(record)
        return record

    def _record(self, domain: dict[str, Any], record_id: str) -> dict[str, Any]:
        for record in domain["_records"]:
            if str(record["id"]) == record_id:
                return record
        raise HTTPError(404, NOT_FOUND)

    def list_records(self, request: Request, name: str) -> Response:
        records = self._domain(name)["_records"]
        rtype, rname = request.arg("type"), request.arg("name")
        if rtype:
            records = [r for r in records if r["type"] == rtype]
        if rname:
            short = rname.removesuffix("." + name) if rname != name else "@"
            records = [r for r in records if r["name"] == short]
        return paginate(request, "domain_records", [dict(r) for r in records])

    @staticmethod
    def _check_record(spec: dict[str, Any]) -> None:
        if spec.get("type") not in RECORD_TYPES:
            raise HTTPError(422, f"type must be one of {', '.join(RECORD_TYPES)}")
        if spec["type"] != "SOA" and not spec.get("data"):
            raise HTTPError(422, "data is required")
        if spec["type"] in ("MX", "SRV") and spec.get("priority") is None:
            raise HTTPError(422, "priority is required for MX and SRV records")

    def create_record(self, request: Request, name: str) -> Response:
        domain = self._domain(name)
        body = body_of(request)
        self._check_record(body)
        record = self._add(domain, body)
        self._save()
        return Response(201, {"domain_record": dict(record)})

    def get_record(self, request: Request, name: str, record_id: str) -> Response:
        return Response(200, {"domain_record": dict(self._record(self._domain(name), record_id))})

    def update_record(self, request: Request, name: str, record_id: str) -> Response:
        record = self._record(self._domain(name), record_id)
        body = body_of(request)
        merged = {**record, **{k: v for k, v in body.items() if k in record and k != "id"}}
        self._check_record(merged)
        record.update(merged)
        self._save()
        return Response(200, {"domain_record": dict(record)})

    def delete_record(self, request: Request, name: str, record_id: str) -> Response:
        domain = self._domain(name)
        domain["_records"].remove(self._record(domain, record_id))
        self._save()
        return Response(204, None)


# ---------------------------------------------------------------------- projects
class ProjectsApi(_Api):
    def routes(self) -> list[tuple[str, str, Any]]:
        project = r"/v2/projects/([^/]+)"
        return [
            ("GET", r"/v2/projects", self.list),
            ("POST", r"/v2/projects", self.create),
            ("GET", project, self.get),
            ("PUT", project, self.update),
            ("PATCH", project, self.update),
            ("DELETE", project, self.delete),
            ("GET", project + "/resources", self.list_resources),
            ("POST", project + "/resources", self.assign),
        ]

    @property
    def projects(self) -> dict[str, dict[str, Any]]:
        projects = self.emu.data["projects"]
        if not projects:
            now = iso(self.emu.now())
            pid = str(uuid.uuid4())
            projects[pid] = {
                "id": pid,
                "owner_uuid": self.emu.data["account_uuid"],
                "owner_id": 1,
                "name": "Default",
                "description": "Default project",
                "purpose": "Just trying out DigitalOcean",
                "environment": "Development",
                "is_default": True,
                "created_at": now,
                "updated_at": now,
                "_resources": [],
            }
            self._save()
        return projects

    def default_id(self) -> str:
        return next(p["id"] for p in self.projects.values() if p["is_default"])

    def _project(self, project_id: str) -> dict[str, Any]:
        if project_id == "default":
            return next(p for p in self.projects.values() if p["is_default"])
        if project_id not in self.projects:
            raise HTTPError(404, NOT_FOUND)
        return self.projects[project_id]

    @staticmethod
    def _public(project: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in project.items() if not k.startswith("_")}

    def list(self, request: Request) -> Response:
        items = sorted(self.projects.values(), key=lambda p: p["created_at"])
        return paginate(request, "projects", [self._public(p) for p in items])

    def create(self, request: Request) -> Response:
        body = body_of(request)
        if not body.get("name") or not body.get("purpose"):
            raise HTTPError(422, "name and purpose are required")
        if any(p["name"] == body["name"] for p in self.projects.values()):
            raise HTTPError(409, f"a project named {body['name']!r} already exists")
        now = iso(self.emu.now())
        pid = str(uuid.uuid4())
        project = {
            "id": pid,
            "owner_uuid": self.emu.data["account_uuid"],
            "owner_id": 1,
            "name": body["name"],
            "description": body.get("description", ""),
            "purpose": body["purpose"],
            "environment": body.get("environment", ""),
            "is_default": False,
            "created_at": now,
            "updated_at": now,
            "_resources": [],
        }
        self.projects[pid] = project
        self._save()
        return Response(201, {"project": self._public(project)})

    def get(self, request: Request, project_id: str) -> Response:
        return Response(200, {"project": self._public(self._project(project_id))})

    def update(self, request: Request, project_id: str) -> Response:
        project = self._project(project_id)
        body = body_of(request)
        for key in ("name", "description", "purpose", "environment", "is_default"):
            if key in body:
                project[key] = body[key]
        project["updated_at"] = iso(self.emu.now())
        self._save()
        return Response(200, {"project": self._public(project)})

    def delete(self, request: Request, project_id: str) -> Response:
        project = self._project(project_id)
        if project["is_default"]:
            raise HTTPError(412, "the default project cannot be deleted")
        if project["_resources"]:
            raise HTTPError(412, "only empty projects can be deleted")
        del self.projects[project["id"]]
        self._save()
        return Response(204, None)

    def list_resources(self, request: Request, project_id: str) -> Response:
        return paginate(request, "resources", list(self._project(project_id)["_resources"]))

    def assign(self, request: Request, project_id: str) -> Response:
        project = self._project(project_id)
        urns = body_of(request).get("resources")
        if not isinstance(urns, list) or not all(isinstance(u, str) and u.startswith("do:") for u in urns):
            raise HTTPError(422, "resources must be an array of URNs like do:kubernetes:<id>")
        now = iso(self.emu.now())
        assigned = []
        for urn in urns:
            for other in self.projects.values():
                other["_resources"] = [r for r in other["_resources"] if r["urn"] != urn]
            entry = {
                "urn": urn,
                "assigned_at": now,
                "links": {"self": f"/v2/{urn.split(':')[1]}s/{urn.split(':')[-1]}"},
                "status": "ok",
            }
            project["_resources"].append(entry)
            assigned.append(entry)
        self._save()
        return Response(200, {"resources": assigned})
