"""GET /api/v2/live-stream/user/{userId}/upcoming-live-streams — optional auth; each item with `isReminderActive` (`null` for anonymous callers).

Live streams where the user is creator, broadcaster or guest first, then scheduled ones whose planned
start lies in [now − minutesBefore, now + minutesAfter], by planned start; at most `limit`.
DynamoDB round trips: 1–2 MemberIndex queries + 1 BatchGetItem per 100 keys (streams, the target's
profile, the caller's participations and reminders). The route is the layer's, shared with v1.
"""

from livestream import upcoming
from livestream.api import create_app, handler_for

app = create_app()
upcoming.register_route(app, version=2)

lambda_handler = handler_for(app, auth="optional")
