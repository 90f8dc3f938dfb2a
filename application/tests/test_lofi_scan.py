"""The pipeline's scan step (Task lofi-scan): Trivy's arguments, the failure threshold, the wiring.

Trivy's interface is transcribed from aquasecurity/trivy at the pinned tag v0.74.0:
``docs/guide/references/configuration/cli/trivy_image.md`` and ``trivy_convert.md`` (every flag of
``trivy image`` and ``trivy convert`` with its type, inherited global flags included, and the allowed
values of ``--format``, ``--severity`` and ``--scanners``), ``docs/guide/target/container_image.md``
"OCI Layout" (``--input /path/to/layout@sha256:<digest>`` selects the manifest by digest;
``pkg/fanal/image/oci.go`` ``tryOCI`` cuts at ``@`` and fails with "invalid OCI image ref" when no
manifest has that digest), ``pkg/report/template.go`` (a template gets the report's ``Results``;
sprig's functions) and ``pkg/types`` (``Result.Vulnerabilities``, ``DetectedVulnerability.FixedVersion``,
``Severity``). kaniko's ``--oci-layout-path`` is osscontainertools/kaniko v1.28.3
``cmd/executor/cmd/root.go``; ``pkg/executor/push.go`` ``DoPush`` writes the layout with the same image
whose digest goes to ``--digest-file``, before and independently of ``--no-push``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from lofi_charts import PIPELINE_VALUES, ROOT, helm_template

# Trivy v0.74.0, docs/guide/references/configuration/cli/trivy_image.md ("Options" and "Options inherited
# from parent commands"), flags by the type the docs print (no type: a boolean).
_IMAGE_FLAGS = {
    "bool": "dependency-tree disable-telemetry download-db-only download-java-db-only help ignore-unfixed "
    "include-deprecated-checks include-non-failures license-full list-all-pkgs no-progress offline-scan "
    "password-stdin redis-tls removed-pkgs show-suppressed skip-check-update skip-db-update skip-java-db-update "
    "skip-version-check skip-vex-repo-update tf-exclude-downloaded-modules trace-rego debug generate-default-config "
    "insecure quiet version",
    "int": "exit-code exit-on-eol parallel rego-error-limit",
    "float": "license-confidence-level",
    "duration": "cache-ttl timeout",
    "string": "cache-backend checks-bundle-repository compliance detection-priority distro docker-host format "
    "helm-kube-version ignore-policy ignorefile input max-image-size module-dir output output-plugin-arg platform "
    "podman-host redis-ca redis-cert redis-key registry-token rekor-url report secret-config server template token "
    "token-header cacert cache-dir config",
    "strings": "ansible-extra-vars ansible-inventory ansible-playbook check-namespaces config-check config-data "
    "config-file-schemas custom-headers db-repository enable-modules file-patterns helm-api-versions helm-set "
    "helm-set-file helm-set-string helm-values ignore-status ignored-licenses image-config-scanners image-src "
    "java-db-repository misconfig-scanners password pkg-relationships pkg-types raw-config-scanners render-cause "
    "sbom-sources scanners severity skip-dirs skip-files table-mode username vex vuln-severity-source",
}
# ... trivy_convert.md
_CONVERT_FLAGS = {
    "bool": "dependency-tree help list-all-pkgs show-suppressed debug generate-default-config insecure quiet version",
    "int": "exit-code exit-on-eol",
    "duration": "timeout",
    "string": "compliance format ignore-policy ignorefile output output-plugin-arg report template cacert cache-dir "
    "config",
    "strings": "scanners severity table-mode",
}
TRIVY_FLAGS = {
    command: {flag: kind for kind, names in table.items() for flag in names.split()}
    for command, table in (("image", _IMAGE_FLAGS), ("convert", _CONVERT_FLAGS))
}
TRIVY_ALLOWED = {
    "format": {"table", "json", "template", "sarif", "cyclonedx", "spdx", "spdx-json", "github", "cosign-vuln"},
    "severity": {"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"},
    "scanners": {"vuln", "misconfig", "secret", "license"},
}
# the defaults trivy_image.md prints for --db-repository and --java-db-repository
TRIVY_DB_DEFAULTS = ["mirror.gcr.io/aquasec/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"]
TRIVY_JAVA_DB_DEFAULTS = ["mirror.gcr.io/aquasec/trivy-java-db:1", "ghcr.io/aquasecurity/trivy-java-db:1"]
SCALE = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]  # Trivy's order (pkg/types CompareSeverityString); UNKNOWN has no rank
GO_DURATION = re.compile(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")
LAYOUT_ARG = "--input=$(workspaces.source.path)/.lofi-image@$(params.image-digest)"


def render(tmp_path: Path, **scan: Any) -> list[dict]:
    values = {**PIPELINE_VALUES, "scan": scan} if scan else PIPELINE_VALUES
    return helm_template("tekton", values, tmp_path, release="lofi-pipeline")


def find(docs: list[dict], kind: str, name: str) -> dict:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def pipeline_task(docs: list[dict], name: str) -> dict:
    (task,) = [t for t in find(docs, "Pipeline", "lofi-ci")["spec"]["tasks"] if t["name"] == name]
    return task


def steps(docs: list[dict]) -> dict[str, dict]:
    return {s["name"]: s for s in find(docs, "Task", "lofi-scan")["spec"]["steps"]}


def trivy_invocations(step: dict) -> list[list[str]]:
    """Every trivy command line of a step: its command and args, or the lines of its script."""
    if step.get("command") == ["trivy"]:
        return [step["args"]]
    lines = [shlex.split(line) for line in step.get("script", "").splitlines() if line.strip().startswith("trivy ")]
    return [line[1:] for line in lines]


def parse(argv: list[str]) -> tuple[str, dict[str, str | None], list[str]]:
    """(subcommand, {flag: value or None}, positional arguments), checked against Trivy's documented flags."""
    command, rest = argv[0], argv[1:]
    documented = TRIVY_FLAGS[command]
    flags: dict[str, str | None] = {}
    positional = []
    index = 0
    while index < len(rest):
        arg = rest[index]
        index += 1
        if not arg.startswith("--"):
            positional.append(arg)
            continue
        name, eq, value = arg[2:].partition("=")
        assert name in documented, f"trivy {command}: --{name} is not a documented flag at v0.74.0"
        assert name not in flags, f"trivy {command}: --{name} given twice"
        kind = documented[name]
        if kind == "bool":
            assert not eq or value in ("true", "false"), f"--{name} is a boolean"
            flags[name] = value or None
            continue
        if not eq:  # --flag value
            value, index = rest[index], index + 1
        flags[name] = value
        if kind == "int":
            assert re.fullmatch(r"-?\d+", value), f"--{name}={value} is not an int"
        elif kind == "duration":
            assert GO_DURATION.fullmatch(value), f"--{name}={value} is not a Go duration"
        if name in TRIVY_ALLOWED and "$(" not in value:
            items = value.split(",") if kind == "strings" else [value]
            assert set(items) <= TRIVY_ALLOWED[name], f"--{name}={value}: allowed {sorted(TRIVY_ALLOWED[name])}"
    return command, flags, positional


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory, helm: Path) -> list[dict]:
    return render(tmp_path_factory.mktemp("scan"))


