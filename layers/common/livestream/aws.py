"""The layer's AWS clients: botocore clients of one botocore session per container, without boto3.

``boto3.client(...)`` is a botocore client made by boto3's default session; importing boto3 for it also
imports its resource layer, ``s3transfer`` and through it ``multiprocessing`` and ``concurrent.futures``
(~30 ms of every cold start, docs/performance.md), none of which a function uses. :func:`client` builds
the same client from botocore directly: one session, created on the first client and shared by all
(one credential chain, one loader of service models and endpoint rules), whose configuration comes
from the environment exactly as boto3's default session's does (``AWS_DEFAULT_REGION``, which Lambda
sets beside ``AWS_REGION``; the credentials' variables or the container's role; ``AWS_ENDPOINT_URL``
and ``AWS_ENDPOINT_URL_<SERVICE>``, as the local stack points them at its emulation).

Every client has :data:`CLIENT_CONFIG`'s retries and timeouts, with per-service changes merged in.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

import botocore.session
from botocore.config import Config

# A dependency that throttles or fails must surface within the function's timeout (10 s) so that the
# function itself answers 503 with Retry-After: botocore's standard retry mode (which also stops
# retrying when most recent calls failed), 3 attempts, short timeouts.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=1, read_timeout=3)

_session: Optional[botocore.session.Session] = None
_lock = threading.Lock()  # botocore sessions are not safe to create clients from concurrently


def session() -> botocore.session.Session:
    """The container's botocore session (created on first use)."""
    global _session
    with _lock:
        if _session is None:
            _session = botocore.session.get_session()
        return _session


def client(service: str, config: Optional[Config] = None) -> Any:
    """A new client of ``service`` ("dynamodb", "s3", …) on the shared session, with CLIENT_CONFIG
    (``config`` merged over it). Each module keeps the clients it makes: build one once, not per call."""
    shared = session()
    with _lock:
        return shared.create_client(service, config=CLIENT_CONFIG.merge(config) if config else CLIENT_CONFIG)
