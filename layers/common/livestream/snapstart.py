"""Lambda SnapStart runtime hooks: prime before the snapshot, refresh after each restore.

With SnapStart (the template's ``SnapStart`` parameter; published versions), Lambda runs the init
phase once, snapshots the process and starts every execution environment from a copy. The Python
runtime ships the hook library ``snapshot_restore_py`` (PyPI ``snapshot-restore-py``, a dev requirement
here for the tests); where it is absent :func:`register` does nothing.

Before the snapshot (:func:`prime`, :func:`prime_routes`) — whatever a first request would build, so
that restored copies start warm; nothing that is a secret or differs per copy, and no AWS request:
  * settings, the layer's imports that the functions load on first use (pyjwt as the configured
    algorithm needs it, the Agora token builder), every request type's pydantic-core validator (pydantic itself is not loaded);
  * botocore's first-call machinery (endpoint rules, serialising, signing, the user agent, the events
    around sending, parsing) through every DynamoDB operation the layer sends (and the events
    publisher's PutEvents), answered in process, and every operation's shapes;
  * one dry request per route, as a signed-in caller: validation, the route's code and its first AWS
    call, which botocore runs up to the socket and fails there (the route answers 503); no secret is
    read, and a client the function had not built is refused outright: it touches no data;
  * the Logger, Metrics and Tracer wrappers, rehearsed (:func:`livestream.observability.rehearse`).
  Each runs :data:`REHEARSALS` times, and all of it with logs, metrics and X-Ray segments rendered
  and dropped (:func:`livestream.observability.silenced`): nothing is emitted before the snapshot.
After each restore (:func:`refresh`) — what must not be shared between copies: the random seed,
cached secrets and their age, the JWKS keys, the AWS clients' pooled connections (the clients
themselves are kept, warm; their credential provider refreshes credentials itself), the socket to
the X-Ray daemon. Then the copy
fetches the secrets its first request will need (the caller's JWT or Api-Token secret, the Agora
credentials, the webhook's notification secret).
"""

from __future__ import annotations

import gc
import importlib
import json
import random
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Optional

from livestream import observability
from livestream.errors import ServiceUnavailable
from livestream.observability import logger

_registered = False
_auth: str | None = None
_clients: set[str] = set()
_secrets: set[str] = set()  # settings fields: the names of secrets a restored copy fetches


def register(app: Any = None, *, auth: str | None = None, clients: tuple[str, ...] = (), secrets: tuple[str, ...] = ()) -> None:
    """Register the hooks (once per process) and, for an HTTP function, its dry request. ``auth`` (as
    ``api.handler_for`` takes it) names the secret a restored copy fetches before its first request,
    ``secrets`` other settings naming secrets its requests read (``"agora_notification_secret_name"``);
    ``clients`` ("s3", "sqs") the clients besides DynamoDB's that the function's requests use."""
    global _registered, _auth
    _auth = auth or _auth
    _clients.update(clients)
    _secrets.update(secrets)
    try:
        runtime = importlib.import_module("snapshot_restore_py")
    except ImportError:  # not Lambda's Python runtime: no snapshot
        return
    if not _registered:
        runtime.register_before_snapshot(settle_memory)  # before-snapshot hooks run in reverse order: last
        runtime.register_before_snapshot(prime)
        runtime.register_after_restore(refresh)
        _registered = True
    if app is not None:
        runtime.register_before_snapshot(lambda: prime_routes(app))


def prime() -> None:
    import agora_token_builder.RtcTokenBuilder  # noqa: F401  - join and renew mint tokens

    from livestream import auth
    from livestream.settings import get_settings
    from livestream.store import warmup

    settings = get_settings()
    _build_validators()
    jwt = auth.pyjwt(asymmetric=settings.jwt_algorithm != "HS256")
    # the JWT path: decode a throwaway token (no secret of ours involved)
    jwt.decode(jwt.encode({"sub": "prime"}, "p" * 32, algorithm="HS256"), "p" * 32, algorithms=["HS256"])
    warmup.prime(_dry_call, _resolve_shapes, times=REHEARSALS)
    for name in _clients:
        _prime_client(name)
    _prime_event_bus()
    observability.rehearse(_PrimeContext(), times=REHEARSALS)


