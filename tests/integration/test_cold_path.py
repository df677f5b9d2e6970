"""Issue 14, what a cold start loads: no function loads Powertools' event handler (every resolver, the
OpenAPI machinery) or its event classes on its cold path, nor boto3 (botocore is what the functions
use), nor asyncio, and pydantic only where a body or a query is validated. Each HTTP function is imported as Lambda
imports it (a fresh interpreter, only its directory and the layer on the path, Lambda's environment
with tracing on) and invoked once with its sample event, taking its success path against the local
AWS emulation (:mod:`tests.cold_path`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import version

import pytest

from local.cfn import ROOT
from tests.support import template

HTTP_FUNCTIONS = sorted(name for name, function in template().functions().items() if function.api_events)
ALL_FUNCTIONS = sorted(template().functions())


@pytest.fixture(scope="module")
def cold_paths(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("cold-path") / "result.json"
    proc = subprocess.run([sys.executable, "-m", "tests.cold_path", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("name", HTTP_FUNCTIONS)
def test_the_cold_path_does_not_load_powertools_event_handler(cold_paths, name):
    result = cold_paths[name]
    assert "error" not in result, result.get("error")
    # the success path (the fallback's is 404 / 405): the route's validation and code ran
    expected = (404, 405) if name == "RouteNotFoundFunction" else range(200, 300)
    assert result["status"] in expected, result
    assert result["loaded"] == [], f"{name} loaded on its cold path: {result['loaded'][:10]}"


# the functions whose requests carry a body that pydantic validates: none left. Bodies and queries are
# validated with pydantic-core alone (livestream.dispatch, livestream.schemas: the joins, create, the profile
# sync, the webhook); the other functions read only ids in their path (checked by the dispatcher) or are fed
# by the table's stream or the schedule, answer or publish plain dicts, and never load it
VALIDATES_WITH_PYDANTIC: set[str] = set()
# none: create's Idempotency-Key support (its sample event has one) runs over the layer's botocore
# client, not Powertools' idempotency utility (whose package imports boto3)
LOADS_BOTO3: set[str] = set()


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_the_cold_path_loads_pydantic_only_to_validate_a_body_or_query_and_never_boto3(cold_paths, name):
    result = cold_paths[name]
    assert "error" not in result, result.get("error")
    expected = {"pydantic"} & ({"pydantic"} if name in VALIDATES_WITH_PYDANTIC else set())
    expected |= {"boto3"} if name in LOADS_BOTO3 else set()
    assert set(result["libraries"]) == expected, f"{name} loaded {result['libraries']} on its cold path"


# Powertools' batch utility (the stream-events publisher's partial batch responses) imports asyncio at
# module level, for its AsyncBatchProcessor
LOADS_ASYNCIO = {"StreamEventsFunction"}


def _locked(package: str) -> str:
    lock = (ROOT / "layers" / "common" / "requirements.lock").read_text()
    found = re.search(rf"^{package}==(\S+)", lock, re.MULTILINE)
    assert found, f"{package} is not in the layer's lock"
    return found.group(1)


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_no_cold_path_loads_asyncio(cold_paths, name):
    """No function runs an event loop: asyncio (~7 ms of import, more with what it pulls in) stays off
    every cold path. The X-Ray SDK's wrapt 2 imports it at import time (wrapt.synchronization), so the
    layer holds wrapt at 1.x; an environment with another wrapt than the layer's measures another layer."""
    if version("wrapt") != _locked("wrapt"):
        pytest.skip(f"this environment has wrapt {version('wrapt')}, the layer {_locked('wrapt')}: pip install wrapt=={_locked('wrapt')}")
    result = cold_paths[name]
    assert "error" not in result, result.get("error")
    assert result["asyncio"] is (name in LOADS_ASYNCIO), f"{name}: asyncio loaded on its cold path: {result['asyncio']}"


# the functions whose requests carry a body or a query: validated by pydantic-core (with pydantic or without);
# the others never load it
VALIDATES_A_BODY_OR_QUERY = {
    "AgoraWebhookFunction",
    "CreateStreamFunction",
    "JoinAsAudienceFunction",
    "JoinAsBroadcasterFunction",
    "JoinAsGuestFunction",
    "ListLiveEventsFunction",
    "ListViewersFunction",
    "UpcomingV1Function",
    "UpcomingV2Function",
    "UpsertUserFunction",
}


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_the_cold_path_loads_pydantic_core_only_to_validate_a_body_or_query(cold_paths, name):
    result = cold_paths[name]
    assert "error" not in result, result.get("error")
    assert result["pydantic_core"] is (name in VALIDATES_A_BODY_OR_QUERY), f"{name}: pydantic_core loaded: {result['pydantic_core']}"


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_init_runs_without_the_cyclic_collector_and_freezes_what_it_built(cold_paths, name):
    """Lambda's init imports ~100,000 objects that live as long as the container: the collector's full
    passes over them were 10-15% of an import and found almost nothing. It is paused from the layer's
    first import until the entry point is wrapped, which freezes init's objects and resumes it."""
    result = cold_paths[name]
    assert "error" not in result, result.get("error")
    collector = result["collector"]
    assert collector["passes_during_init"] == 0, collector
    assert collector["enabled"] and collector["frozen"] > 50_000, collector
