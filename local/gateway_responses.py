"""API Gateway's own answers (gateway responses), rendered from template.yaml's ``GatewayResponses``.

API Gateway answers some requests itself, without the function: the function failed, timed out or
answered something that is not a proxy response (``INTEGRATION_FAILURE`` / ``INTEGRATION_TIMEOUT``), the
Lambda event would be over Lambda's 6 MB invoke limit (``REQUEST_TOO_LARGE``), no resource matches the
path (``MISSING_AUTHENTICATION_TOKEN``), throttling (``THROTTLED``). Each answer is the response type's
entry in ``GatewayResponses``; a type without one falls back to ``DEFAULT_4XX`` / ``DEFAULT_5XX``, whose
``StatusCode``, when set, replaces the status of every type it covers; without either, API Gateway's
default ``{"message": ...}`` body. A gateway-response template is *not* processed by VTL: only simple
``$context.…`` variables are substituted ("A GatewayResponse mapping template isn't processed by the
Velocity Template Language (VTL) engine", API Gateway developer guide,
x-amazon-apigateway-gateway-responses.responseTemplates), and ``$context.requestTime`` is in the
access-log (CLF) format ``29/Nov/2026:20:30:00 +0000``, not ISO 8601.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass

from local.cfn import GatewayResponseConfig, Template

# response type → (default status, default $context.error.message), as API Gateway documents them
# ("Gateway response types for API Gateway"); a Lambda function error surfaces as INTEGRATION_FAILURE
# with 502 (API Gateway's "Internal server error" for a failed or malformed Lambda proxy answer)
DEFAULTS: dict[str, tuple[int, str]] = {
    "INTEGRATION_FAILURE": (502, "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "THROTTLED": (429, "Too Many Requests"),
}
_VARIABLE = re.compile(r"\$context\.([A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9_])")


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def clf_time(epoch: float) -> str:
    """``$context.requestTime``: ``29/Nov/2026:20:30:00 +0000`` (API Gateway's CLF format, UTC)."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch))


def context_variables(response_type: str, message: str, request: dict[str, str], epoch: float) -> dict[str, str]:
    """The ``$context`` variables a gateway response can use; ``request`` holds ``httpMethod``, ``path``,
    ``resourcePath``, ``stage`` and ``sourceIp`` where known."""
    return {
        "requestId": request.get("requestId") or str(uuid.uuid4()),
        "extendedRequestId": request.get("requestId") or str(uuid.uuid4()),
        "requestTime": clf_time(epoch),
        "requestTimeEpoch": str(int(epoch * 1000)),
        "httpMethod": request.get("httpMethod", ""),
        "path": request.get("path", ""),
        "resourcePath": request.get("resourcePath", ""),
        "stage": request.get("stage", "local"),
        "identity.sourceIp": request.get("sourceIp", "127.0.0.1"),
        "error.message": message,
        "error.messageString": json.dumps(message),  # the message as a quoted JSON string
        "error.responseType": response_type,
    }


def substitute(text: str, variables: dict[str, str]) -> str:
    """Simple ``$context.name`` substitution, as API Gateway does in a gateway-response template (an
    unknown variable becomes empty)."""
    return _VARIABLE.sub(lambda m: variables.get(m[1], ""), text)


class GatewayResponses:
    """Renders the template's gateway responses for the local gateway."""

    def __init__(self, template: Template) -> None:
        self.configured = template.gateway_responses()

    def _config(self, response_type: str, status: int) -> GatewayResponseConfig | None:
        fallback = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        return self.configured.get(response_type) or self.configured.get(fallback)

    def render(self, response_type: str, request: dict[str, str] | None = None, epoch: float | None = None) -> GatewayAnswer:
        default_status, message = DEFAULTS[response_type]
        config = self._config(response_type, default_status)
        variables = context_variables(response_type, message, request or {}, time.time() if epoch is None else epoch)
        if config is None or not config.templates:
            body, content_type = '{"message":$context.error.messageString}', "application/json"
        else:
            content_type, body = _template_for(config.templates)
        status = config.status if config is not None and config.status is not None else default_status
        headers = [("Content-Type", content_type), ("x-amzn-RequestId", variables["requestId"])]
        headers += list(config.headers.items()) if config is not None else []
        return GatewayAnswer(status, headers, substitute(body, variables).encode("utf-8"))


def _template_for(templates: dict[str, str]) -> tuple[str, str]:
    """The content type and template API Gateway uses: ``application/json`` when declared, else the first."""
    if "application/json" in templates:
        return "application/json", templates["application/json"]
    content_type, body = next(iter(templates.items()))
    return content_type, body


def answer_tuple(answer: GatewayAnswer) -> tuple[int, list[tuple[str, str]], bytes]:
    return answer.status, answer.headers, answer.body
