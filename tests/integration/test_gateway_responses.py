"""API Gateway's own answers come from template.yaml's GatewayResponses, on AWS and locally alike.

The local gateway renders the template's entries itself (``local/gateway_responses.py``): a function
that fails answers DEFAULT_5XX (503, ``Retry-After``, the template's envelope), an event over Lambda's
6 MB invoke limit REQUEST_TOO_LARGE, a path no resource matches MISSING_AUTHENTICATION_TOKEN (404).
The body is the template's text with only ``$context`` variables substituted (no VTL), so its
``timestamp`` is ``$context.requestTime`` in CLF, not ISO 8601."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.cfn import Template
from local.gateway_responses import GatewayResponses
from local.http_server import Gateway
from local.routing import LAMBDA_PAYLOAD_LIMIT
from tests.integration.test_template import resources
from tests.support import CLF_PATTERN, assert_gateway_answer, local_gateway

EPOCH = 1795984200.0  # 2026-11-29T20:30:00Z
CLF = "29/Nov/2026:20:30:00 +0000"


def _api_responses(template: Template) -> dict[str, Any]:
    (api,) = template.resources("AWS::Serverless::Api").values()
    responses: dict[str, Any] = api["Properties"]["GatewayResponses"]
    return responses


def test_what_sam_deploys_is_what_the_local_gateway_reads():
    """The translated CloudFormation (what API Gateway gets) and the local reader agree on every gateway
    response: status, body template and headers — and every 503 carries Retry-After."""
    (api,) = resources("AWS::ApiGateway::RestApi").values()
    deployed = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]  # SAM writes them into the API's OpenAPI body
    local = Template.load().gateway_responses()
    assert set(deployed) == set(local) >= {"DEFAULT_5XX", "REQUEST_TOO_LARGE", "THROTTLED", "MISSING_AUTHENTICATION_TOKEN"}
    for kind, props in deployed.items():
        assert int(props["statusCode"]) == local[kind].status, kind
        assert props["responseTemplates"] == local[kind].templates, kind
        headers = {k.removeprefix("gatewayresponse.header."): v.strip("'") for k, v in props["responseParameters"].items()}
        assert headers == local[kind].headers, kind
    assert deployed["DEFAULT_5XX"]["statusCode"] == "503"
    assert deployed["DEFAULT_5XX"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'5'"


def test_the_rendered_body_is_the_template_with_context_substituted():
    template = Template.load()
    answer = GatewayResponses(template).render("INTEGRATION_FAILURE", epoch=EPOCH)
    text = _api_responses(template)["DEFAULT_5XX"]["ResponseTemplates"]["application/json"]
    assert answer.status == 503 and ("Retry-After", "5") in answer.headers and ("Content-Type", "application/json") in answer.headers
    assert answer.body.decode() == text.replace("$context.requestTime", CLF)
    assert json.loads(answer.body) == {"isSuccess": False, "statusCode": 503, "data": None, "errors": ["Service unavailable"], "timestamp": CLF}


@pytest.mark.parametrize(
    ("response_type", "status", "message"),
    [
        ("REQUEST_TOO_LARGE", 413, "Payload too large"),
        ("THROTTLED", 429, "Too many requests"),
        ("MISSING_AUTHENTICATION_TOKEN", 404, "Resource not found"),
    ],
)
def test_each_gateway_answer_is_the_envelope_with_a_clf_timestamp(response_type, status, message):
    answer = GatewayResponses(Template.load()).render(response_type, epoch=EPOCH)
    assert answer.status == status
    assert json.loads(answer.body) == {"isSuccess": False, "statusCode": status, "data": None, "errors": [message], "timestamp": CLF}


def test_changing_the_template_changes_the_local_answer():
    template = Template.load()
    template.data = copy.deepcopy(template.data)
    entry = _api_responses(template)["DEFAULT_5XX"]
    entry["StatusCode"] = "502"
    entry["ResponseParameters"]["Headers"]["Retry-After"] = "'30'"
    entry["ResponseTemplates"]["application/json"] = (
        '{"message": $context.error.messageString, "type": "$context.error.responseType", "at": $context.requestTimeEpoch}'
    )
    answer = GatewayResponses(template).render("INTEGRATION_FAILURE", epoch=EPOCH)
    assert answer.status == 502 and ("Retry-After", "30") in answer.headers
    assert json.loads(answer.body) == {"message": "Internal server error", "type": "INTEGRATION_FAILURE", "at": int(EPOCH * 1000)}


def test_without_gateway_responses_api_gateways_defaults_answer():
    template = Template.load()
    template.data = copy.deepcopy(template.data)
    _api_responses(template).clear()
    responses = GatewayResponses(template)
    failure, large = responses.render("INTEGRATION_FAILURE"), responses.render("REQUEST_TOO_LARGE")
    assert (failure.status, json.loads(failure.body)) == (502, {"message": "Internal server error"})
    assert (large.status, json.loads(large.body)) == (413, {"message": "Request Too Long"})


# ------------------------------------------------------------------ the local gateway, in-process


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    yield from local_gateway(Template.load(Stage="local"))


def _failing(handler: str, **properties: Any) -> Iterator[Gateway]:
    """The local gateway with ``GET /openapi.json``'s function changed: another handler, other properties."""
    template = Template.load(Stage="local")
    template.data = copy.deepcopy(template.data)
    template.data["Resources"]["ApiDocsFunction"]["Properties"].update(Handler=handler, **properties)
    yield from local_gateway(template)


