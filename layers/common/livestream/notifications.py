"""The body of an Agora channel event notification (RTC), as the webhook validates it.

A request type validated by pydantic-core alone (:mod:`livestream.schemas`): the webhook loads no
pydantic. Apart from :mod:`livestream.presence`, which applies the events, so that the presence sweep
(which applies none) does not load it.
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic_core import core_schema as cs

from livestream.presence import CHANNEL_DESTROY, USER_EVENTS
from livestream.schemas import Validated, field, text


def _optional(schema: cs.CoreSchema, description: Optional[str] = None) -> cs.ModelField:
    return field(cs.nullable_schema(schema), default=None, description=description)


class ChannelEventPayload(Validated):
    """``payload`` of an RTC channel event. Agora also sends ``platform``, ``clientType``, ``reason``,
    ``duration``, ``account`` (user events) and ``lastUid`` (102): accepted, not needed."""

    config = cs.CoreConfig(extra_fields_behavior="allow")

    channelName: Optional[str]
    uid: Optional[int]
    clientSeq: Optional[int]
    ts: Optional[int]

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        return {
            "channelName": _optional(text(min_length=1, max_length=64)),
            "uid": _optional(cs.int_schema(strict=True, ge=0, le=2**32 - 1)),
            "clientSeq": _optional(cs.int_schema(strict=True, ge=0, le=2**64 - 1), "Orders the events of one uid"),
            "ts": _optional(cs.int_schema(strict=True, ge=0, le=2**40), "When the event happened at Agora (Unix seconds)"),
        }


class AgoraNotification(Validated):
    """One notification of Agora's Notifications service (RTC channel events)."""

    config = cs.CoreConfig(extra_fields_behavior="allow")

    noticeId: str
    productId: int
    eventType: int
    notifyMs: int
    sid: Optional[str]
    payload: ChannelEventPayload

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        return {
            "noticeId": field(text(min_length=1, max_length=200)),
            "productId": field(cs.int_schema(strict=True)),
            "eventType": field(cs.int_schema(strict=True)),
            "notifyMs": field(cs.int_schema(strict=True, ge=0)),
            "sid": _optional(text()),
            "payload": field(ChannelEventPayload.core_schema()),
        }

    @classmethod
    def check(cls, value: Any) -> Any:
        """A user event needs the channel, the uid, its sequence and time; a channel destroy the
        channel and the time (reported as ``payload.<name>: field required``)."""
        needed = ("channelName", "ts") if value.eventType == CHANNEL_DESTROY else ("channelName", "uid", "clientSeq", "ts")
        if value.eventType in USER_EVENTS or value.eventType == CHANNEL_DESTROY:
            for name in needed:
                if getattr(value.payload, name) is None:
                    raise ValueError(f"payload.{name}: field required")
        return value
