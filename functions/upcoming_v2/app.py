"""GET /api/v2/live-stream/user/{userId}/upcoming-live-streams — optional auth; each item with `isReminderActive` (`null` for anonymous callers).

Live streams where the user is creator, broadcaster or guest first, then scheduled ones whose planned
start lies in [now − minutesBefore, now + minutesAfter], by planned start; at most `limit`.
DynamoDB round trips: 1–2 MemberIndex queries + 1 BatchGetItem per 100 keys (streams, the target's
profile, the caller's participations and reminders).
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from livestream import upcoming
from livestream.api import UserId, create_app, handler_for, optional_caller
from livestream.envelope import ok

app = create_app()
MAX_MINUTES = 525_600  # a year


@app.get("/api/v2/live-stream/user/<userId>/upcoming-live-streams", summary="Upcoming streams of a user (v2)", tags=["Upcoming"])
def upcoming_v2(
    userId: UserId,
    limit: Annotated[int, Query(ge=1, le=100, description="Max stream count")] = 10,
    minutesBefore: Annotated[int, Query(ge=0, le=MAX_MINUTES, description="Minutes before now for scheduled streams")] = 1440,
    minutesAfter: Annotated[int, Query(ge=0, le=MAX_MINUTES, description="Minutes after now for scheduled streams")] = 1440,
):
    streams = upcoming.upcoming(
        userId, optional_caller(app), limit=limit, minutes_before=minutesBefore, minutes_after=minutesAfter, with_reminders=True
    )
    return ok(streams)


lambda_handler = handler_for(app, auth="optional")
