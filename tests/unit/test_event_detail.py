"""Every event detail the publisher can build is exactly what the published model (and the JSON Schemas
generated from it) says: built as a plain dict at run time, it is held to ``EventDetail`` here, for any
stored stream, any previous state and any time the record carries."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from livestream.clock import iso
from livestream.event_models import EventDetail
from livestream.events_out import detail

ids = st.text("0123456789abcdef", min_size=24, max_size=24)
states = st.sampled_from(["scheduled", "active", "ended", "cancelled"])
counts = st.integers(0, 10**9)
stored_streams = st.fixed_dictionaries(
    {"id": ids, "creatorId": ids, "status": states, "title": st.text(min_size=1, max_size=120)},
    optional={"audienceCount": counts, "peakAudience": counts, "cumulativeAudience": counts},
)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)).map(iso)


@settings(max_examples=300, deadline=None)
@given(stored_streams, st.none() | states, times)
def test_every_detail_is_a_fixed_point_of_the_published_model(item, previous, at):
    built = detail(item, previous, at)
    assert EventDetail.model_validate(built).model_dump(mode="json") == built
    assert list(built) == list(EventDetail.model_fields)


def test_a_detail_with_a_wrong_shape_is_refused_by_the_model():
    built = detail({"id": "a" * 24, "creatorId": "b" * 24, "status": "active", "title": "t"}, None, "2026-01-15T10:30:00.000Z")
    for broken in ({**built, "time": "2026-01-15T10:30:00Z"}, {**built, "state": "live"}, {**built, "extra": 1}):
        try:
            EventDetail.model_validate(broken)
        except ValueError:
            continue
        raise AssertionError(f"the model accepted {broken}")
