"""Logger (with the API Gateway request id as correlation id), Tracer and Metrics for every function.

The tracer patches botocore only: every AWS call is a subsegment. Left to itself it would patch every
library the X-Ray SDK knows (requests, httplib, sqlite3, ...), importing each at cold start for
calls no function makes. With ``POWERTOOLS_TRACE_DISABLED=true`` (the local stack, the tests) there is
no tracer at all: Powertools' disabled tracer would still import the X-Ray SDK.

For SnapStart (:mod:`livestream.snapstart`): :func:`rehearse` runs the three wrappers once before the
snapshot with everything they emit rendered and dropped (:func:`silenced`), so that a restored copy's
first invocation does not pay their first-use costs; :func:`renew_trace_socket` gives each restored
copy its own socket to the X-Ray daemon.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

from livestream import end_init

logger = Logger()
_TRACE_DISABLED = resolve_truthy_env_var_choice(env=os.getenv("POWERTOOLS_TRACE_DISABLED", "false"))
tracer = None if _TRACE_DISABLED else Tracer(patch_modules=("botocore",))
metrics = Metrics()
# Most invocations publish no application metric (only the cold-start one): Powertools warns about
# that on every container's first flush, a log line and ~3 ms (the warning reads Powertools' source
# to quote it) on each cold start.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning, module="aws_lambda_powertools")

Handler = Callable[[dict[str, Any], Any], Any]


_correlation_id_path: str | None = correlation_paths.API_GATEWAY_REST  # the function's, as instrument() last got it


def instrument(handler: Handler, *, correlation_id_path: str | None = correlation_paths.API_GATEWAY_REST) -> Handler:
    """Wrap a Lambda handler with context logging, tracing and metric flushing."""
    global _correlation_id_path
    _correlation_id_path = correlation_id_path
    handler = metrics.log_metrics(capture_cold_start_metric=True)(handler)
    if tracer is not None:
        handler = tracer.capture_lambda_handler(handler)
    wrapped = logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(handler)
    end_init()  # the entry point is wrapped last: the collector, paused for init, runs again
    return wrapped


def rehearse(context: Any, *, times: int = 1) -> None:
    """``times`` invocations of the function's wrappers (:func:`instrument`, its correlation id path) around a
    handler that logs one line and answers nothing, emitting nothing (:func:`silenced`): the Logger's
    context keys, correlation id and first record, the cold-start metric's EMF document and the flush,
    the handler's X-Ray subsegment and its serialisation all run. The cold-start flags are then
    set again: the first invocation after a restore still reports its cold start."""

    def nothing(event: dict[str, Any], context: Any) -> None:
        logger.info("rehearsal")

    wrapped = instrument(nothing, correlation_id_path=_correlation_id_path)
    with silenced():
        for _ in range(times):
            with _cold_start_kept():  # each rehearsal a cold start: its metric, annotation and log key
                wrapped({"requestContext": {"requestId": "rehearsal"}}, context)
    logger.clear_state()


@contextmanager
def _cold_start_kept() -> Iterator[None]:
    """Powertools' cold-start flags (Logger, Metrics, Tracer: module globals) as they were before."""
    from aws_lambda_powertools.logging import logger as logging_module
    from aws_lambda_powertools.metrics.provider import cold_start
    from aws_lambda_powertools.tracing import tracer as tracing_module

    modules: tuple[Any, ...] = (logging_module, cold_start, tracing_module)
    flags = [(module, module.is_cold_start) for module in modules]
    try:
        yield
    finally:
        for module, value in flags:
            module.is_cold_start = value


@contextmanager
def silenced() -> Iterator[None]:
    """While it lasts, log records, EMF documents (printed) and X-Ray segments are rendered as usual and
    dropped: nothing leaves the process. Segments belong to a throwaway sampled trace, not to any
    invocation's."""
    handler = logger.registered_handler
    stream = handler.setStream(io.StringIO()) if isinstance(handler, logging.StreamHandler) else None
    try:
        with redirect_stdout(io.StringIO()), _rendered_segments():
            yield
    finally:
        if isinstance(handler, logging.StreamHandler) and stream is not None:
            handler.setStream(stream)


@contextmanager
def _rendered_segments() -> Iterator[None]:
    if tracer is None:
        yield
        return
    from aws_xray_sdk.core import xray_recorder

    emitter, header = xray_recorder.emitter, os.environ.get(_TRACE_HEADER)
    xray_recorder.emitter = _Renderer()
    os.environ[_TRACE_HEADER] = f"Root=1-00000000-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=1"
    try:
        yield
    finally:
        xray_recorder.clear_trace_entities()
        xray_recorder.emitter = emitter
        if header is None:
            os.environ.pop(_TRACE_HEADER, None)
        else:
            os.environ[_TRACE_HEADER] = header


_TRACE_HEADER = "_X_AMZN_TRACE_ID"  # Lambda sets it for each invocation; the X-Ray SDK reads it


class _Renderer:
    """An X-Ray emitter that serialises what it is given, as the UDP emitter does, and sends nothing."""

    def send_entity(self, entity: Any) -> None:
        entity.serialize()

    def set_daemon_address(self, address: str) -> None:
        pass


def renew_trace_socket() -> None:
    """A new UDP socket to the X-Ray daemon (the address as configured, or as the environment now says),
    the old one closed: copies restored from one snapshot do not share a socket."""
    if tracer is None:
        return
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter

    old = xray_recorder.emitter
    if isinstance(old, UDPEmitter):
        xray_recorder.emitter = UDPEmitter(f"{old.ip}:{old.port}")
        old._socket.close()
