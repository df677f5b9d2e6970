"""Swagger UI in a real browser: headless Chromium (Debian's package) opens /docs on the local stack,
every path of the API is listed, and a screenshot lands in test-output/."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

from livestream.routes import ROUTES
from local.cfn import ROOT

pytestmark = pytest.mark.e2e
OUTPUT = ROOT / "test-output"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make test` installs Debian's chromium package")
        pytest.skip("chromium is not installed (make test installs it)")
    return found


def run_chromium(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120, check=False)


def test_swagger_ui_lists_every_path(stack):
    page = run_chromium("--dump-dom", stack.url("/docs"))
    assert page.returncode == 0, page.stderr[-2000:]
    dom = page.stdout
    assert "swagger-ui" in dom and "Live stream service" in dom
    missing = [path for path in ROUTES if f'data-path="{path}"' not in dom]
    assert not missing, f"not listed by Swagger UI: {missing}"
    assert "cdn" not in dom.lower().split("<body")[0]  # assets are inlined, nothing from a CDN

    OUTPUT.mkdir(exist_ok=True)
    shot = OUTPUT / "docs.png"
    shot.unlink(missing_ok=True)
    result = run_chromium(f"--screenshot={shot}", "--window-size=1280,2400", stack.url("/docs"))
    assert result.returncode == 0 and shot.exists() and shot.stat().st_size > 10_000
