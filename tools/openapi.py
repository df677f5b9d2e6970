"""One OpenAPI 3 document for the whole API, generated from the functions' own routes and models.

Each function's routes (recorded by its dispatcher, ``livestream.dispatch``) are declared again on a
Powertools REST resolver, here only, at docs time: its markers translated into Powertools' (see
:func:`powertools_resolver`); each resolver describes its routes (parameters, request bodies) and
Powertools' OpenAPIMerge joins them. This module then states what the resolvers cannot
know: the envelope, each operation's success status and data model, every error status it can
answer with its canonical message, the security schemes, the request bodies that functions read
themselves (``livestream.openapi_models.REQUEST_BODIES``), and the success examples in tools/examples.

    python -m tools.openapi [--check] [openapi.json]

writes the document (``make openapi``), or with ``--check`` fails when the committed one differs
from what the code generates (``make test`` runs the check).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = Path(__file__).with_name("examples")
EXAMPLE_FILES = {
    ("/api/v1/live-stream/create", "POST"): "create",
    ("/api/v1/live-stream/join-as-guest", "POST"): "join-as-guest",
    ("/api/v1/live-stream/{id}/viewers", "GET"): "viewers",
    ("/api/v2/live-stream/user/{userId}/upcoming-live-streams", "GET"): "upcoming-v2",
}
TITLE = "Live stream service"
VERSION = "1.0.0"
DESCRIPTION = (
    "Streams, participants, reminders and Agora tokens of the live-streaming app. Every `/api` and `/internal` "
    "answer is the envelope `{isSuccess, statusCode, data, errors, timestamp}`; `errors[0]` is the status's "
    "canonical message and the entries after it name the field that was wrong. `/v1/live-events` mirrors the "
    "live platform's API and answers in its shapes."
)


def function_apps() -> dict[str, Any]:
    """Every HTTP function's routes as a Powertools resolver, by logical id, each function loaded as
    Lambda would load it (the layer on the path; the clients created at import need a region, nothing
    is called)."""
    import os

    from local.cfn import LAYER_DIR, Template

    if str(LAYER_DIR) not in sys.path:
        sys.path.insert(0, str(LAYER_DIR))
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    template = Template.load(ROOT / "template.yaml")
    apps = {}
    for name, function in template.functions().items():
        if not function.api_events:
            continue
        app = getattr(function.load_module(), "app", None)
        if app is not None and hasattr(app, "routes"):
            apps[name] = powertools_resolver(app)
    return apps


def powertools_resolver(app: Any) -> Any:
    """A Powertools REST resolver with the routes of ``app`` (a ``livestream.dispatch.App``): the same
    paths, methods, summaries and tags, each route function under a signature whose layer markers
    (``livestream.dispatch.Param``) are Powertools' ``Path``/``Query``/``Header``/``Body`` with the same
    options (a body declared by its type alone is marked ``Body()``: Powertools knows a pydantic model
    as a body, not a request type of ``livestream.schemas``). Never called: it only describes the routes."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    resolver = APIGatewayRestResolver(enable_validation=True)
    for route in app.routes:
        resolver.route(route.path, route.method, **route.options)(_translated(route))
    return resolver


def _translated(route: Any) -> Any:
    import functools
    import inspect
    from typing import Annotated, get_args

    from aws_lambda_powertools.event_handler.openapi import params

    markers = {"path": params.Path, "query": params.Query, "header": params.Header, "body": params.Body}

    def annotation(field: Any) -> Any:
        if field.marker is None and field.location == "body":  # a request type Powertools does not know as one
            return Annotated[field.annotation, params.Body()]
        if field.marker is None:
            return field.annotation
        base, *metadata = get_args(field.annotation)
        marker = markers[field.location](**field.marker.options)
        return Annotated[(base, *[marker if item is field.marker else item for item in metadata])]

    @functools.wraps(route.func)
    def described(**kwargs: Any) -> Any:
        return route.func(**kwargs)

    signature = inspect.signature(route.func)
    types = {field.name: annotation(field) for field in route.fields}
    described.__signature__ = signature.replace(  # read by inspect.signature (Powertools reads the parameters there)
        parameters=[parameter.replace(annotation=types[name]) for name, parameter in signature.parameters.items()]
    )
    return described


