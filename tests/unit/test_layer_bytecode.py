"""The layer ships bytecode for the runtime's Python (3.13): /opt is read-only on Lambda, so modules without
a matching .pyc are compiled from source in memory on every cold start. `make -C layers/common bytecode` is
the step `sam build` runs after installing the layer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common"


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "python"
    shutil.copytree(LAYER / "livestream", site / "livestream")
    (site / "livestream" / "__pycache__").mkdir(exist_ok=True)
    (site / "livestream" / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"stale")
    return site


def _bytecode(site: Path, *settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(LAYER), "bytecode", f"SITE={site}", *settings], capture_output=True, text=True, timeout=120
    )


def _pycs(site: Path) -> list[Path]:
    return sorted(site.rglob("*.pyc"))


def test_every_module_gets_unchecked_hash_bytecode_for_python_3_13(tmp_path: Path) -> None:
    site = _site(tmp_path)
    done = _bytecode(site)
    if done.returncode and "python3.13 is needed" in done.stdout:
        pytest.skip("no Python 3.13 on this machine")
    assert done.returncode == 0, done.stdout + done.stderr
    sources = sorted(site.rglob("*.py"))
    assert len(sources) > 30
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        assert pyc.is_file(), f"{source.relative_to(site)} has no Python 3.13 bytecode"
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 1, f"{pyc.name}: hash-based and unchecked (whatever mtimes the zip gives), got flags {flags}"
    assert all(p.name.endswith(".cpython-313.pyc") for p in _pycs(site)), "bytecode of another Python stays behind"


def test_bytecode_of_another_python_is_refused(tmp_path: Path) -> None:
    site = _site(tmp_path)
    done = _bytecode(site, f"PYTHON313={sys.executable}")
    assert done.returncode != 0
    assert f"PYTHON313 is Python {sys.version_info.major}.{sys.version_info.minor}" in done.stdout + done.stderr
    assert _pycs(site) == []


def test_without_python_3_13_the_build_fails_unless_told_to_ship_it_uncompiled(tmp_path: Path) -> None:
    site = _site(tmp_path)
    refused = _bytecode(site, "PYTHON313=")
    assert refused.returncode != 0 and "python3.13 is needed" in refused.stdout
    allowed = _bytecode(site, "PYTHON313=", "ALLOW_NO_BYTECODE=1")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "ships without bytecode" in allowed.stdout
    assert _pycs(site) == []
