"""Prometheus metrics in the text exposition format (version 0.0.4), without a client library."""

from __future__ import annotations

import threading
from collections import defaultdict

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# seconds; the default buckets of the official client libraries
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: dict[str, str]) -> str:
    return "{" + ",".join(f'{key}="{_escape(val)}"' for key, val in pairs.items()) + "}"


class Metrics:
    """Request counts by path, method and status; request duration histogram by path; build info."""

    def __init__(self, version: str) -> None:
        self.version = version
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._bucket_counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self._sum: dict[str, float] = defaultdict(float)
        self._count: dict[str, int] = defaultdict(int)

    def observe(self, path: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(path, method, str(status))] += 1
            buckets = self._bucket_counts[path]
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    buckets[index] += 1
            self._sum[path] += seconds
            self._count[path] += 1

    def render(self) -> str:
        lines = [
            "# HELP lofi_build_info Build information of the running lofi app.",
            "# TYPE lofi_build_info gauge",
            f"lofi_build_info{_labels({'version': self.version})} 1",
            "# HELP lofi_http_requests_total HTTP requests served, by path, method and status code.",
            "# TYPE lofi_http_requests_total counter",
        ]
        with self._lock:
            for (path, method, status), value in sorted(self._requests.items()):
                labels = _labels({"path": path, "method": method, "status": status})
                lines.append(f"lofi_http_requests_total{labels} {value}")
            lines += [
                "# HELP lofi_http_request_duration_seconds Time to serve an HTTP request, by path.",
                "# TYPE lofi_http_request_duration_seconds histogram",
            ]
            for path in sorted(self._count):
                for bound, value in zip(BUCKETS, self._bucket_counts[path], strict=True):
                    labels = _labels({"path": path, "le": repr(bound)})
                    lines.append(f"lofi_http_request_duration_seconds_bucket{labels} {value}")
                labels = _labels({"path": path, "le": "+Inf"})
                lines.append(f"lofi_http_request_duration_seconds_bucket{labels} {self._count[path]}")
                lines.append(f"lofi_http_request_duration_seconds_sum{_labels({'path': path})} {self._sum[path]!r}")
                lines.append(f"lofi_http_request_duration_seconds_count{_labels({'path': path})} {self._count[path]}")
        return "\n".join(lines) + "\n"
