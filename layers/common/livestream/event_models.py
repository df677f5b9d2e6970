"""The ``detail`` of every event the service publishes, as a model: docs/events/schemas/*.json are generated
from it (``python -m tools.event_schemas``), and the tests hold :func:`livestream.events_out.detail` to it."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

HEX_ID = r"^[0-9a-f]{24}$"
ISO_MILLIS = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
State = Literal["scheduled", "active", "ended", "cancelled"]


class Audience(BaseModel):
    """Audience counts as the API shows them."""

    model_config = ConfigDict(extra="forbid")
    current: NonNegativeInt = Field(description="viewers watching now (0 unless the stream is active)")
    peak: NonNegativeInt = Field(description="the most viewers at once")
    cumulative: NonNegativeInt = Field(description="distinct viewers who ever joined")


class EventDetail(BaseModel):
    """The detail of every live-stream event: which stream, whose, its state, when, and its audience."""

    # docs/events/schemas/*.json are generated from this model (python -m tools.event_schemas)

    model_config = ConfigDict(extra="forbid")
    streamId: str = Field(pattern=HEX_ID, description="the stream's id")
    creatorId: str = Field(pattern=HEX_ID, description="the id of the stream's creator")
    state: State = Field(description="the stream's status after the change")
    previousState: Optional[State] = Field(description="the status before a transition; null for stream.created and audience.changed")
    title: str = Field(description="the stream's title")
    time: str = Field(pattern=ISO_MILLIS, description="when it happened: ISO 8601 UTC with milliseconds and Z")
    audience: Audience
