"""``livestream.notifications``: Agora's notification body, declared as pydantic-core schemas, accepts and
refuses exactly what the pydantic models it replaced did, with the same errors (the cross-field rule
too), keeps what presence reads, and documents itself the same (the reference models are kept here,
as they were written)."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated, Any, Optional

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StrictInt, TypeAdapter, ValidationError, model_validator
from pydantic_core import ValidationError as CoreValidationError

from livestream.api import validation_details
from livestream.notifications import AgoraNotification, ChannelEventPayload
from livestream.presence import CHANNEL_DESTROY, USER_EVENTS
from livestream.rules import check_text

# ---------------------------------------------------------------- the reference: the pydantic models replaced

Text = Annotated[str, Strict(), AfterValidator(check_text)]


class RefChannelEventPayload(BaseModel):
    """``payload`` of an RTC channel event. Agora also sends ``platform``, ``clientType``, ``reason``,
    ``duration``, ``account`` (user events) and ``lastUid`` (102): accepted, not needed."""

    model_config = ConfigDict(extra="allow", title="ChannelEventPayload")

    channelName: Optional[Text] = Field(None, min_length=1, max_length=64)
    uid: Optional[StrictInt] = Field(None, ge=0, le=2**32 - 1)
    clientSeq: Optional[StrictInt] = Field(None, ge=0, le=2**64 - 1, description="Orders the events of one uid")
    ts: Optional[StrictInt] = Field(None, ge=0, le=2**40, description="When the event happened at Agora (Unix seconds)")


class RefAgoraNotification(BaseModel):
    """One notification of Agora's Notifications service (RTC channel events)."""

    model_config = ConfigDict(extra="allow", title="AgoraNotification")

    noticeId: Text = Field(min_length=1, max_length=200)
    productId: StrictInt
    eventType: StrictInt
    notifyMs: StrictInt = Field(ge=0)
    sid: Optional[Text] = None
    payload: RefChannelEventPayload

    @model_validator(mode="after")
    def _required_for_the_event(self) -> RefAgoraNotification:
        needed = ("channelName", "ts") if self.eventType == CHANNEL_DESTROY else ("channelName", "uid", "clientSeq", "ts")
        if self.eventType in USER_EVENTS or self.eventType == CHANNEL_DESTROY:
            for name in needed:
                if getattr(self.payload, name) is None:
                    raise ValueError(f"payload.{name}: field required")
        return self


# ---------------------------------------------------------------- notifications, valid and not

others = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=3), st.just([]), st.just({}))


def _int(*bounds: int) -> st.SearchStrategy[Any]:
    edges = sorted({*bounds, *(b - 1 for b in bounds), *(b + 1 for b in bounds)})
    return st.one_of(st.sampled_from(edges), st.integers(0, 2**33), st.sampled_from([1.0, True, "7"]), others)


names = st.one_of(st.sampled_from(["", "a", "c" * 64, "c" * 65, "a\x00", "\ud800"]), st.text(max_size=4), others)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "channelName": names,
        "uid": _int(0, 2**32 - 1),
        "clientSeq": _int(0, 2**64 - 1),
        "ts": _int(0, 2**40),
        "platform": st.integers(1, 7),
        "reason": st.text(max_size=3),
    },
)
full_payloads = st.fixed_dictionaries(
    {"channelName": st.just("a-stream-x1y2z3"), "uid": st.integers(0, 9), "clientSeq": st.integers(0, 9), "ts": st.integers(0, 9)}
)
notifications = st.fixed_dictionaries(
    {},
    optional={
        "noticeId": st.one_of(st.sampled_from(["", "n", "n" * 200, "n" * 201, "n\x7f"]), others),
        "productId": st.one_of(st.just(1), others),
        "eventType": st.one_of(st.sampled_from([CHANNEL_DESTROY, *USER_EVENTS, 101, 107]), others),
        "notifyMs": _int(0),
        "sid": st.one_of(st.just("s"), st.just("s\x01"), others),
        "payload": st.one_of(payloads, full_payloads, st.builds(lambda a, b: {**a, **b}, full_payloads, payloads), others),
        "extra": st.just("kept?"),
    },
)
complete = st.fixed_dictionaries(
    {"noticeId": st.just("n-1"), "productId": st.just(1), "eventType": st.sampled_from([CHANNEL_DESTROY, *USER_EVENTS, 101]), "notifyMs": st.just(1)}
)
bodies = st.one_of(
    notifications,
    st.builds(lambda a, b: {**b, **a}, notifications, complete),  # a complete notification, some fields changed
    st.builds(lambda head, payload, changed: {**head, "payload": {**payload, **changed}}, complete, full_payloads, payloads),  # its payload's
)
READ = ("noticeId", "productId", "eventType", "notifyMs", "sid")
READ_IN_PAYLOAD = ("channelName", "uid", "clientSeq", "ts")


