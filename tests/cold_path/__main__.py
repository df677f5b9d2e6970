"""Which modules each HTTP function loads on its cold path (import + first invocation), as Lambda runs
it: ``python -m tests.cold_path OUT.json`` starts the local AWS emulation, seeds what each sample event
needs to take its success path (as ``make bench`` does: :mod:`tests.bench.cold_start`), then runs every
function once in a fresh interpreter with Lambda's environment (tracing and metrics on) and writes, per
function, the answer's status and the loaded modules under :data:`WATCHED`.

Run by ``tests/integration/test_cold_path.py``, in a process of its own: the emulation and the seeding
point the layer's clients and the environment at a server the test process must not keep using.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from local.emulation import CREDENTIALS, start_moto
from tests.bench.cold_start import JWT_SECRET, Bench, _free_port

WATCHED = ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")
CHILD = Path(__file__).with_name("child.py")


def run(bench: Bench, name: str, out: Path) -> dict[str, Any]:
    out.unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-I", str(CHILD), *bench.function_args(name, bench.event(name)), str(out)],
        env=bench.env(name),
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0 or not out.exists():
        return {"error": (proc.stdout + proc.stderr)[-3000:]}
    return json.loads(out.read_text())


def main(target: str) -> None:
    port = _free_port()
    os.environ.update(CREDENTIALS, LOCAL_JWT_SECRET=JWT_SECRET)
    moto = start_moto(port)
    try:
        bench = Bench(port)
        out = Path(tempfile.mkdtemp(prefix="cold-path-")) / "result.json"
        names = sorted(bench.template.functions())
        results = {name: run(bench, name, out) for name in names}
    finally:
        moto.stop()
    Path(target).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
