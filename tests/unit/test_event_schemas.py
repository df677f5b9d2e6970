"""The events' JSON Schemas in docs/events/schemas are what the publisher's model generates."""

from __future__ import annotations

import json

import jsonschema

from tools import event_schemas


def test_the_committed_schemas_are_current():
    assert event_schemas.main(["--check"]) == 0, "run `python -m tools.event_schemas` and commit docs/events/schemas"


def test_each_schema_is_valid_and_rejects_what_the_publisher_never_sends():
    for detail_type in event_schemas.MEANING:
        schema = json.loads((event_schemas.SCHEMAS / f"{detail_type}.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        state = event_schemas.MEANING[detail_type][1][0]
        event = {
            "version": "0",
            "id": "e1",
            "detail-type": detail_type,
            "source": "live-stream",
            "account": "123456789012",
            "time": "2026-01-15T10:30:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "streamId": "6b0c3c153799906816d9fdd1",
                "creatorId": "64d15f9e2e6c8f4d5a123456",
                "state": state,
                "previousState": event_schemas.MEANING[detail_type][2][0],
                "title": "Morning show",
                "time": "2026-01-15T10:30:00.000Z",
                "audience": {"current": 0, "peak": 3, "cumulative": 7},
            },
        }
        assert validator.is_valid(event), detail_type
        for bad in (
            {"time": "2026-01-15T10:30:00Z"},  # no milliseconds
            {"streamId": "not-an-id"},
            {"state": "paused"},
            {"audience": {"current": -1, "peak": 0, "cumulative": 0}},
            {"extra": 1},
        ):
            assert not validator.is_valid({**event, "detail": {**event["detail"], **bad}}), (detail_type, bad)
        assert not validator.is_valid({**event, "source": "someone-else"})
