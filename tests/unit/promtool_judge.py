"""Judge a role's alert with Prometheus' own tools: ``promtool check rules`` on the rendered
PrometheusRule's groups, then ``promtool test rules`` on series the test gives.

``promtool`` is one of the pinned judges (``make tools`` puts it on PATH); the callers are the
render tests of the roles that ship an alert of their own (falco, kyverno).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml


def judge_alert(
    tmp_path: Path,
    groups: list[dict[str, Any]],
    input_series: list[dict[str, str]],
    alert_rule_test: list[dict[str, Any]],
) -> None:
    """Assert that ``groups`` parse as exactly one rule (``promtool check rules``) and that, with
    ``input_series`` sampled every minute, the alert fires as ``alert_rule_test`` expects
    (``promtool test rules``, whose output says which expectation failed)."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not on PATH: run `make tools`"
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": groups}))
    check = subprocess.run(
        [promtool, "check", "rules", str(rules)], check=False, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0 and "SUCCESS: 1 rules found" in check.stdout, check.stdout + check.stderr
    tests = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": input_series, "alert_rule_test": alert_rule_test}],
    }
    spec = tmp_path / "tests.yml"
    spec.write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [promtool, "test", "rules", str(spec)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
