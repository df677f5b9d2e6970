"""The body of the three join endpoints, validated by pydantic-core alone (:mod:`livestream.schemas`)."""

from __future__ import annotations

from pydantic_core import core_schema as cs

from livestream.ids import ID_PATTERN
from livestream.schemas import Validated, field

__all__ = ["JoinRequest"]


class JoinRequest(Validated):
    """Body of the three join endpoints."""

    config = cs.CoreConfig(strict=True)
    liveStreamId: str

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        return {
            "liveStreamId": field(
                cs.str_schema(pattern=ID_PATTERN),
                description="The stream to join: 24 lowercase hex characters",
                examples=["64d15f9e2e6c8f4d5a123456"],
            ),
        }