def _outcome(validate: Any, data: Any) -> Any:
    """What Agora would see, and what presence reads: the fields, or the API's error details."""
    try:
        validated = validate(data)
    except (ValidationError, CoreValidationError) as exc:
        return ("errors", validation_details(exc.errors()))
    payload = validated.payload
    return ("ok", {name: getattr(validated, name) for name in READ}, {name: getattr(payload, name) for name in READ_IN_PAYLOAD})


@settings(max_examples=500, deadline=None)
@given(bodies)
def test_a_notification_is_accepted_or_refused_as_the_pydantic_model_did_with_the_same_errors(body):
    assert _outcome(AgoraNotification.validate, body) == _outcome(RefAgoraNotification.model_validate, body)


def test_a_user_event_without_its_uid_names_it():
    body = {"noticeId": "n", "productId": 1, "eventType": 105, "notifyMs": 1, "payload": {"channelName": "c", "clientSeq": 1, "ts": 1}}
    try:
        AgoraNotification.validate(body)
    except CoreValidationError as exc:
        assert validation_details(exc.errors()) == ["payload.uid: field required"]
    else:
        raise AssertionError("a user event without its uid was accepted")


def test_fields_presence_does_not_read_are_accepted():
    payload = {"channelName": "c", "uid": 7, "clientSeq": 2, "ts": 3, "platform": 1, "reason": 1, "account": "7"}
    notification = AgoraNotification.validate({"noticeId": "n", "productId": 1, "eventType": 105, "notifyMs": 1, "sid": "s", "payload": payload})
    assert (notification.payload.uid, notification.payload.clientSeq, notification.sid) == (7, 2, "s")


def test_the_documented_schemas_are_the_pydantic_models():
    payload = TypeAdapter(ChannelEventPayload).json_schema(ref_template="#/components/schemas/{model}")
    assert payload == RefChannelEventPayload.model_json_schema(ref_template="#/components/schemas/{model}")
    notification = TypeAdapter(AgoraNotification).json_schema(ref_template="#/components/schemas/{model}")
    reference = RefAgoraNotification.model_json_schema(ref_template="#/components/schemas/{model}")
    reference["$defs"] = {"ChannelEventPayload": reference["$defs"].pop("RefChannelEventPayload")}
    reference["properties"]["payload"] = {"$ref": "#/components/schemas/ChannelEventPayload"}
    assert notification == reference


def test_validating_a_notification_loads_pydantic_core_but_not_pydantic():
    code = (
        "import sys; from livestream.notifications import AgoraNotification\n"
        "AgoraNotification.validate({'noticeId': 'n', 'productId': 1, 'eventType': 101, 'notifyMs': 1, 'payload': {}})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))"
    )
    env = {"PYTHONPATH": ":".join(sys.path), "AWS_DEFAULT_REGION": "us-east-1"}
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert "'pydantic'" not in loaded.stdout and "pydantic_core" in loaded.stdout