def settle_memory() -> None:
    """The last before-snapshot hook: the garbage of init and priming collected (a full pass, paid once,
    before the snapshot), then everything that is left frozen (``gc.freeze``), so that restored copies'
    collections walk only what their requests allocate."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _prime_event_bus() -> None:
    """The stream-events publisher's EventBridge client, as the table's: PutEvents dry-called (answered
    in process), every operation's shapes resolved."""
    events_out = sys.modules.get("livestream.events_out")
    if events_out is None:
        return
    entry = {"Source": "livestream.snapstart", "DetailType": "dry call", "Detail": "{}"}
    for _ in range(REHEARSALS):
        _dry_call(events_out._client, "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "dry"}]}, {"Entries": [entry]})
    _resolve_shapes(events_out._client)


# Each warm-up runs this many times: CPython specialises a function's bytecode for the types it meets
# only after it has run a few times, so code run once before the snapshot is still slower than warm.
REHEARSALS = 10


def _resolve_shapes(client: Any) -> None:
    """botocore resolves a shape's members (and its serialisation details) on first use and keeps them
    on that shape object; a member reached through another parent is another object (DynamoDB's
    ``AttributeValue`` is one under each ``M`` and ``L``). Resolve every operation's now, each object reached, a recursive shape down to
    :data:`SHAPE_NESTING` levels of itself (items nest maps and lists a few levels deep)."""
    model = client.meta.service_model

    def walk(shape: Any, path: tuple[str, ...]) -> None:
        if shape is None or path.count(shape.name) >= SHAPE_NESTING:
            return
        path = (*path, shape.name)
        shape.serialization, shape.metadata  # noqa: B018 - cached on first read, as the parser reads them
        for child in (getattr(shape, "members", None) or {}).values():
            walk(child, path)
        for attribute in ("member", "key", "value"):
            walk(getattr(shape, attribute, None), path)

    for operation in model.operation_names:
        operation_model = model.operation_model(operation)
        walk(operation_model.input_shape, ())
        walk(operation_model.output_shape, ())


SHAPE_NESTING = 3


def prime_routes(app: Any) -> list[tuple[str, int]]:
    """One dry request per route of ``app``, as a signed-in caller (``DRY_USER``) asking about a stream
    id that exists nowhere: it runs the route's validation and code up to its first AWS call, which
    goes through botocore up to the network and stops there (answered 503). No request leaves the
    process and no secret is read (a route that reads one answers 503 too). Routes whose body the dry
    request does not satisfy stop at validation (400). The answers' statuses."""
    answers = []
    with observability.silenced(), _dry_aws_calls(), _no_secrets():
        for _ in range(REHEARSALS):
            answers = [(f"{event['httpMethod']} {event['resource']}", _dry_request(app, event)) for event in _dry_requests(app)]
    app.context.clear()
    for route, status in answers:
        if status == 500:
            logger.warning("snapstart: a dry request answered 500", extra={"route": route})
    return answers


def _dry_request(app: Any, event: dict[str, Any]) -> int:
    app.context["caller"] = DRY_USER  # what the handler's authentication leaves there
    status: int = app.resolve(event, _PrimeContext())["statusCode"]
    return status


DRY_USER = DRY_ID = "0" * 24
# a body as join and create take it (other routes ignore it or refuse it: 400), and a key that sends
# create through the idempotency utility (imported on a request's first use of it)
DRY_BODY = json.dumps({"liveStreamId": DRY_ID, "title": "dry request"})
DRY_HEADERS = {"Idempotency-Key": "snapstart-dry-request"}


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
    for route in app.routes:  # livestream.dispatch.Route: its method and rule (``<id>`` parameters)
        path = route.path.replace("<", "{").replace(">", "}")
        params = {}
        while "{" in path:
            start, end = path.index("{"), path.index("}")
            params[path[start + 1 : end]] = DRY_ID
            path = path[:start] + DRY_ID + path[end + 1 :]
        body = DRY_BODY if route.method in ("POST", "PUT") else None
        yield {
            "resource": route.path,
            "path": path,
            "httpMethod": route.method,
            "headers": {**DRY_HEADERS, "Content-Type": "application/json"} if body else DRY_HEADERS,
            "multiValueHeaders": {k: [v] for k, v in DRY_HEADERS.items()} | ({"Content-Type": ["application/json"]} if body else {}),
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": params or None,
            "requestContext": {"requestId": "snapstart-prime", "stage": "prime", "httpMethod": route.method, "path": path},
            "body": body,
            "isBase64Encoded": False,
        }


def refresh() -> None:
    random.seed()  # copies restored from one snapshot would otherwise draw the same numbers
    from livestream import auth, secrets

    secrets.clear_cache()
    for client in _built_clients():
        _drop_connections(client)
    auth._jwks_client.cache_clear()  # its keys' age is the snapshot's
    observability.renew_trace_socket()
    _prefetch_secrets()


def _built_clients() -> list[Any]:
    """Every AWS client this process has built (each built once per container, kept across restores:
    its endpoint rules, shapes and user agent are warm from the priming)."""
    from livestream import media, reminders, secrets
    from livestream.store import warmup

    built = [warmup.table_client()]
    built += [factory() for factory in (media._s3, reminders._sqs, secrets._client) if factory.cache_info().currsize]
    events_out = sys.modules.get("livestream.events_out")
    if events_out is not None:  # the stream-events function's EventBridge client
        built.append(events_out._client)
    return built


def _drop_connections(client: Any) -> None:
    """Close the client's pooled connections (none, unless something called AWS before the snapshot):
    a restored copy opens its own, never one another copy holds. The pool is refilled on demand; the
    credential provider refreshes credentials itself."""
    client._endpoint.http_session.close()


def _prefetch_secrets() -> None:
    """This copy's secrets, fetched now (restore) rather than by its first request. A failure (the secret
    unavailable, or a setting naming it missing) is left to that request, which retries and answers 503,
    or names the missing variable."""
    from livestream.errors import ApiError
    from livestream.secrets import get_secret_string
    from livestream.settings import MissingSetting, get_settings

    settings = get_settings()
    fields = set(_secrets)
    if _auth in ("user", "optional") and settings.jwt_algorithm == "HS256":
        fields.add("jwt_secret_name")
    if _auth == "api_token":
        fields.add("api_token_secret_name")
    if "livestream.participants" in sys.modules:  # join and renew mint Agora tokens
        fields.add("agora_secret_name")
    for field in sorted(fields):
        try:
            name = getattr(settings, field)
            if name:
                get_secret_string(name)
        except (ApiError, MissingSetting):
            logger.warning("snapstart: a secret could not be fetched after restore", extra={"setting": field})
        except Exception:  # anything else (an answer the extension garbled): an after-restore hook that
            # raises fails the restore (the runtime exits), where the first request would only retry
            logger.exception("snapstart: fetching a secret after restore failed", extra={"setting": field})


def _prime_client(name: str) -> None:
    """A client besides DynamoDB's ("s3", "sqs"): built, each operation the layer sends with it dry-called
    as the layer sends it (answered in process), every operation's shapes resolved."""
    from livestream.settings import get_settings

    client = _client_factory(name)()
    settings = get_settings()
    calls: list[tuple[str, Optional[dict[str, Any]], dict[str, Any]]]
    if name == "sqs":  # the reminder dispatcher's batches
        entry = {"Id": "0", "MessageBody": "{}", "MessageGroupId": "dry", "MessageDeduplicationId": "dry"}
        calls = [("send_message_batch", {"Successful": [], "Failed": []}, {"QueueUrl": settings.reminder_queue_url, "Entries": [entry]})]
    else:  # create's thumbnail: stored, or deleted when the stream's write is refused
        bucket, key = settings.thumbnail_bucket, "snapstart/dry-call"
        put = {"Bucket": bucket, "Key": key, "Body": b"dry", "ContentType": "image/png", "CacheControl": "public, max-age=31536000, immutable"}
        calls = [("put_object", None, put), ("delete_object", None, {"Bucket": bucket, "Key": key})]
    for _ in range(REHEARSALS):
        for operation, response, params in calls:
            _dry_call(client, operation, response, params)
    _resolve_shapes(client)


def _client_factory(name: str) -> Callable[[], Any]:
    from livestream import media, reminders

    return {"s3": media._s3, "sqs": reminders._sqs}[name]


def _build_validators() -> None:
    """Every request type the function declared (``livestream.schemas.Validated``): its validator."""
    schemas = sys.modules.get("livestream.schemas")
    pending = list(schemas.Validated.__subclasses__()) if schemas is not None else []
    while pending:
        cls = pending.pop()
        cls.validator()
        pending.extend(cls.__subclasses__())


class _Body:
    """A raw response body, as botocore reads it."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.content


def _dry_call(client: Any, operation: str, response: Optional[dict[str, Any]], params: dict[str, Any]) -> None:
    """One call through botocore's whole pipeline (endpoint rules, serialising, signing, the user
    agent, the events around sending, parsing), ``response`` answered in place of sending it (a JSON
    protocol's body; ``None``: a 200 with no body, as S3 answers a put or a delete): nothing leaves the
    process."""
    from botocore.awsrequest import AWSResponse

    def answer(request: Any) -> AWSResponse:
        headers: Any = {} if response is None else {"Content-Type": "application/x-amz-json-1.0"}
        if response is None:
            return AWSResponse(request.url, 200, headers, _Body(b""))
        return AWSResponse(request.url, 200, headers, _Body(json.dumps(response).encode()))

    with _answered_in_process([client], answer), observability.silenced():
        getattr(client, operation)(**params)


_answers: list[Callable[[Any], Any]] = []  # the answer of the dry call running (none outside one)


def _answer_in_process(request: Any, **kwargs: Any) -> Any:
    """A ``before-send`` handler: during a dry call, its answer (botocore then sends nothing);
    otherwise ``None``, and the request is sent."""
    return _answers[-1](request) if _answers else None


@contextmanager
def _answered_in_process(clients: list[Any], answer: Callable[[Any], Any]) -> Iterator[None]:
    """The clients' requests answered by ``answer(request)`` in place of sending them: everything up to
    the socket runs as for a real call. The handler stays registered once the first dry call has
    put it there (a no-op outside dry calls): registering or unregistering a handler resets the
    client's cache of event handlers, which a warm client keeps."""
    for client in clients:
        client.meta.events.register_first("before-send", _answer_in_process, unique_id="snapstart-in-process")
    _answers.append(answer)
    try:
        yield
    finally:
        _answers.pop()


class _DryRun(ServiceUnavailable):
    """An AWS call or secret read during a dry request: answered as the dependency failure it mimics."""


@contextmanager
def _dry_aws_calls() -> Iterator[None]:
    """The function's clients run each call up to the socket, then raise :class:`_DryRun`; any other
    client is refused outright (nothing built during the dry requests may reach the network)."""
    from botocore.client import BaseClient

    clients = _built_clients()
    real: Callable[..., Any] = getattr(BaseClient, _API_CALL)

    def checked(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if not any(self is client for client in clients):
            raise _DryRun()
        return real(self, operation_name, api_params)

    def stop(request: Any) -> None:
        raise _DryRun()

    setattr(BaseClient, _API_CALL, checked)
    try:
        with _answered_in_process(clients, stop):
            yield
    finally:
        setattr(BaseClient, _API_CALL, real)


@contextmanager
def _no_secrets() -> Iterator[None]:
    from livestream import secrets

    real = secrets._fetch

    def refuse(name: str) -> str:
        raise _DryRun()

    secrets._fetch = refuse
    try:
        yield
    finally:
        secrets._fetch = real
        secrets.clear_cache()


_API_CALL = "_make_api_call"  # every client's operations go through it (botocore's, not in its stubs)
