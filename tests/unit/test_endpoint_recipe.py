"""The recipe of docs/adding-an-endpoint.md, checked: each step a developer can forget fails here with
a message that says which step and where. (A stale openapi.json fails tests/integration/test_contract.py,
a stale API reference tests/unit/test_docs.py.)"""

from __future__ import annotations

import json

import pytest

from livestream.routes import ROUTES
from local.cfn import ROOT, Template

TEMPLATE = Template.load(Stage="test")
FALLBACK = "RouteNotFoundFunction"
FUNCTIONS = TEMPLATE.functions()


def _declared_routes() -> set[tuple[str, str]]:
    return {(e.path, e.method) for name, f in FUNCTIONS.items() if name != FALLBACK for e in f.api_events}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_step_1_the_function_has_its_code_and_build(name):
    function = FUNCTIONS[name]
    assert function.module_file.is_file(), f"{name}: step 1, write {function.module_file.relative_to(ROOT)}"
    assert (function.code_dir / "Makefile").is_file(), f"{name}: step 1, copy a function's Makefile into {function.code_dir.relative_to(ROOT)}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_step_2_the_function_logs_to_its_own_log_group_with_retention(name):
    group = FUNCTIONS[name].properties.get("LoggingConfig", {}).get("LogGroup")
    assert isinstance(group, dict) and "Ref" in group, f"{name}: step 2, set LoggingConfig.LogGroup to !Ref <Name>Logs"
    resource = TEMPLATE.resources("AWS::Logs::LogGroup").get(group["Ref"])
    assert resource is not None, f"{name}: step 2, declare the AWS::Logs::LogGroup {group['Ref']}"
    assert "RetentionInDays" in resource["Properties"], f"{name}: step 2, give {group['Ref']} a RetentionInDays"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_step_3_the_function_has_a_sample_event(name):
    event = ROOT / "events" / f"{FUNCTIONS[name].code_dir.name}.json"
    assert event.is_file(), f"{name}: step 3, add the sample event {event.relative_to(ROOT)} (make invoke uses it)"
    json.loads(event.read_text())


def test_step_4_every_route_of_the_template_is_in_the_route_table_and_back():
    declared = _declared_routes()
    table = {(path, method) for path, methods in ROUTES.items() for method in methods}
    missing = sorted(declared - table)
    assert not missing, f"step 4, add these routes to livestream/routes.py ROUTES: {missing}"
    extra = sorted(table - declared)
    assert not extra, f"step 4, these ROUTES entries have no function in template.yaml: {extra}"


def test_step_5_every_path_has_a_405_companion_on_the_fallback():
    companions = {e.path for e in FUNCTIONS[FALLBACK].api_events if e.method == "ANY"}
    missing = sorted({path for path, _ in _declared_routes()} - companions)
    assert not missing, (
        f"step 5, add an `ANY` event on {FALLBACK} for each of: {missing} (else a wrong method is a 403 from API Gateway, not our 405)"
    )
