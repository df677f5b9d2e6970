"""Logger (with the API Gateway request id as correlation id), Tracer and Metrics for every function.

The tracer patches botocore only: every AWS call is a subsegment. Left to itself it would patch every
library the X-Ray SDK knows (requests, httplib, sqlite3, ...), importing each at cold start for
calls no function makes. With ``POWERTOOLS_TRACE_DISABLED=true`` (the local stack, the tests) there is
no tracer at all: Powertools' disabled tracer would still import the X-Ray SDK.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

logger = Logger()
_TRACE_DISABLED = resolve_truthy_env_var_choice(env=os.getenv("POWERTOOLS_TRACE_DISABLED", "false"))
tracer = None if _TRACE_DISABLED else Tracer(patch_modules=("botocore",))
metrics = Metrics()
# Most invocations publish no application metric (only the cold-start one): Powertools warns about
# that on every container's first flush, a log line and ~3 ms (the warning reads Powertools' source
# to quote it) on each cold start.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning, module="aws_lambda_powertools")

Handler = Callable[[dict[str, Any], Any], Any]


def instrument(handler: Handler, *, correlation_id_path: str | None = correlation_paths.API_GATEWAY_REST) -> Handler:
    """Wrap a Lambda handler with context logging, tracing and metric flushing."""
    handler = metrics.log_metrics(capture_cold_start_metric=True)(handler)
    if tracer is not None:
        handler = tracer.capture_lambda_handler(handler)
    return logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(handler)