def build(apps: dict[str, Any]) -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import Server
    from pydantic import TypeAdapter

    from livestream import openapi_models
    from livestream.errors import CANONICAL_MESSAGES
    from livestream.routes import ROUTES

    merge = OpenAPIMerge(title=TITLE, version=VERSION, description=DESCRIPTION, servers=[Server(url="/")], on_conflict="error")
    for name in sorted(apps):
        schema = apps[name].get_openapi_schema(title=TITLE, version=VERSION)
        merge.add_schema(json.loads(schema.model_dump_json(by_alias=True, exclude_none=True)))
    document = merge.get_openapi_schema()
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    components["securitySchemes"] = {
        "bearerJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The user id is the `sub` claim"},
        "apiToken": {"type": "apiKey", "in": "header", "name": "Api-Token", "description": "Server-to-server token of the platform's services"},
        "agoraSignature": {
            "type": "apiKey",
            "in": "header",
            "name": "Agora-Signature-V2",
            "description": "Agora's Notifications service: hex HMAC-SHA256 of the raw body keyed with the notification secret",
        },
    }

    def ref(name: str, model: Any) -> dict[str, str]:
        adapter = TypeAdapter(model)
        generated = adapter.json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in generated.pop("$defs", {}).items():
            schemas.setdefault(def_name, definition)
        schemas.setdefault(name, generated)
        return {"$ref": f"#/components/schemas/{name}"}

    error_envelope = ref("ErrorEnvelope", openapi_models.ErrorEnvelope)
    platform_error = ref("PlatformError", openapi_models.PlatformError)
    examples = success_examples()

    def error(status: int, platform: bool) -> dict[str, Any]:
        message = CANONICAL_MESSAGES[status]
        if platform and status in PLATFORM_ERROR_EXAMPLES:
            body = {"schema": platform_error, "example": PLATFORM_ERROR_EXAMPLES[status]}
        else:
            body = {"schema": error_envelope, "example": _error_example(status, message)}
        return {"description": message, "content": {"application/json": body}}

    for path, operations in ROUTES.items():
        for method, op in operations.items():
            operation = document["paths"][path][method.lower()]
            if op.shape == "raw":
                media = "text/html" if path == "/docs" else "application/json"
                responses = {str(op.success): {"description": "Success", "content": {media: {}}}}
            else:
                data_schema = ref(op.data, openapi_models.DATA_MODELS[op.data]) if op.data else {}
                if op.shape == "envelope":
                    name = f"Envelope_{op.data}" + ("" if op.success == 200 else f"_{op.success}")
                    schemas.setdefault(name, _envelope_schema(data_schema, op.success))
                    data_schema = {"$ref": f"#/components/schemas/{name}"}
                success: dict[str, Any] = {"schema": data_schema}
                if (path, method) in examples:
                    success["example"] = examples[(path, method)]
                responses = {str(op.success): {"description": "Success", "content": {"application/json": success}}}
            # every operation that reaches a dependency may answer 503 with Retry-After
            for status in sorted({*op.errors, 405, 429, 500, *(() if op.shape == "raw" else (503,))}):
                responses[str(status)] = error(status, op.shape == "platform")
            if "503" in responses:
                responses["503"]["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
            responses["429"] = THROTTLED
            operation["responses"] = responses
            bodies = openapi_models.REQUEST_BODIES.get((path, method))
            if bodies:  # a body the function reads itself (create: multipart or JSON)
                content: dict[str, Any] = {media: {"schema": ref(model.__name__, model)} for media, model in bodies.items()}
                if "multipart/form-data" in content:
                    content["multipart/form-data"]["encoding"] = {"thumbnail": {"contentType": "image/jpeg, image/png, image/webp"}}
                operation["requestBody"] = {"required": True, "content": content}
            if op.auth in ("user", "optional"):
                operation["security"] = [{"bearerJwt": []}] + ([{}] if op.auth == "optional" else [])
            elif op.auth == "api_token":
                operation["security"] = [{"apiToken": []}]
            elif op.auth == "agora_signature":
                operation["security"] = [{"agoraSignature": []}]
    document["components"]["schemas"] = dict(sorted(_reachable(document, schemas).items()))
    document["paths"] = dict(sorted(document["paths"].items()))
    return document


RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before retrying: a dependency (DynamoDB, S3, Secrets Manager, SQS) throttled or failed",
    "schema": {"type": "integer", "minimum": 1},
}

