"""SnapStart as deployed, tracing and metrics on (the other tests run without them): a fresh interpreter
with Lambda's environment goes through the before-snapshot and after-restore hooks (as the runtime
calls them) and then serves its first request (:mod:`tests.snapstart_restore.child`). The priming runs
the Logger, Metrics and Tracer wrappers and the dry requests, yet nothing may be printed or sent to the
X-Ray daemon before the first request; that request still reports the cold start."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from local.cfn import LAYER_DIR, ROOT
from local.emulation import function_environment
from tests.bench.cold_start import LAMBDA_ENV
from tests.support import template

CHILD = ROOT / "tests" / "snapstart_restore" / "child.py"


def run(name: str, tmp_path, event: dict | None = None) -> dict:
    fn = template().functions()[name]
    env = function_environment(template(), name, "http://127.0.0.1:1", "http://127.0.0.1:1")  # nothing may be sent
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    env.pop("POWERTOOLS_METRICS_DISABLED", None)
    env.update(
        LAMBDA_ENV,
        PATH="/usr/bin:/bin",
        AWS_ACCESS_KEY_ID="snapstart",
        AWS_SECRET_ACCESS_KEY="snapstart",
        AWS_LAMBDA_INITIALIZATION_TYPE="snap-start",
    )
    env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = "1"
    out = tmp_path / "result.json"
    module = fn.properties["Handler"].rsplit(".", 1)[0]
    args = [str(fn.code_dir), str(LAYER_DIR), module, fn.handler_name, name, json.dumps(event or {}), str(out)]
    proc = subprocess.run(
        [sys.executable, "-I", str(CHILD), *args, *(["--invoke"] if event else [])], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("name", ["GetStreamFunction", "JoinAsAudienceFunction", "StreamEventsFunction"])
def test_priming_and_restore_emit_nothing(name, tmp_path):
    result = run(name, tmp_path)
    assert result["snapshot"] == {"printed": [], "segments": []}  # no log line, metric or segment before the snapshot
    assert result["restore"]["segments"] == []
    assert result["emitter_renewed"]  # each restored copy has its own socket to the daemon
    assert not result["snapshot_loaded_pydantic"]  # requests validate with pydantic-core: the snapshot holds no pydantic
    # init's and priming's garbage collected before the snapshot (without that, 140-560 objects stay
    # frozen for good), the rest frozen: a restored copy's collections walk only what its requests
    # allocate, not the ~30,000 objects priming built
    collector = result["collector"]
    assert collector["enabled"] and collector["frozen"] > 50_000, collector
    assert collector["unfrozen"] < 1_000 and collector["frozen_garbage"] <= 10, collector


def test_the_first_invocation_after_restore_reports_the_cold_start(tmp_path):
    event = {"httpMethod": "GET", "path": "/nowhere", "resource": "/{proxy+}", "requestContext": {"requestId": "first"}}
    result = run("RouteNotFoundFunction", tmp_path, event)
    assert result["snapshot"] == {"printed": [], "segments": []} and result["restore"] == {"printed": [], "segments": []}
    assert result["status"] == 404
    metrics = [json.loads(line) for line in result["invocation"]["printed"] if '"_aws"' in line]
    names = [m["Name"] for doc in metrics for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    assert names == ["ColdStart"]
    handler = [s for s in result["invocation"]["segments"] if s.get("name") == "## route_not_found"]  # Powertools' handler subsegment
    assert len(handler) == 1 and handler[0]["annotations"]["ColdStart"] is True
