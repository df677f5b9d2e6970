"""The state each sample event needs to take its success path, written through the layer itself
(so items have the shapes the functions read) into the local AWS emulation.

Every measured run gets a fresh stream: the sample events name stream ``SAMPLE_STREAM``, which the
bench replaces with the seeded stream's id (and ``Idempotency-Key: sample-1`` with a fresh key), so a
run never finds the state an earlier run left (a stream already started, a reminder already set).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

HOST = "64d15f9e2e6c8f4d5a123456"  # the sample events' creator
VIEWER = "64d15f9e2e6c8f4d5a654321"  # the sample events' other user
SAMPLE_STREAM = "64d15f9e2e6c8f4d5a000001"
SAMPLE_IDEMPOTENCY_KEY = "sample-1"


class Seeder:
    """Imports the layer (the caller has pointed the environment at the emulation first)."""

    def __init__(self) -> None:
        from livestream import clock, models, participants, presence_sweep, reminders, streams, users
        from livestream.create_command import CreateStreamCommand
        from livestream.profile_types import UserProfileIn

        self.command = CreateStreamCommand
        self.presence_sweep = presence_sweep

        self.clock, self.models, self.participants, self.reminders, self.streams, self.users = (
            clock,
            models,
            participants,
            reminders,
            streams,
            users,
        )
        # the viewer's name matches the sample viewers search ("ay")
        for user_id, name in ((HOST, "John"), (VIEWER, "Ayla")):
            profile = UserProfileIn.validate({"username": f"u{user_id[-6:]}", "name": name, "surname": "Doe"})
            users.upsert_profile(user_id, profile)

    def _stream(self, *, scheduled_in: timedelta | None = None, guests: tuple[str, ...] = ()) -> str:
        body: dict[str, Any] = {"title": "Bench stream", "guests": list(guests), "durationGoal": 60}
        if scheduled_in is not None:
            body["plannedStartDate"] = self.clock.iso(self.clock.now() + scheduled_in)
        command = self.command.validate(body)
        return self.streams.create_stream(HOST, command, None)["id"]

    def scheduled(self) -> str:
        # within the reminder lead time, so the dispatcher finds it due
        return self._stream(scheduled_in=timedelta(minutes=5))

    def active(self) -> str:
        return self._stream()

    def with_reminder(self) -> str:
        stream_id = self.scheduled()
        self.reminders.turn_on(stream_id, VIEWER)
        return stream_id

    def with_guest(self) -> str:
        return self._stream(guests=(VIEWER,))

    def watched(self) -> str:
        stream_id = self.active()
        self.participants.join(stream_id, VIEWER, "audience")
        return stream_id

    def for_function(self, name: str) -> dict[str, str]:
        """Replacements to apply to the function's sample event, after seeding what it needs."""
        seeds: dict[str, Callable[[], str]] = {
            "GetStreamFunction": self.active,
            "StartStreamFunction": self.scheduled,
            "EndStreamFunction": self.active,
            "GrantAccessFunction": self.active,
            "JoinAsBroadcasterFunction": self.active,
            "JoinAsGuestFunction": self.with_guest,
            "JoinAsAudienceFunction": self.active,
            "LeaveStreamFunction": self.watched,
            "RenewTokenFunction": self.watched,
            "ListViewersFunction": self.watched,
            "SetReminderFunction": self.scheduled,
            "DeleteReminderFunction": self.with_reminder,
            "UpcomingV1Function": self.scheduled,
            "UpcomingV2Function": self.scheduled,
            "ReminderDispatchFunction": self.with_reminder,
            "ListLiveEventsFunction": self.active,
        }
        if name == "ReminderDispatchFunction":
            self.reminders.dispatch()  # what earlier runs left due is sent now: the run finds one stream
        if name == "PresenceSweepFunction":
            # the state a sweep every minute keeps: swept up to the last whole minute, so the run reads the
            # minutes since (a first sweep ever reads the hour before it: 61 minutes, 488 queries)
            self.presence_sweep.sweep()
        replacements = {SAMPLE_IDEMPOTENCY_KEY: f"bench-{uuid.uuid4().hex}"}
        if name in seeds:
            replacements[SAMPLE_STREAM] = seeds[name]()
        return replacements
