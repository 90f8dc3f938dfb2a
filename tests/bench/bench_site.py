"""Benchmark of the whole platform (not a test): ``make bench`` or ``.venv/bin/python -m tests.bench.bench_site``.

On a fresh sandbox of its own (``.cache/sandbox-bench``) it runs ``playbooks/site.yml``:

1. on the default inventory (``inventories/sandbox``, one cluster): first converge, then a no-op re-run;
2. on a fresh sandbox again, on a generated inventory of four clusters (``bench-1`` … ``bench-4``, each
   with its own ``gitops_domain``, the sandbox ``group_vars`` shared) with ``--forks 4``: first
   converge, then a no-op re-run;

each in both delivery modes (``gitops_delivery``): ``helm`` (Ansible installs every chart) and
``argocd`` (every chart an Argo CD Application; with four clusters ``bench-1`` is the hub of the three
others, ``gitops_hub``). In ``argocd`` mode it then deletes a Deployment Argo CD delivered (metrics-server,
on a spoke when there is a hub) and times how long self-heal takes to bring it back, with no run. With
a hub it then adds a fifth cluster to the inventory and runs once more: the new spoke must get the whole
platform in that one run (every component's Application on the hub Synced and Healthy) while the clusters
already there change nothing but the hub's platform project, which admits the new destination.

For each run it measures the wall time, the API requests each emulator answered and the writes among
them (read from the emulators' request logs and, for Kubernetes, from the clusters' resourceVersion),
prints one table with the targets (PASS/MISS) and writes it to ``docs/benchmarks.md`` with the machine
it ran on. A MISS does not fail the command: this is a benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ansible.release import __version__ as ansible_core
from kubernetes import client, config

from tests.e2e.harness import BIN, ROOT, WRITE_METHODS, Sandbox, recap

EMULATORS = ("kubernetes", "artifacts", "auth0", "digitalocean", "spaces")
SHORT = {"kubernetes": "k8s", "artifacts": "artifacts", "auth0": "auth0", "digitalocean": "DO", "spaces": "spaces"}
DEFAULT_STATE = ROOT / ".cache" / "sandbox-bench"
DOC = ROOT / "docs" / "benchmarks.md"
PLAYBOOK = "playbooks/site.yml"
# Targets of issue #12 (request share) and issue #20 (wall times, drift repair).
NOOP_REQUEST_SHARE = 0.40
NOOP_WALL = 20.0
MULTI_WALL_FACTOR = {"first converge": 1.5, "no-op re-run": 1.3}
DRIFT_SECONDS = 10.0
DRIFT_DEPLOYMENT = ("kube-system", "metrics-server")
SLOWEST = 8


@dataclass
class Run:
    """One site.yml run and what the emulators saw of it."""

    clusters: int
    delivery: str
    phase: str
    wall: float
    rc: int
    changed: int
    failed: int
    requests: dict[str, int]
    writes: dict[str, int]
    kube_mutating: int
    cpu_controller: float
    cpu_emulators: float
    load: float
    kube_by_client: dict[str, int] = field(default_factory=dict)
    slowest: list[tuple[str, float]] = field(default_factory=list)
    drift: float | None = None
    # the run that added a cluster: the new cluster's Applications on the hub (name -> sync/health)
    # and the changed count of each host
    added: dict[str, str] = field(default_factory=dict)
    reference: int = 0  # how many Applications a spoke that was already there has
    changed_by_host: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.clusters} cluster{'s' if self.clusters > 1 else ''}, {self.delivery}"

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def total_writes(self) -> int:
        return sum(self.writes.values())

    @property
    def cpu_floor(self) -> float:
        """The least wall time the measured CPU time allows on this machine's cores."""
        return (self.cpu_controller + self.cpu_emulators) / (os.cpu_count() or 1)


# ---------------------------------------------------------------- measuring


def cluster_version(kubeconfig: Path) -> int:
    """The cluster-wide resourceVersion (moves with every write to any object); 1 before the cluster exists."""
    if not kubeconfig.is_file():
        return 1
    api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    return int(api.list_namespace(limit=1).metadata.resource_version)


def is_write(emulator: str, entry: dict[str, Any]) -> bool:
    """A request that succeeded and can change state; Auth0's token endpoint only reads."""
    if entry["method"] not in WRITE_METHODS or not 0 < entry["status"] < 400:
        return False
    return not (emulator == "auth0" and entry["path"] == "/oauth/token")


