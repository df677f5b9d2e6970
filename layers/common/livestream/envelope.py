"""The response envelope shared by every ``/api`` and ``/internal`` endpoint."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from livestream.clock import iso, now
from livestream.errors import CANONICAL_MESSAGES

JSON = "application/json"


def body(status: int, data: Any = None, errors: list[str] | None = None) -> dict[str, Any]:
    ok = 200 <= status < 300
    return {
        "isSuccess": ok,
        "statusCode": status,
        "data": data if ok else None,
        "errors": [] if ok else (errors or [CANONICAL_MESSAGES.get(status, CANONICAL_MESSAGES[500])]),
        "timestamp": iso(now()),
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def ok(data: Any, status: int = 200) -> Response[str]:
    """A success answer: ``data`` in the envelope."""
    return Response(status_code=status, content_type=JSON, body=dumps(body(status, data)))