def test_every_trivy_argument_is_a_documented_flag_of_the_pinned_version(docs) -> None:
    invocations = [argv for step in steps(docs).values() for argv in trivy_invocations(step)]
    assert [argv[0] for argv in invocations] == ["image", "convert", "convert", "image"]
    for argv in invocations:
        command, flags, positional = parse(argv)
        if command == "image":
            assert positional == [], "the image comes from --input (the layout), never a registry reference"
            assert flags["input"] == LAYOUT_ARG.removeprefix("--input=")
            assert flags["scanners"] == "vuln"
            assert {"skip-version-check", "disable-telemetry", "no-progress"} <= set(flags)
            assert flags["cache-dir"] == "/scan/cache"
        else:
            assert positional == ["/scan/report.json"], "convert reads the JSON report the scan wrote"
    image = find(docs, "Task", "lofi-scan")["spec"]["steps"][0]["image"]
    assert image == PIPELINE_VALUES.get("images", {}).get("trivy", image)
    assert re.fullmatch(r"docker\.io/aquasec/trivy:0\.74\.0@sha256:[0-9a-f]{64}", image), "the version documented above"


def test_the_report_is_complete_and_the_gate_fails_on_fixable_vulnerabilities_from_the_threshold(docs) -> None:
    """The first scan keeps every vulnerability (all severities, fixed or not, exit code 0) as JSON and
    prints it as a table; the gate exits 1 on one of the failing severities that has a fix."""
    by_name = steps(docs)
    assert list(by_name) == ["scan", "report", "count", "gate"], "report and counts are written before the gate"
    _, scan, _ = parse(by_name["scan"]["args"])
    assert scan["format"] == "json" and scan["output"] == "/scan/report.json" and scan["exit-code"] == "0"
    assert "severity" not in scan and "ignore-unfixed" not in scan
    assert parse(by_name["report"]["args"])[1] == {"format": "table"}
    _, gate, _ = parse(by_name["gate"]["args"])
    assert gate["severity"] == "$(params.severity)"
    assert "ignore-unfixed" in gate and gate["exit-code"] == "1"
    # the database the scan step downloaded: the gate never downloads another one
    assert "skip-db-update" in gate and "skip-java-db-update" in gate and gate["cache-dir"] == scan["cache-dir"]


