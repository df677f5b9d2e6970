"""Writes requirements.lock: the layer's whole dependency closure for manylinux2014_aarch64 / CPython 3.13,
each package pinned to one file by its sha256 (``make -C layers/common lock`` after editing
requirements.txt or requirements-sdist.txt).

pip resolves it (``pip install --dry-run --report``, for the Lambda platform, not this machine's) and
the report names the file it chose and its hash; the build installs the lock with ``--require-hashes``,
so two builds ship the same bytes. botocore (pulled in by aws-xray-sdk) is left out: the Lambda runtime
ships it with its boto3, and a copy in /opt/python would shadow that one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PLATFORM = ["--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", "3.13"]
RUNTIME_PROVIDED = {"botocore"}
HEADER = """\
# The layer's whole dependency closure for manylinux2014_aarch64 / CPython 3.13, one file per package.
# Written by `make -C layers/common lock` (lock.py) from requirements.txt and requirements-sdist.txt: do
# not edit. The build installs exactly these files (pip --require-hashes --no-deps). Left out: {excluded}
# (the Lambda runtime provides it).
"""


def resolve(requirements: str, *options: str) -> list[dict[str, Any]]:
    """pip's installation report (its ``install`` entries) for ``requirements`` on the Lambda platform."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--dry-run"]
        command += ["--ignore-installed", "--target", scratch, "--report", str(report), *PLATFORM, *options, "-r", requirements]
        subprocess.run(command, cwd=HERE, check=True)  # noqa: S603 - pip, with our own arguments
        installs: list[dict[str, Any]] = json.loads(report.read_text())["install"]
        return installs


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def main() -> int:
    chosen = resolve("requirements.txt", "--only-binary=:all:") + resolve("requirements-sdist.txt", "--no-deps")
    lines = []
    for item in sorted(chosen, key=lambda i: canonical(i["metadata"]["name"])):
        name, version = canonical(item["metadata"]["name"]), item["metadata"]["version"]
        if name in RUNTIME_PROVIDED:
            continue
        digest = item["download_info"]["archive_info"]["hashes"]["sha256"]
        filename = item["download_info"]["url"].rsplit("/", 1)[-1]
        lines.append(f"{name}=={version} \\\n    --hash=sha256:{digest}\n    # {filename}\n")
    (HERE / "requirements.lock").write_text(HEADER.format(excluded=", ".join(sorted(RUNTIME_PROVIDED))) + "".join(lines))
    print(f"requirements.lock: {len(lines)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
