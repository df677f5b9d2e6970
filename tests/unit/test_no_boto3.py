"""No function imports boto3: the layer's clients are botocore's (``livestream.aws``), and importing boto3
(with ``s3transfer``, ``multiprocessing``, ``concurrent.futures``) would add ~30 ms to every cold start.

Each function is imported as Lambda loads it, in a fresh interpreter (``-I``: only its directory and the
layer importable) with its template environment, tracing and metrics on as deployed.

What a function loads on its first invocation as well (create's first keyed request included) is checked
by ``tests/integration/test_cold_path.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from local.cfn import LAYER_DIR, Template
from local.emulation import function_environment
from tests.bench.cold_start import LAMBDA_ENV, LOCAL_ONLY

FORBIDDEN = ("boto3", "s3transfer")
# function → why it may still import boto3 (none does today)
ALLOWED: dict[str, str] = {}

PROBE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
__import__(sys.argv[3])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[4:]))))
"""


def _environment(template: Template, name: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **function_environment(template, name, "http://127.0.0.1:9", "http://127.0.0.1:9")}
    for key in LOCAL_ONLY:
        env.pop(key, None)
    env.update(LAMBDA_ENV, AWS_ACCESS_KEY_ID="guard", AWS_SECRET_ACCESS_KEY="guard", AWS_SESSION_TOKEN="guard")
    return env


def _imported(template: Template, name: str) -> list[str]:
    """The forbidden top-level packages that importing the function's handler module loaded."""
    function = template.functions()[name]
    module = function.properties["Handler"].rsplit(".", 1)[0]
    args = [str(function.code_dir), str(LAYER_DIR), module, *FORBIDDEN]
    proc = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, *args], env=_environment(template, name), cwd="/", capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"{name} failed to import:\n{proc.stderr[-2000:]}"
    found: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


def test_no_function_imports_boto3():
    template = Template.load(Stage="local")
    names = sorted(template.functions())
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        imported = dict(zip(names, pool.map(lambda name: _imported(template, name), names), strict=True))
    offenders = {name: found for name, found in imported.items() if found and name not in ALLOWED}
    assert not offenders, f"functions that import boto3 (use livestream.aws for clients, store.codec for items): {offenders}"
    assert {name for name, found in imported.items() if found} >= set(ALLOWED), "a function in ALLOWED no longer needs boto3"


def test_the_guard_sees_a_boto3_import(tmp_path):
    """The probe does notice a handler module that imports boto3."""
    (tmp_path / "leaky.py").write_text("import boto3\n")
    proc = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, str(tmp_path), str(LAYER_DIR), "leaky", *FORBIDDEN], capture_output=True, text=True, check=True
    )
    assert json.loads(proc.stdout) == ["boto3", "s3transfer"]


def test_idempotency_does_not_load_boto3():
    """Create's ``Idempotency-Key`` support runs over the layer's botocore client, not Powertools' utility
    (whose package imports boto3)."""
    code = "import sys, livestream.idempotency; print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 's3transfer'}))"
    proc = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(LAYER_DIR)!r}); {code}"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "[]"