@pytest.mark.parametrize("threshold", SCALE)
def test_the_threshold_and_every_higher_severity_fail_the_run(tmp_path: Path, threshold: str) -> None:
    docs = render(tmp_path, severity=threshold)
    expected = ",".join(SCALE[SCALE.index(threshold) :])
    task_default = {p["name"]: p.get("default") for p in find(docs, "Task", "lofi-scan")["spec"]["params"]}
    pipeline_default = {p["name"]: p.get("default") for p in find(docs, "Pipeline", "lofi-ci")["spec"]["params"]}
    assert task_default["severity"] == pipeline_default["scan-severity"] == expected
    assert set(expected.split(",")) <= TRIVY_ALLOWED["severity"]
    given = {p["name"]: p["value"] for p in pipeline_task(docs, "scan")["params"]}
    assert given["severity"] == "$(params.scan-severity)"


@pytest.mark.parametrize("threshold", ["UNKNOWN", "high", "SEVERE", ""])
def test_a_threshold_off_the_scale_is_refused(tmp_path: Path, threshold: str, helm: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({**PIPELINE_VALUES, "scan": {"severity": threshold}}))
    result = subprocess.run(
        [str(helm), "template", "lofi-pipeline", str(ROOT / "application" / "tekton"), "-f", str(values)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0 and "is not one of LOW, MEDIUM, HIGH, CRITICAL" in result.stderr


def test_the_database_sources_are_settings_defaulting_to_trivys_own(tmp_path: Path, docs) -> None:
    _, flags, _ = parse(steps(docs)["scan"]["args"])
    assert flags["db-repository"] == ",".join(TRIVY_DB_DEFAULTS)
    assert flags["java-db-repository"] == ",".join(TRIVY_JAVA_DB_DEFAULTS)
    mirrored = render(
        tmp_path,
        dbRepositories=["registry.test-domain.io/mirror/trivy-db:2"],
        javaDbRepositories=["registry.test-domain.io/mirror/trivy-java-db:1", "ghcr.io/aquasecurity/trivy-java-db:1"],
    )
    _, flags, _ = parse(steps(mirrored)["scan"]["args"])
    assert flags["db-repository"] == "registry.test-domain.io/mirror/trivy-db:2"
    assert (
        flags["java-db-repository"]
        == "registry.test-domain.io/mirror/trivy-java-db:1,ghcr.io/aquasecurity/trivy-java-db:1"
    )


def test_the_scan_reads_the_image_the_build_wrote_by_its_digest(docs) -> None:
    """kaniko writes the image it built (and, on pushes, pushed) as an OCI layout into the run's workspace;
    the scan selects the manifest whose digest the build reported, so push and pull-request runs scan the
    same bytes without any registry credential."""
    build = find(docs, "Task", "lofi-build")["spec"]["steps"][0]["args"]
    assert "--oci-layout-path=$(workspaces.source.path)/.lofi-image" in build
    assert "--digest-file=$(results.IMAGE_DIGEST.path)" in build
    scan = pipeline_task(docs, "scan")
    assert scan["runAfter"] == ["build"] and "when" not in scan, "pull-request runs are scanned too"
    given = {p["name"]: p["value"] for p in scan["params"]}
    assert given["image-digest"] == "$(tasks.build.results.IMAGE_DIGEST)"
    assert given["image-url"] == "$(tasks.build.results.IMAGE_URL)"
    build_source = next(w for w in pipeline_task(docs, "build")["workspaces"] if w["name"] == "source")
    assert scan["workspaces"] == [{"name": "source", "workspace": build_source["workspace"]}]
    task = find(docs, "Task", "lofi-scan")["spec"]
    assert [w["name"] for w in task["workspaces"]] == ["source"] and task["workspaces"][0]["readOnly"] is True
    for step in task["steps"]:
        assert not any("docker-config" in json.dumps(v) or "DOCKER_CONFIG" in json.dumps(v) for v in step.values())


def test_promote_runs_only_after_the_scan_passed_and_commits_the_digest_it_scanned(docs) -> None:
    promote = pipeline_task(docs, "promote")
    assert promote["runAfter"] == ["scan"]
    given = {p["name"]: p["value"] for p in promote["params"]}
    assert given["image-digest"] == "$(tasks.scan.results.IMAGE_DIGEST)"
    results = {r["name"] for r in find(docs, "Task", "lofi-scan")["spec"]["results"]}
    assert results == {"IMAGE_DIGEST", "VULNERABILITIES", "FIXABLE_VULNERABILITIES"}
    pipeline_results = {r["name"]: r["value"] for r in find(docs, "Pipeline", "lofi-ci")["spec"]["results"]}
    assert pipeline_results["VULNERABILITIES"] == "$(tasks.scan.results.VULNERABILITIES)"
    # the count step writes the digest it was given, after the report and before the gate
    count = steps(docs)["count"]
    assert "$(results.IMAGE_DIGEST.path)" in count["script"]
    assert {"name": "IMAGE_DIGEST", "value": "$(params.image-digest)"} in count["env"]


def test_without_the_scan_the_promote_follows_the_build(tmp_path: Path) -> None:
    docs = render(tmp_path, enabled=False)
    assert not [d for d in docs if d["kind"] == "Task" and d["metadata"]["name"] == "lofi-scan"]
    pipeline = find(docs, "Pipeline", "lofi-ci")["spec"]
    assert [t["name"] for t in pipeline["tasks"]] == ["clone", "lint-test", "build", "promote"]
    promote = pipeline_task(docs, "promote")
    assert promote["runAfter"] == ["build"]
    assert {p["name"]: p["value"] for p in promote["params"]}["image-digest"] == "$(tasks.build.results.IMAGE_DIGEST)"
    assert "scan-severity" not in {p["name"] for p in pipeline["params"]}
    assert "VULNERABILITIES" not in {r["name"] for r in pipeline["results"]}
    assert not [a for a in find(docs, "Task", "lofi-build")["spec"]["steps"][0]["args"] if "oci-layout" in a]


# ---------------------------------------------------------------- the count step, run


def _run_count(docs: list[dict], tmp_path: Path, lines: list[str]) -> dict[str, str]:
    """The count step's script run by /bin/sh, with a stand-in `trivy` that writes what Trivy's template
    would for a report with these vulnerabilities ("<severity> fixed|unfixed" per line)."""
    count = steps(docs)["count"]
    results = {name: tmp_path / name for name in ("VULNERABILITIES", "FIXABLE_VULNERABILITIES", "IMAGE_DIGEST")}
    script = count["script"]
    for name, path in results.items():
        script = script.replace(f"$(results.{name}.path)", str(path))
    script = script.replace("/scan/", f"{tmp_path}/scan/")
    (tmp_path / "scan").mkdir()
    (tmp_path / "scan" / "report.json").write_text("{}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "trivy"
    # records its arguments, then writes the template's output to --output
    stand_in.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {tmp_path}/argv\n'
        'while [ $# -gt 0 ]; do [ "$1" = --output ] && out=$2; shift; done\n'
        f"printf '{''.join(line + chr(92) + 'n' for line in lines)}' > \"$out\"\n"
    )
    stand_in.chmod(0o755)
    env = {e["name"]: e["value"] for e in count["env"]}
    env |= {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "IMAGE_URL": "r.test/lofi:abc",
        "IMAGE_DIGEST": "sha256:" + "a" * 64,
    }
    done = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, check=False, timeout=30)
    assert done.returncode == 0, done.stderr
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[:3] == ["convert", "--format", "template"]
    assert argv[argv.index("--template") + 1] == env["TEMPLATE"]
    parse(argv)  # the script's trivy call, judged like the others
    return {name: path.read_text() for name, path in results.items()}


def test_the_counts_per_severity_are_the_task_results(docs, tmp_path: Path) -> None:
    lines = ["CRITICAL fixed", "HIGH unfixed", "HIGH fixed", "HIGH fixed", "LOW unfixed", "UNKNOWN unfixed"]
    results = _run_count(docs, tmp_path, lines)
    assert json.loads(results["VULNERABILITIES"]) == {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 0, "LOW": 1, "UNKNOWN": 1}
    assert json.loads(results["FIXABLE_VULNERABILITIES"]) == {
        "CRITICAL": 1,
        "HIGH": 2,
        "MEDIUM": 0,
        "LOW": 0,
        "UNKNOWN": 0,
    }
    assert results["IMAGE_DIGEST"] == "sha256:" + "a" * 64


def test_a_clean_image_counts_zero_everywhere(docs, tmp_path: Path) -> None:
    results = _run_count(docs, tmp_path, [])
    assert json.loads(results["VULNERABILITIES"]) == dict.fromkeys(("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"), 0)


def test_the_template_reads_fields_of_trivys_report_types(docs) -> None:
    """The count template ranges over the Results a template gets and prints, per vulnerability, its
    Severity and whether it has a FixedVersion (pkg/types at v0.74.0), one line each."""
    template = {e["name"]: e["value"] for e in steps(docs)["count"]["env"]}["TEMPLATE"]
    fields = set(re.findall(r"\.([A-Z][A-Za-z]*)", template))
    assert fields == {"Vulnerabilities", "Severity", "FixedVersion"}
    assert template.startswith("{{ range . }}{{ range .Vulnerabilities }}")
    assert '{{ "\\n" }}' in template


def test_the_role_pins_the_image_the_chart_pins() -> None:
    """The lofi_pipeline role passes its own pin and settings; its defaults are the chart's."""
    chart = yaml.safe_load((ROOT / "application" / "tekton" / "values.yaml").read_text())
    role = yaml.safe_load((ROOT / "roles" / "lofi_pipeline" / "defaults" / "main.yml").read_text())
    assert role["lofi_pipeline_trivy_image"] == chart["images"]["trivy"]
    assert role["lofi_pipeline_scan_severity"] == chart["scan"]["severity"]
    assert role["lofi_pipeline_scan_db_repositories"] == chart["scan"]["dbRepositories"] == TRIVY_DB_DEFAULTS
    assert role["lofi_pipeline_scan_java_db_repositories"] == chart["scan"]["javaDbRepositories"]
    assert chart["scan"]["javaDbRepositories"] == TRIVY_JAVA_DB_DEFAULTS
    assert role["lofi_pipeline_scan_enabled"] is chart["scan"]["enabled"] is True
