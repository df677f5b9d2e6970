"""The repository stands alone: its docs ship with it, say what the code does, and point nowhere outside."""

from __future__ import annotations

import re
import subprocess

from local.cfn import ROOT

TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".toml", ".txt", ".cfg", ".ini", ""}
OUTSIDE = re.compile(r"\.\./shared|shared/seeds|\bseeds?/|DESIGN\.md|\bAPI\.md\b")


def _tracked_text_files() -> list[str]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [f for f in files if (ROOT / f).is_file() and (ROOT / f).suffix in TEXT_SUFFIXES]


def test_the_api_reference_is_what_the_document_gives():
    from tools.apidocs import PAGE, render

    assert PAGE.read_text() == render(), "docs/api-reference.md is stale: run `make openapi` and commit it"


def test_no_file_points_outside_the_repository():
    offenders = []
    for name in _tracked_text_files():
        for number, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line) and name != "tests/unit/test_docs.py":
                offenders.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not offenders, "these lines refer to documents that do not ship with the repository:\n" + "\n".join(offenders)


def test_every_relative_link_in_the_docs_resolves():
    broken = []
    for name in [f for f in _tracked_text_files() if f.endswith(".md")]:
        text = (ROOT / name).read_text()
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            if not ((ROOT / name).parent / target).exists():
                broken.append(f"{name} → {target}")
    assert not broken, "broken links:\n" + "\n".join(broken)
