"""``Idempotency-Key`` support for create, through the Powertools idempotency utility.

Records live in the idempotency table for IDEMPOTENCY_TTL_SECONDS (24 h), keyed by
``[caller, key]`` so two users' keys never collide. The same key with another body is a 409,
and so is a retry that arrives while the first request is still running.
Imported only by create, and only for a request that carries a key (``streams.create_stream``): other
functions and keyless creates never load the utility, whose DynamoDB persistence layer imports boto3 at
module level (~35 ms, paid by a container's first keyed create; its client is still the layer's).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Optional, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from livestream.errors import Conflict, field_error
from livestream.settings import get_settings
from livestream.store.idempotency import persistence_layer

MAX_KEY_LENGTH = 255


def digest(content: Optional[bytes]) -> Optional[str]:
    return None if content is None else hashlib.sha256(content).hexdigest()


def check_key(key: str) -> str:
    if not (1 <= len(key) <= MAX_KEY_LENGTH) or not key.isprintable():
        raise field_error("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


@lru_cache(maxsize=1)
def _config() -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
    settings = get_settings()
    persistence = persistence_layer(settings.idempotency_table_name)
    config = IdempotencyConfig(
        event_key_jmespath="[user, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_ttl_seconds,
    )
    return persistence, config


def run_once(caller: str, key: str, body: dict[str, Any], work: Callable[[], dict[str, Any]], lambda_context: Any) -> dict[str, Any]:
    persistence, config = _config()
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)

    def create_stream(request: dict[str, Any]) -> dict[str, Any]:
        return work()

    # the utility's decorator is not annotated: its result has the wrapped function's signature
    once = cast(
        Callable[..., dict[str, Any]],
        idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)(create_stream),
    )
    try:
        return once(request={"user": caller, "key": check_key(key), "body": body})
    except IdempotencyValidationError as exc:
        raise Conflict("Idempotency-Key: already used with a different request") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("Idempotency-Key: a request with this key is still in progress") from exc