def _assert_default_5xx(answer: tuple[int, list[tuple[str, str]], bytes]) -> None:
    assert_gateway_answer(answer, 503, "Service unavailable", "5")


@pytest.mark.parametrize(
    "handler",
    ["app.document", "app.no_such_handler"],  # raises when called with (event, context) / cannot even start (init error)
    ids=["unhandled-error", "init-error"],
)
def test_a_failing_function_answers_default_5xx(handler):
    for gateway in _failing(handler):
        _assert_default_5xx(gateway.handle("GET", "/openapi.json", [], b""))


def test_an_answer_that_is_not_a_proxy_response_is_default_5xx():
    for gateway in _failing("app.swagger_page"):  # returns a string, not {"statusCode": ...}
        _assert_default_5xx(gateway.handle("GET", "/openapi.json", [], b""))


def test_a_function_past_its_timeout_answers_default_5xx_and_its_environment_is_ended(tmp_path):
    (tmp_path / "app.py").write_text("import time\n\ndef lambda_handler(event, context):\n    time.sleep(30)\n")
    for gateway in _failing("app.lambda_handler", CodeUri=str(tmp_path), Timeout=1):
        started = time.monotonic()
        _assert_default_5xx(gateway.handle("GET", "/openapi.json", [], b""))
        assert time.monotonic() - started < 10  # answered at the timeout, not when the handler would end
        pool = gateway.pools["ApiDocsFunction"]
        assert not pool._all  # the timed-out worker was stopped, as Lambda ends that execution environment


def test_an_event_over_lambdas_invoke_limit_is_request_too_large(gateway):
    body = b"{" + b" " * LAMBDA_PAYLOAD_LIMIT + b"}"  # under API Gateway's 10 MB, over Lambda's 6 MB
    status, headers, raw = gateway.handle("POST", "/api/v1/live-stream/create", [("Content-Type", "application/json")], body)
    envelope = json.loads(raw)
    assert status == 413 and dict(headers)["Content-Type"] == "application/json"
    assert envelope["statusCode"] == 413 and envelope["errors"] == ["Payload too large"] and CLF_PATTERN.match(envelope["timestamp"])


def test_a_path_no_resource_matches_is_404_in_the_envelope(gateway):
    status, _, raw = gateway.handle("GET", "/", [], b"")
    assert status == 404 and json.loads(raw)["errors"] == ["Resource not found"]
