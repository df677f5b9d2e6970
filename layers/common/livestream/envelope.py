"""The response envelope shared by every ``/api`` and ``/internal`` endpoint, and :class:`Response`,
what a route answers."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Optional, Union

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


class Response:
    """What a route answers: a status, a body (``bytes`` are sent base64-encoded) and headers."""

    def __init__(
        self,
        status_code: int,
        content_type: Optional[str] = None,
        body: Union[str, bytes, None] = None,
        headers: Optional[Mapping[str, Union[str, list[str]]]] = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.headers: dict[str, Union[str, list[str]]] = dict(headers) if headers else {}
        if content_type:
            self.headers.setdefault("Content-Type", content_type)

    def to_proxy(self) -> dict[str, Any]:
        """The Lambda proxy result (REST: ``multiValueHeaders``)."""
        body, encoded = self.body, False
        if isinstance(body, bytes):
            body, encoded = base64.b64encode(body).decode(), True
        headers = {name: [value] if isinstance(value, str) else list(value) for name, value in self.headers.items() if value is not None}
        return {"statusCode": self.status_code, "body": body, "isBase64Encoded": encoded, "multiValueHeaders": headers}


def ok(data: Any, status: int = 200) -> Response:
    """A success answer: ``data`` in the envelope."""
    return Response(status_code=status, content_type=JSON, body=dumps(body(status, data)))