# 429 is API Gateway's own answer (its throttling, template.yaml's THROTTLED gateway response): a gateway
# response template is not processed by VTL, so its timestamp is the gateway's request time as API Gateway
# writes it (no gateway variable gives ISO 8601 with milliseconds)
GATEWAY_TIME = "15/Jan/2026:10:30:00 +0000"
THROTTLED = {
    "description": (
        "Too many requests: API Gateway's throttling answers this itself, in the envelope, but its `timestamp` is the "
        "gateway's request time as API Gateway writes it (`dd/MMM/yyyy:HH:mm:ss +0000`), not ISO 8601"
    ),
    "headers": {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1}}},
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorEnvelope"},
            "example": {"isSuccess": False, "statusCode": 429, "data": None, "errors": ["Too many requests"], "timestamp": GATEWAY_TIME},
        }
    },
}

PLATFORM_ERROR_EXAMPLES = {
    400: {"error": True, "code": 400100, "message": "limit: must be less than or equal to 100"},
    401: {"error": True, "code": 401121, "message": "Api-Token: invalid token"},
}


def _reachable(document: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The component schemas the paths use, directly or through other schemas (Powertools' 422
    validation-error schemas go: this API answers validation errors as 400 in the envelope)."""
    prefix = "#/components/schemas/"
    seen: set[str] = set()
    pending = [document["paths"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] not in seen:
                seen.add(ref[len(prefix) :])
                pending.append(schemas[ref[len(prefix) :]])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return {name: schema for name, schema in schemas.items() if name in seen}


def _envelope_schema(data_schema: dict[str, Any], status: int) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["isSuccess", "statusCode", "data", "errors", "timestamp"],
        "properties": {
            "isSuccess": {"type": "boolean", "const": True},
            "statusCode": {"type": "integer", "const": status},
            "data": data_schema,
            "errors": {"type": "array", "items": {"type": "string"}, "maxItems": 0},
            "timestamp": {"type": "string", "format": "date-time"},
        },
    }


def _error_example(status: int, message: str) -> dict[str, Any]:
    return {"isSuccess": False, "statusCode": status, "data": None, "errors": [message], "timestamp": "2026-01-15T10:30:00.000Z"}


def success_examples() -> dict[tuple[str, str], Any]:
    """Success examples: one answer body per documented operation, kept in tools/examples."""
    return {key: json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8")) for key, name in EXAMPLE_FILES.items()}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", default=str(ROOT / "openapi.json"))
    parser.add_argument("--check", action="store_true", help="fail if the file differs from the generated document")
    args = parser.parse_args(argv)
    generated = render(build(function_apps()))
    target = Path(args.output)
    if args.check:
        if not target.exists() or target.read_text() != generated:
            print(f"{target} is not what the code generates: run `make openapi` and commit it", file=sys.stderr)
            return 1
        print(f"{target} matches the code")
        return 0
    target.write_text(generated)
    print(f"wrote {target} ({len(document_paths(generated))} paths)")
    return 0


def document_paths(rendered: str) -> list[str]:
    return list(json.loads(rendered)["paths"])


if __name__ == "__main__":
    sys.exit(main())