def kube_clients(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Kubernetes requests by client (User-Agent product) and method, most first."""
    counts = Counter(f"{(e.get('user_agent') or '?').split('/')[0]} {e['method']}" for e in entries)
    return dict(counts.most_common())


def slowest_tasks(output: str) -> list[tuple[str, float]]:
    """The profile_tasks summary (ansible.cfg enables it): task name and seconds, slowest first."""
    found = [(name.strip(), float(secs)) for name, secs in re.findall(r"^(.+?) -{3,} (\d+\.\d+)s$", output, re.M)]
    return sorted(found, key=lambda item: -item[1])[:SLOWEST]


def children_cpu() -> float:
    """CPU seconds of every finished child process (ansible-playbook, its forks, modules, helm)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def emulators_cpu(state: Path) -> float:
    """CPU seconds of the sandbox process (all emulators run in it), from /proc."""
    pid = (state / "sandbox.pid").read_text().strip()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(box: Sandbox, hosts: list[str], phase: str, inventory: str, delivery: str, extra: list[str]) -> Run:
    kubeconfigs = [box.state / f"{host}.kubeconfig" for host in hosts]
    before = sum(cluster_version(path) for path in kubeconfigs)
    marks = box.log_marks()
    load = os.getloadavg()[0]
    cpu = (children_cpu(), emulators_cpu(box.state))
    started = time.monotonic()
    rc, out = box.playbook(PLAYBOOK, "--forks", str(len(hosts)), *extra, inventory=inventory)
    wall = time.monotonic() - started
    cpu_controller, cpu_emulators = children_cpu() - cpu[0], emulators_cpu(box.state) - cpu[1]
    log = box.requests_since(marks)
    after = sum(cluster_version(path) for path in kubeconfigs)
    totals = recap(out)
    log_file = box.state / f"site-{len(hosts)}-{delivery}-{phase.split(maxsplit=1)[0]}.log"
    log_file.write_text(out)
    log_file.with_suffix(".requests.json").write_text(json.dumps(log))
    if rc != 0:
        print(f"    site.yml failed; its output is in {log_file}")
    requests = {name: len(log.get(name, [])) for name in EMULATORS}
    writes = {name: sum(is_write(name, e) for e in log.get(name, [])) for name in EMULATORS}
    kube_mutating = writes["kubernetes"]
    writes["kubernetes"] = after - before
    return Run(
        clusters=len(hosts),
        delivery=delivery,
        phase=phase,
        wall=wall,
        rc=rc,
        changed=sum(totals.get(host, {}).get("changed", 0) for host in hosts),
        changed_by_host={host: totals.get(host, {}).get("changed", 0) for host in hosts},
        failed=sum(
            totals.get(host, {}).get("failed", 0) + totals.get(host, {}).get("unreachable", 0) for host in hosts
        ),
        requests=requests,
        writes=writes,
        kube_mutating=kube_mutating,
        cpu_controller=cpu_controller,
        cpu_emulators=cpu_emulators,
        load=load,
        kube_by_client=kube_clients(log.get("kubernetes", [])),
        slowest=slowest_tasks(out),
    )


def write_inventory(state: Path, hosts: list[str]) -> Path:
    """An inventory of several clusters that shares inventories/sandbox's group_vars (not committed)."""
    directory = state / "inventory-bench"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    (directory / "group_vars").symlink_to(ROOT / "inventories" / "sandbox" / "group_vars")
    hostvars = {
        host: {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "gitops_domain": f"{host}.sandbox.example.com",
        }
        for host in hosts
    }
    (directory / "hosts.yml").write_text(
        "# Generated by tests/bench/bench_site.py: several clusters on one sandbox.\n"
        + yaml.safe_dump({"clusters": {"hosts": hostvars}}, sort_keys=False)
    )
    return directory


def drift_repair(kubeconfig: Path, timeout: float = 60.0) -> float | None:
    """Delete the Deployment Argo CD delivered and return the seconds until it exists again (None: never)."""
    apps = client.AppsV1Api(config.new_client_from_config(str(kubeconfig)))
    namespace, name = DRIFT_DEPLOYMENT
    old = apps.read_namespaced_deployment(name, namespace).metadata.uid
    apps.delete_namespaced_deployment(name, namespace)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if apps.read_namespaced_deployment(name, namespace).metadata.uid != old:
                return time.monotonic() - started
        except client.ApiException as error:
            if error.status != 404:
                raise
        time.sleep(0.2)
    return None


def scenario(box: Sandbox, clusters: int, delivery: str) -> list[Run]:
    box.restart_empty()
    if clusters == 1:
        hosts, inventory = ["sandbox-1"], "inventories/sandbox"
    else:
        hosts = [f"bench-{i}" for i in range(1, clusters + 1)]
        inventory = str(write_inventory(box.state, hosts))
    # the mode always named: the default (argocd) is not assumed
    extra = [
        "-e",
        json.dumps(
            {"gitops_delivery": delivery} | ({"gitops_hub": hosts[0]} if clusters > 1 and delivery == "argocd" else {})
        ),
    ]
    runs = []
    for phase in ("first converge", "no-op re-run"):
        print(f"--- {clusters} cluster(s), {delivery}: {phase}", flush=True)
        run = measure(box, hosts, phase, inventory, delivery, extra)
        print(f"    {run.wall:.1f} s, rc={run.rc}, changed={run.changed}, requests={run.total_requests}", flush=True)
        runs.append(run)
    if delivery == "argocd" and runs[-1].rc == 0:
        runs[-1].drift = drift_repair(box.state / f"{hosts[-1]}.kubeconfig")
        print(f"    drift repaired in {runs[-1].drift} s", flush=True)
    if delivery == "argocd" and clusters > 1 and runs[-1].rc == 0:
        runs.append(add_cluster(box, hosts, extra))
    return runs


def hub_applications(kubeconfig: Path, cluster: str) -> dict[str, str]:
    """The Applications the hub's ApplicationSets generated for one cluster: name -> "sync/health"."""
    api = client.CustomObjectsApi(config.new_client_from_config(str(kubeconfig)))
    found = api.list_namespaced_custom_object("argoproj.io", "v1alpha1", "argocd", "applications")["items"]
    return {
        app["metadata"]["name"]: "{}/{}".format(
            app.get("status", {}).get("sync", {}).get("status", "?"),
            app.get("status", {}).get("health", {}).get("status", "?"),
        )
        for app in found
        if app["spec"].get("destination", {}).get("name") == cluster
    }


def add_cluster(box: Sandbox, hosts: list[str], extra: list[str]) -> Run:
    """Add one cluster to the hub's inventory and run site.yml once (issue 20: a cluster added to the
    inventory gets the whole platform in one run)."""
    added = f"bench-{len(hosts) + 1}"
    inventory = str(write_inventory(box.state, [*hosts, added]))
    print(f"--- {len(hosts) + 1} cluster(s), argocd: {added} added to the inventory", flush=True)
    run = measure(box, [*hosts, added], "cluster added", inventory, "argocd", extra)
    run.added = hub_applications(box.state / f"{hosts[0]}.kubeconfig", added)
    run.reference = len(hub_applications(box.state / f"{hosts[0]}.kubeconfig", hosts[1]))
    print(
        f"    {run.wall:.1f} s, rc={run.rc}, changed by host={run.changed_by_host}; "
        f"{added}: {len(run.added)} Applications (a spoke already there has {run.reference}): {run.added}",
        flush=True,
    )
    return run


# ---------------------------------------------------------------- reporting


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "?",
    )
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    os_release = dict(
        line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line
    ).get("PRETTY_NAME", platform.platform())
    helm = subprocess.run(
        [str(ROOT / ".tools" / "bin" / "helm"), "version", "--template", "{{.Version}}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "CPU": f"{cpu} x {os.cpu_count()}",
        "RAM": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "OS": f"{os_release.strip(chr(34))} (kernel {platform.release()})",
        "Python": platform.python_version(),
        "ansible-core": ansible_core,
        "helm": helm or "?",
        "Date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(runs: list[Run]) -> list[str]:
    head = ["Scenario", "Wall (s)", "Changed"]
    head += [f"{SHORT[n]} req / wr" for n in EMULATORS] + ["Total req / wr", "k8s mutating req"]
    head += ["CPU ansible (s)", "CPU emulators (s)", "CPU floor (s)", "Load at start"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "--:|" * (len(head) - 1)]
    for run in runs:
        cells = [f"{run.label}, {run.phase}", f"{run.wall:.1f}"]
        cells.append(str(run.changed) + ("" if run.rc == 0 else f" (rc={run.rc}, failed={run.failed})"))
        cells += [f"{run.requests[n]} / {run.writes[n]}" for n in EMULATORS]
        cells += [f"{run.total_requests} / {run.total_writes}", str(run.kube_mutating)]
        cells += [f"{run.cpu_controller:.0f}", f"{run.cpu_emulators:.0f}", f"{run.cpu_floor:.0f}", f"{run.load:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def ratios(runs: list[Run]) -> tuple[list[str], list[tuple[str, bool]]]:
    by = {(r.clusters, r.delivery, r.phase): r for r in runs}
    lines = ["| Ratio | Value | Target | Result |", "|---|---|---|---|"]
    targets: list[tuple[str, bool]] = []

    def row(name: str, value: str, target: str, ok: bool | None) -> None:
        lines.append(f"| {name} | {value} | {target} | {'—' if ok is None else verdict(ok)} |")
        if ok is not None:
            targets.append((name, ok))

    for added in (r for r in runs if r.phase == "cluster added"):
        delivered = sum(state == "Synced/Healthy" for state in added.added.values())
        row(
            f"{added.label}: the added cluster's Applications Synced/Healthy after one run",
            f"{delivered} of {added.reference} (as a spoke already there)",
            "all",
            added.rc == 0 and delivered == added.reference > 0,
        )
        others = {h: n for h, n in added.changed_by_host.items() if h != f"bench-{added.clusters}"}
        row(
            f"{added.label}: changed on the clusters already there",
            ", ".join(f"{h} {n}" for h, n in others.items()),
            "hub 1 (its project), spokes 0",
            all(n == (1 if h == "bench-1" else 0) for h, n in others.items()),
        )
    for clusters, delivery in sorted({(r.clusters, r.delivery) for r in runs if r.phase != "cluster added"}):
        first, noop = by[(clusters, delivery, "first converge")], by[(clusters, delivery, "no-op re-run")]
        share = noop.total_requests / max(first.total_requests, 1)
        label = noop.label
        row(
            f"{label}: no-op / first requests",
            f"{share:.0%}",
            f"≤ {NOOP_REQUEST_SHARE:.0%}",
            share <= NOOP_REQUEST_SHARE,
        )
        row(f"{label}: no-op writes", str(noop.total_writes), "0", noop.total_writes == 0 and noop.rc == 0)
        row(f"{label}: no-op / first wall", f"{noop.wall / first.wall:.2f}", "—", None)
        if clusters == 1:
            row(f"{label}: no-op wall", f"{noop.wall:.1f} s", f"≤ {NOOP_WALL:.0f} s", noop.wall <= NOOP_WALL)
        if delivery == "argocd":
            seconds = "not repaired" if noop.drift is None else f"{noop.drift:.1f} s"
            ok = noop.drift is not None and noop.drift <= DRIFT_SECONDS
            row(f"{label}: deleted Deployment back, no run", seconds, f"≤ {DRIFT_SECONDS:.0f} s", ok)
        if clusters == 1:
            continue
        for phase, limit in MULTI_WALL_FACTOR.items():
            one = by.get((1, delivery, phase))
            if one is None:
                continue
            factor = by[(clusters, delivery, phase)].wall / one.wall
            row(f"{clusters} / 1 clusters wall, {delivery}, {phase}", f"{factor:.2f}x", f"≤ {limit}x", factor <= limit)
            floor = by[(clusters, delivery, phase)].cpu_floor / one.wall
            row(f"{clusters} clusters CPU floor / 1 cluster wall, {delivery}, {phase}", f"{floor:.2f}x", "—", None)
    return lines, targets


def clients_section(runs: list[Run]) -> list[str]:
    lines = []
    for run in runs:
        parts = ", ".join(f"{name} {count}" for name, count in run.kube_by_client.items())
        lines.append(f"- {run.label}, {run.phase}: {parts}")
    return lines


def slowest_section(runs: list[Run]) -> list[str]:
    lines = []
    for run in runs:
        lines.append(f"- {run.label}, {run.phase}: " + "; ".join(f"{n} {s:.1f}s" for n, s in run.slowest))
    return lines


NOTES = """\
How it counts:

- **Wall** is the whole `ansible-playbook` process, start to exit. The four-cluster runs use a
  generated inventory (hosts `bench-1` … `bench-4`, each with its own `gitops_domain`, sharing
  `inventories/sandbox/group_vars`) with `--forks 4`.
- **Req** is every request an emulator answered during the run (its request log,
  `/_sandbox/requests?since=SEQ`), reads and writes, including Auth0 token requests, Kubernetes
  watches and the artifact server's chart and release downloads.
- **Wr** (DigitalOcean, Spaces, Auth0, artifacts) counts POST/PUT/PATCH/DELETE answered with a
  status below 400; Auth0's `POST /oauth/token` gets a token and writes nothing, so it is not counted.
- **Wr k8s** is the number of object revisions the clusters stored: the sum over clusters of the
  cluster-wide resourceVersion (`GET /api/v1/namespaces?limit=1`) after the run minus before. It
  moves by one for every object created, changed or deleted, by the playbook or by the emulated
  controllers (ReplicaSets, Pods, status). A cluster created during the run counts from its first
  revision, so its bootstrap objects (nodes, default namespaces) are included. A server-side apply
  that changes nothing is a successful PATCH that stores nothing, so it is not a write here; such
  requests are in **k8s mutating req** (successful POST/PUT/PATCH/DELETE to the Kubernetes API).
- **CPU ansible** is the CPU time (user + system) of `ansible-playbook` and everything it ran
  (forks, modules, helm, kubectl); **CPU emulators** that of the sandbox process, where all the
  emulators run (one Python process); **Load at start** the 1-minute load average when the run
  began (the machine may be shared: a load above the core count means the wall times are inflated).
  **CPU floor** is (CPU ansible + CPU emulators) / cores: no run can take less wall time on this machine.

Reading a MISS:

- **4 / 1 clusters wall**: compare it with the row "CPU floor / 1 cluster wall" below it. One
  cluster's converge is sequential and keeps about one core busy (a module process per task and
  host, helm, the emulators); four clusters in parallel keep every core busy, so when the four
  clusters' CPU floor is already well above the one cluster's wall, no scheduling meets the target on
  this machine: only more cores or less CPU per cluster and task can.
- **no-op / first requests**: see the Kubernetes requests by client below. Nearly all of a no-op's
  requests come from the kubernetes.core modules, which read every object they manage: `k8s` with
  `apply: true` reads an unchanged object three times (its lookup, the apply's own read, a re-read
  when there is nothing to patch) and once more with `wait: true`; `k8s` without `apply` sends a
  merge PATCH the server finds unchanged (in "k8s mutating req", not a write). A first converge
  costs about as many requests per object (two reads that find nothing, a create, a wait), so
  object-by-object applies keep the ratio near one half; Helm releases cost far fewer requests
  in a no-op than when they install. `doks.gitops.k8s_apply_changed` (the Tekton release files,
  about 127 objects a cluster) reads each kind once with a LIST and applies only the objects that
  are missing or differ, so an unchanged file costs a few LISTs instead of four reads an object.
"""


def render(runs: list[Run], info: dict[str, str]) -> tuple[str, list[tuple[str, bool]]]:
    ratio_lines, targets = ratios(runs)
    parts = [
        "# Benchmarks",
        "",
        "<!-- Generated by `make bench` (tests/bench/bench_site.py); rerun it to regenerate. -->",
        "",
        "`make bench` measures `playbooks/site.yml` on a fresh sandbox, in one run: the first converge and "
        "the no-op re-run of one cluster (`inventories/sandbox`), then of four clusters in one inventory, "
        "in both delivery modes (`gitops_delivery: helm`, then `argocd` with `bench-1` as the hub of four).",
        "",
        *table(runs),
        "",
        *ratio_lines,
        "",
        NOTES,
        "Kubernetes requests by client (User-Agent: `OpenAPI-Generator` is the Python client in the "
        "kubernetes.core modules, `Helm` is helm) and method:",
        "",
        *clients_section(runs),
        "",
        "Slowest tasks of each run (`ansible.posix.profile_tasks`):",
        "",
        *slowest_section(runs),
        "",
        "Machine:",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        "",
    ]
    return "\n".join(parts), targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    parser.add_argument("--clusters", type=int, nargs="+", default=[1, 4], help="scenarios to run (default: 1 4)")
    parser.add_argument(
        "--delivery", nargs="+", default=["helm", "argocd"], choices=["helm", "argocd"], help="modes (default: both)"
    )
    parser.add_argument("--output", type=Path, default=DOC, help="markdown file to write ('-' for none)")
    args = parser.parse_args(argv)
    box = Sandbox(args.state_dir.resolve())
    box.state.mkdir(parents=True, exist_ok=True)
    os.environ["PATH"] = f"{ROOT / '.tools' / 'bin'}:{BIN}:{os.environ.get('PATH', '')}"
    runs: list[Run] = []
    try:
        for delivery in args.delivery:
            for clusters in args.clusters:
                runs += scenario(box, clusters, delivery)
    finally:
        box.cli("down")
    text, targets = render(runs, machine())
    print()
    print(text)
    for name, ok in targets:
        print(f"{verdict(ok)}  {name}")
    if str(args.output) != "-":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(f"written to {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 0 if all(run.rc == 0 for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
