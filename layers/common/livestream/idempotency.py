"""``Idempotency-Key`` support for create: a retry with the same key answers the first request's result.

Records live in the idempotency table for IDEMPOTENCY_TTL_SECONDS (24 h), keyed by ``[caller, key]`` so
two users' keys never collide. The same key with another body is a 409, and so is a retry that arrives
while the first request is still running (until the first's invocation would have timed out). The first
request's answer is written to its record in the same transaction as the stream (``work``'s ``keep``):
the stream and its completed record exist together or not at all. A create that fails frees its key
(unless the record is no longer its claim); the idempotency table failing is a 503 (throttled or
unavailable).

This is the protocol of Powertools' idempotency utility, records included (the same ids, attributes,
conditions and hashes: a record either wrote is honoured by the other; only the utility completes a
record in a write of its own, after the work), run over the layer's botocore client
(:mod:`livestream.store.idempotency`): the utility itself cannot be imported without boto3 (its package
imports its DynamoDB persistence layer, which imports boto3 at module level: ~35 ms on a container's
first keyed create).
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
# ``work``'s way to keep its result: the write (for its own transaction) that completes the key's record
Keep = Callable[[dict[str, Any]], Any]
# the name Powertools' utility gave the records of create's idempotent function, after the function's name
_RECORD_PREFIX = "livestream.idempotency.run_once.<locals>.create_stream"


def still_in_progress() -> Conflict:
    """A retry while the first request runs, or a request whose claim another one took over."""
    return Conflict("Idempotency-Key: a request with this key is still in progress")


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


def run_once(caller: str, key: str, body: dict[str, Any], work: Callable[[Keep], dict[str, Any]], lambda_context: Any) -> dict[str, Any]:
    """``work(keep)``'s result, run once per ``[caller, key]``: a retry answers the first result.

    ``work`` writes what it creates in one transaction with ``keep(result)``, the write that completes
    the key's record with ``result``: the two are written together or not at all, so a key can never
    be left claimed (or freed) with its stream written."""
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
    if isinstance(held, stored.Claim):
        return _first(held, work)
    if held.payload_hash is not None and held.payload_hash != payload:
        raise Conflict("Idempotency-Key: already used with a different request")
    if held.status != stored.COMPLETED or held.response is None:
        raise still_in_progress()
    answer: dict[str, Any] = json.loads(held.response)
    return answer


def _first(claim: stored.Claim, work: Callable[[Keep], dict[str, Any]]) -> dict[str, Any]:
    """The first request with the key: its result is kept for the retries (in its own transaction); a
    failure frees the key, unless the record is no longer this request's claim."""

    def keep(result: dict[str, Any]) -> Any:
        expires = int(now().timestamp()) + get_settings().idempotency_ttl_seconds
        return stored.completion(claim, json.dumps(result, sort_keys=True), expires=expires)

    try:
        return work(keep)
    except Exception:
        stored.release(claim)
        raise
