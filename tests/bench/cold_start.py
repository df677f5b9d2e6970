"""Cold-import benchmark: each function's module imported in a fresh interpreter, as Lambda's init
phase does, against the floor of a bare ``import boto3`` plus a DynamoDB client.

Runs alternate (floor, function, floor, function, ...) so that machine noise hits both alike;
the figure is the ratio of medians. ``make bench`` prints a table; the README quotes it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from local.cfn import ROOT
from tests.support import resources_of, template

RUNS = int(os.environ.get("BENCH_RUNS", "9"))
FLOOR = "import boto3; boto3.client('dynamodb')"
TIMER = "import time; _t = time.perf_counter(); {code}; print(time.perf_counter() - _t)"


def _env(name: str, code_dir: str) -> dict[str, str]:
    """The environment Lambda gives a function (the X-Ray SDK, for one, behaves differently in it),
    with the template's literal Globals variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_ENDPOINT"))}
    globals_env = template().globals["Environment"]["Variables"]
    env.update({k: v for k, v in globals_env.items() if isinstance(v, str)})
    env.update(
        LAMBDA_TASK_ROOT=code_dir,
        AWS_LAMBDA_FUNCTION_NAME=name,
        AWS_EXECUTION_ENV="AWS_Lambda_python3.13",
        AWS_XRAY_DAEMON_ADDRESS="169.254.79.129:2000",
        AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        TABLE_NAME="bench",
        POWERTOOLS_SERVICE_NAME="live-stream",
        POWERTOOLS_METRICS_NAMESPACE="LiveStream",
    )
    return env


def _time(name: str, code: str, path: list[str]) -> float:
    prelude = f"import sys; sys.path[:0] = {path!r}; "
    out = subprocess.run(
        [sys.executable, "-c", prelude + TIMER.format(code=code)], capture_output=True, text=True, env=_env(name, path[0]), check=True, cwd="/"
    )
    return float(out.stdout.strip().splitlines()[-1])


def function_imports() -> dict[str, tuple[list[str], str]]:
    found = {}
    for name, res in resources_of("AWS::Serverless::Function").items():
        code_dir = str(ROOT / res["Properties"]["CodeUri"])
        module = res["Properties"]["Handler"].split(".")[0]
        found[name] = ([code_dir, str(ROOT / "layers" / "common")], f"import {module}")
    return found


def main() -> None:
    rows = []
    for name, (path, code) in sorted(function_imports().items()):
        floors, times = [], []
        for _ in range(RUNS):
            floors.append(_time(name, FLOOR, path))
            times.append(_time(name, code, path))
        floor, took = statistics.median(floors), statistics.median(times)
        rows.append((name, took * 1000, floor * 1000, took / floor))
    width = max(len(r[0]) for r in rows)
    print(f"{'function':<{width}}  import ms  floor ms  ratio")
    for name, took, floor, ratio in rows:
        print(f"{name:<{width}}  {took:9.0f}  {floor:8.0f}  {ratio:5.2f}")
    print(f"python {sys.version.split()[0]}, {RUNS} alternating runs each, medians; floor = {FLOOR}")


if __name__ == "__main__":
    from local.cfn import LAYER_DIR

    sys.path.insert(0, str(LAYER_DIR))
    main()
