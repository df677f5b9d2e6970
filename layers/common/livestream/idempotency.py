"""``Idempotency-Key`` support for create: a retry with the same key answers the first request's result.

Records live in the idempotency table for IDEMPOTENCY_TTL_SECONDS (24 h), keyed by ``[caller, key]`` so
two users' keys never collide. The same key with another body is a 409, and so is a retry that arrives
while the first request is still running (until the first's invocation would have timed out). A create
that fails frees its key; the idempotency table failing is a 503 (throttled or unavailable).

This is the protocol of Powertools' idempotency utility, records included (the same ids, attributes,
conditions and hashes: a record either wrote is honoured by the other), run over the layer's botocore
client (:mod:`livestream.store.idempotency`): the utility itself cannot be imported without boto3 (its
package imports its DynamoDB persistence layer, which imports boto3 at module level: ~35 ms on a
container's first keyed create).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any, Optional

from livestream.clock import now
from livestream.errors import Conflict, field_error
from livestream.settings import get_settings
from livestream.store import idempotency as stored

MAX_KEY_LENGTH = 255
# the name Powertools' utility gave the records of create's idempotent function, after the function's name
_RECORD_PREFIX = "livestream.idempotency.run_once.<locals>.create_stream"


def digest(content: Optional[bytes]) -> Optional[str]:
    return None if content is None else hashlib.sha256(content).hexdigest()


def check_key(key: str) -> str:
    if not (1 <= len(key) <= MAX_KEY_LENGTH) or not key.isprintable():
        raise field_error("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


def _hash(data: Any) -> str:
    """As the utility hashes a key or a body: MD5 of its JSON with sorted keys (an id, not a secret)."""
    return hashlib.md5(json.dumps(data, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


def record_id(caller: str, key: str) -> str:
    return f"{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', 'test-func')}.{_RECORD_PREFIX}#{_hash([caller, key])}"


def run_once(caller: str, key: str, body: dict[str, Any], work: Callable[[], dict[str, Any]], lambda_context: Any) -> dict[str, Any]:
    """``work()``'s result, run once per ``[caller, key]``: a retry answers the first result."""
    settings = get_settings()
    table, record = settings.idempotency_table_name, record_id(caller, check_key(key))
    started, payload = now().timestamp(), _hash(body)
    remaining = lambda_context.get_remaining_time_in_millis() if lambda_context is not None else None
    held = stored.claim(
        table,
        record,
        payload,
        now=started,
        expires=int(started + settings.idempotency_ttl_seconds),
        in_progress_until=None if remaining is None else int(started * 1000) + remaining,
    )
    if held is None:
        return _first(table, record, work)
    if held.payload_hash is not None and held.payload_hash != payload:
        raise Conflict("Idempotency-Key: already used with a different request")
    if held.status != stored.COMPLETED or held.response is None:
        raise Conflict("Idempotency-Key: a request with this key is still in progress")
    answer: dict[str, Any] = json.loads(held.response)
    return answer


def _first(table: str, record: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The first request with the key: its result is kept for the retries; a failure frees the key."""
    try:
        result = work()
    except Exception:
        stored.release(table, record)
        raise
    stored.complete(table, record, json.dumps(result, sort_keys=True), expires=int(now().timestamp()) + get_settings().idempotency_ttl_seconds)
    return result
