"""Logger (with the API Gateway request id as correlation id), Tracer and Metrics for every function.

The tracer patches botocore only: every AWS call is a subsegment. Left to itself it would patch every
library the X-Ray SDK knows (requests, httplib, sqlite3, ...), importing each at cold start for
calls no function makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths

logger = Logger()
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()

Handler = Callable[[dict[str, Any], Any], Any]


def instrument(handler: Handler, *, correlation_id_path: str | None = correlation_paths.API_GATEWAY_REST) -> Handler:
    """Wrap a Lambda handler with context logging, tracing and metric flushing."""
    handler = metrics.log_metrics(capture_cold_start_metric=True)(handler)
    handler = tracer.capture_lambda_handler(handler)
    return logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(handler)
