"""Lambda SnapStart runtime hooks: prime before the snapshot, refresh after each restore.

With SnapStart (the template's ``SnapStart`` parameter; published versions), Lambda runs the init
phase once, snapshots the process and starts every execution environment from a copy. The Python
runtime provides ``snapshot_restore_python``; elsewhere (locally, in tests) it is absent and
:func:`register` does nothing.

Before the snapshot (:func:`prime`, :func:`prime_routes`) — whatever a first request would build, so
that restored copies start warm; nothing that is a secret or differs per copy, and no AWS call:
  * settings, the layer's imports that the functions load on first use (pyjwt, the Agora token
    builder), every pydantic model's validator;
  * botocore's first-call machinery (endpoint rules, request serialisation) through a stubbed call,
    and every operation's shapes (cached in the service model that restored copies' clients share);
  * the function's route, validation and error answer, with a dry request that fails validation
    (every AWS call refused while it runs: it touches no data).
After each restore (:func:`refresh`) — what must not be shared between copies: the random seed,
cached secrets and their age, AWS clients with their connection pools (new clients of the same
session; its credential provider refreshes credentials itself). Then the copy fetches the secrets
its first request will need (the caller's JWT or Api-Token secret, the Agora credentials).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from livestream.observability import logger

_registered = False
_auth: str | None = None
_clients: set[str] = set()


def register(app: Any = None, *, auth: str | None = None, clients: tuple[str, ...] = ()) -> None:
    """Register the hooks (once per process) and, for an HTTP function, its dry request. ``auth`` (as
    ``api.handler_for`` takes it) names the secret a restored copy fetches before its first request;
    ``clients`` ("s3", "sqs") the clients besides DynamoDB's that the function's requests use."""
    global _registered, _auth
    _auth = auth or _auth
    _clients.update(clients)
    try:
        from snapshot_restore_python import register_after_restore, register_before_snapshot
    except ImportError:  # not Lambda's Python runtime: no snapshot
        return
    if not _registered:
        register_before_snapshot(prime)
        register_after_restore(refresh)
        _registered = True
    if app is not None:
        register_before_snapshot(lambda: prime_routes(app))


def prime() -> None:
    import agora_token_builder.RtcTokenBuilder  # noqa: F401  - join and renew mint tokens
    import jwt

    from livestream import models
    from livestream.settings import get_settings
    from livestream.store import warmup

    get_settings()
    _build_models(models)
    # the JWT path: decode a throwaway token (no secret of ours involved)
    jwt.decode(jwt.encode({"sub": "prime"}, "p" * 32, algorithm="HS256"), "p" * 32, algorithms=["HS256"])
    warmup.prime(_stubbed_call, _resolve_shapes)
    for name in _clients:
        _resolve_shapes(_client_factory(name)())


def _resolve_shapes(client: Any) -> None:
    """botocore resolves an operation's shapes on its first call and caches them in the service
    model, which a restored copy's new client shares: resolve every operation's now."""
    model = client.meta.service_model
    seen: set[str] = set()

    def walk(shape: Any) -> None:
        if shape is None or shape.name in seen:
            return
        seen.add(shape.name)
        for child in (getattr(shape, "members", None) or {}).values():
            walk(child)
        for attribute in ("member", "key", "value"):
            walk(getattr(shape, attribute, None))

    for operation in model.operation_names:
        operation_model = model.operation_model(operation)
        walk(operation_model.input_shape)
        walk(operation_model.output_shape)


def prime_routes(app: Any) -> list[tuple[str, int]]:
    """One dry request per route of ``app``, each failing validation before any handler code that
    reads data (a path id that is not an id; an empty JSON body; ``limit=0``); the answers' statuses."""
    answers = []
    with _xray_off(), _no_aws_calls():
        for event in _dry_requests(app):
            status = app.resolve(event, _PrimeContext())["statusCode"]
            answers.append((f"{event['httpMethod']} {event['resource']}", status))
            if status >= 500:
                logger.warning("snapstart: a dry request answered %s", status, extra={"route": answers[-1][0]})
    app.clear_context()
    return answers


