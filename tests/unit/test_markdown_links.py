"""Every link in the repository's Markdown resolves inside the repository.

A relative link must name a file (or a folder) git tracks, inside the working tree, and its
`#anchor` a heading of that file, spelt as GitHub spells heading ids (github-slugger: lower case,
punctuation but `-` and `_` dropped, each space a `-`, a repeated id suffixed `-1`, `-2`, ...).
An absolute link may point only at upstream documentation and sources (``UPSTREAM_HOSTS``); the
project's own repository is linked relatively, and nothing outside it (a design file kept beside
the checkout, say) may be linked at all. Links are inline (``[t](x)``, ``![a](x)``), reference
definitions (``[t]: x``), autolinks (``<https://x>``) and the bare URLs GitHub turns into links;
code spans and fenced blocks are text, not links.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

# Upstream projects' documentation, specifications and sources (chart repositories included: the
# versions table names where each pinned chart comes from).
UPSTREAM_HOSTS = {
    "github.com",
    "docs.ansible.com",
    "docs.digitalocean.com",
    "auth0.com",
    "kubernetes.io",
    "helm.sh",
    "tekton.dev",
    "infra.tekton.dev",
    "argo-cd.readthedocs.io",
    "argoproj.github.io",
    "cert-manager.io",
    "charts.jetstack.io",
    "doc.traefik.io",
    "traefik.github.io",
    "kubernetes.github.io",
    "kubernetes-sigs.github.io",
    "prometheus-community.github.io",
    "prometheus.io",
    "grafana.com",
    "grafana.github.io",
    "grafana-community.github.io",
    "oauth2-proxy.github.io",
    "bitnami-labs.github.io",
    "kyverno.github.io",
    "kyverno.io",
    "falcosecurity.github.io",
    "falco.org",
}

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
AUTOLINK = re.compile(r"<((?:https?|ftp)://[^>\s]+)>")
BARE = re.compile(r"(?<![(<\w/])(https?://[^\s<>)\]|`'\"]+)")


def tracked_markdown() -> list[str]:
    out = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.split()


def tracked_paths() -> set[str]:
    """Tracked files and every folder that holds one, relative to the root."""
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    paths: set[str] = set()
    for name in out.stdout.splitlines():
        parts = name.split("/")
        paths.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return paths


def prose_lines(text: str, blank_code: bool = True) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with code spans blanked unless told."""
    lines: list[tuple[int, str]] = []
    fence = ""
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence:
            if match and match[1][0] == fence[0] and len(match[1]) >= len(fence):
                fence = ""
            continue
        if match:
            fence = match[1]
            continue
        lines.append((number, CODE_SPAN.sub(lambda m: " " * len(m[0]), line) if blank_code else line))
    return lines


def links(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(text):
        taken = [m.span() for m in INLINE.finditer(line)]
        found += [(number, m[1]) for m in INLINE.finditer(line)]
        found += [(number, m[1]) for m in REFERENCE.finditer(line)]
        found += [(number, m[1]) for m in AUTOLINK.finditer(line)]
        found += [
            (number, m[1].rstrip(".,;:"))
            for m in BARE.finditer(line)
            if not any(start <= m.start() < end for start, end in taken)
        ]
    return found


def slug(heading: str) -> str:
    """GitHub's id for a heading's text (github-slugger), after inline Markdown is rendered."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    text = text.strip().lower()
    kept = "".join(
        ch for ch in text if ch in "-_ " or unicodedata.category(ch)[0] in "LNM"
    )  # letters, numbers, marks, `-`, `_`, spaces
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    ids: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(text, blank_code=False):
        match = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match[1])
        count = seen.get(base, 0)
        seen[base] = count + 1
        ids.add(base if count == 0 else f"{base}-{count}")
    return ids


def problems(rel: str, text: str, tracked: set[str], read: dict[str, str]) -> list[str]:
    """What is wrong with each link of the Markdown file `rel` (relative to the root)."""
    own = yaml.safe_load((ROOT / "galaxy.yml").read_text())["repository"].rstrip("/")
    out: list[str] = []
    read[rel] = text
    for number, target in links(text):
        where = f"{rel}:{number}: {target}"
        parts = urlsplit(target)
        if parts.scheme in ("http", "https"):
            if target.startswith(own):
                out.append(f"{where}: the project's own repository; link the file relatively")
            elif parts.hostname not in UPSTREAM_HOSTS:
                out.append(f"{where}: {parts.hostname} is not an upstream documentation host (UPSTREAM_HOSTS)")
            continue
        if parts.scheme or target.startswith("//"):
            out.append(f"{where}: only relative links and upstream http(s) links")
            continue
        path, anchor = unquote(parts.path), parts.fragment
        if path.startswith("/"):
            out.append(f"{where}: absolute path; link relative to {rel}")
            continue
        resolved = (ROOT / rel).parent / path if path else ROOT / rel
        try:
            inside = resolved.resolve().relative_to(ROOT).as_posix()
        except ValueError:
            out.append(f"{where}: outside the repository")
            continue
        if inside not in tracked:
            out.append(f"{where}: {inside} is not a file git tracks")
            continue
        if anchor:
            if not inside.endswith(".md"):
                out.append(f"{where}: an anchor into a file that is not Markdown")
            elif anchor not in anchors(read.setdefault(inside, (ROOT / inside).read_text())):
                out.append(f"{where}: no heading with id #{anchor} in {inside}")
    return out


@pytest.mark.parametrize("rel", tracked_markdown())
def test_markdown_links_resolve_inside_the_repository(rel: str) -> None:
    assert problems(rel, (ROOT / rel).read_text(), tracked_paths(), {}) == []


def test_the_readme_links_the_architecture_page_and_nothing_outside() -> None:
    found = [target for _, target in links((ROOT / "README.md").read_text())]
    assert "docs/architecture.md" in found
    assert not [t for t in found if "ARCHITECTURE" in t or t.startswith("..")], found


def test_the_checker_refuses_what_it_should() -> None:
    """Each kind of broken link is named; code spans, fences and good links are not."""
    text = "\n".join(
        [
            "# Top `code` heading",
            "## Top code heading",
            "[ok](README.md) [ok](#top-code-heading) [ok](#top-code-heading-1) [ok](roles/gitops)",
            "[ok](roles/gitops/README.md#platform-namespaces-tasks_from-platform_namespaces)",
            "[design](../shared/ARCHITECTURE.md) [gone](docs/nothing.md) [anchor](README.md#no-such-heading)",
            "[vendor](https://example.com/docs) <https://evil.example/x> see https://example.org/page.",
            "[own](https://github.com/doks-gitops/doks.gitops/blob/main/README.md) [upstream](https://helm.sh/docs/)",
            "[abs](/README.md) [mail](mailto:a@b.c) [local](.cache/judges)",
            "`[in code](nowhere.md)` and `https://example.net`",
            "```",
            "[in fence](nowhere.md) https://example.net",
            "```",
            "[ref]: docs/missing.md",
        ]
    )
    found = problems("README.md", text, tracked_paths(), {})
    named = [p.split(": ")[1] for p in found]
    assert named == [
        "../shared/ARCHITECTURE.md",
        "docs/nothing.md",
        "README.md#no-such-heading",
        "https://example.com/docs",
        "https://evil.example/x",
        "https://example.org/page",
        "https://github.com/doks-gitops/doks.gitops/blob/main/README.md",
        "/README.md",
        "mailto:a@b.c",
        ".cache/judges",
        "docs/missing.md",
    ], found
