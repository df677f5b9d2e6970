"""GET /api/v1/live-stream/user/{userId}/upcoming-live-streams — optional auth; as v2 without `isReminderActive`.

Live streams where the user is creator, broadcaster or guest first, then scheduled ones whose planned
start lies in [now − minutesBefore, now + minutesAfter], by planned start; at most `limit`.
DynamoDB round trips: 1–2 MemberIndex queries + 1 BatchGetItem per 100 keys (streams, the target's
profile, the caller's participations and reminders). The route is the layer's, shared with v2.
"""

from livestream import upcoming
from livestream.api import create_app, handler_for

app = create_app()
upcoming.register_route(app, version=1)

lambda_handler = handler_for(app, auth="optional")