class _PrimeContext:
    function_name = "snapstart-prime"
    function_version = "$LATEST"
    memory_limit_in_mb = 0
    invoked_function_arn = ""
    aws_request_id = "snapstart-prime"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 1000


def _dry_requests(app: Any) -> Iterator[dict[str, Any]]:
    for route in [*app._static_routes, *app._dynamic_routes]:
        path = route.path.replace("<", "{").replace(">", "}")
        params = {}
        while "{" in path:
            start, end = path.index("{"), path.index("}")
            params[path[start + 1 : end]] = "-"
            path = path[:start] + "-" + path[end + 1 :]
        body = "{}" if route.method in ("POST", "PUT") else None
        yield {
            "resource": route.path,
            "path": path,
            "httpMethod": route.method,
            "headers": {"Content-Type": "application/json"} if body else {},
            "multiValueHeaders": {"Content-Type": ["application/json"]} if body else {},
            "queryStringParameters": {"limit": "0"},
            "multiValueQueryStringParameters": {"limit": ["0"]},
            "pathParameters": params or None,
            "requestContext": {"requestId": "snapstart-prime", "stage": "prime", "httpMethod": route.method, "path": path},
            "body": body,
            "isBase64Encoded": False,
        }


def refresh() -> None:
    random.seed()  # copies restored from one snapshot would otherwise draw the same numbers
    from livestream import auth, media, reminders, secrets, store

    secrets.clear_cache()
    secrets.reset_client()
    store.reset_client()
    media._s3.cache_clear()
    reminders._sqs.cache_clear()
    for name in _clients:  # rebuilt now, not by the first request
        _client_factory(name)()
    auth._jwks_client.cache_clear()
    events_out = sys.modules.get("livestream.events_out")
    if events_out is not None:  # the stream-events function's EventBridge client
        import boto3

        events_out._client = boto3.client("events")
    idempotency = sys.modules.get("livestream.idempotency")
    if idempotency is not None:
        idempotency._config.cache_clear()  # it holds the table client
    _prefetch_secrets()


def _prefetch_secrets() -> None:
    """This copy's secrets, fetched now (restore) rather than by its first request. A failure is left
    to that request, which retries and answers 503 if the secret is still unavailable."""
    from livestream.errors import ApiError
    from livestream.secrets import get_secret_string
    from livestream.settings import get_settings

    settings = get_settings()
    names = []
    if _auth in ("user", "optional") and settings.jwt_algorithm == "HS256":
        names.append(settings.jwt_secret_name)
    if _auth == "api_token":
        names.append(settings.api_token_secret_name)
    if "livestream.participants" in sys.modules:  # join and renew mint Agora tokens
        names.append(settings.agora_secret_name)
    for name in filter(None, names):
        try:
            get_secret_string(name)
        except ApiError:
            logger.warning("snapstart: a secret could not be fetched after restore")


def _client_factory(name: str) -> Callable[[], Any]:
    from livestream import media, reminders

    return {"s3": media._s3, "sqs": reminders._sqs}[name]


def _build_models(module: Any) -> None:
    from pydantic import BaseModel

    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
            value.model_rebuild()


def _stubbed_call(client: Any, operation: str, response: dict[str, Any], params: dict[str, Any]) -> None:
    from botocore.stub import Stubber

    with _xray_off(), Stubber(client) as stubber:
        stubber.add_response(operation, response, params)
        getattr(client, operation)(**params)


@contextmanager
def _xray_off() -> Iterator[None]:
    """No segment exists before the snapshot: keep the X-Ray SDK from complaining about it."""
    if "aws_xray_sdk" not in sys.modules:
        yield
        return
    from aws_xray_sdk import global_sdk_config

    was = global_sdk_config.sdk_enabled()
    global_sdk_config.set_sdk_enabled(False)
    try:
        yield
    finally:
        global_sdk_config.set_sdk_enabled(was)


class _DryRun(Exception):
    pass


@contextmanager
def _no_aws_calls() -> Iterator[None]:
    import botocore.client

    real: Callable[..., Any] = botocore.client.BaseClient._make_api_call

    def refuse(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        raise _DryRun(f"{operation_name} during the dry request")

    botocore.client.BaseClient._make_api_call = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = real  # type: ignore[method-assign]
