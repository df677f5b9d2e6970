"""The body of an Agora channel event notification (RTC), as the webhook validates it.

Apart from :mod:`livestream.presence`, which applies the events, so that the presence sweep (which
applies none) does not load pydantic.
"""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from livestream.models import Text
from livestream.presence import CHANNEL_DESTROY, USER_EVENTS


class ChannelEventPayload(BaseModel):
    """``payload`` of an RTC channel event. Agora also sends ``platform``, ``clientType``, ``reason``,
    ``duration``, ``account`` (user events) and ``lastUid`` (102): accepted, not needed."""

    model_config = ConfigDict(extra="allow")

    channelName: Optional[Text] = Field(None, min_length=1, max_length=64)
    uid: Optional[StrictInt] = Field(None, ge=0, le=2**32 - 1)
    clientSeq: Optional[StrictInt] = Field(None, ge=0, le=2**64 - 1, description="Orders the events of one uid")
    ts: Optional[StrictInt] = Field(None, ge=0, le=2**40, description="When the event happened at Agora (Unix seconds)")


class AgoraNotification(BaseModel):
    """One notification of Agora's Notifications service (RTC channel events)."""

    model_config = ConfigDict(extra="allow")

    noticeId: Text = Field(min_length=1, max_length=200)
    productId: StrictInt
    eventType: StrictInt
    notifyMs: StrictInt = Field(ge=0)
    sid: Optional[Text] = None
    payload: ChannelEventPayload

    @model_validator(mode="after")
    def _required_for_the_event(self) -> AgoraNotification:
        needed = ("channelName", "ts") if self.eventType == CHANNEL_DESTROY else ("channelName", "uid", "clientSeq", "ts")
        if self.eventType in USER_EVENTS or self.eventType == CHANNEL_DESTROY:
            for name in needed:
                if getattr(self.payload, name) is None:
                    raise ValueError(f"payload.{name}: field required")
        return self
