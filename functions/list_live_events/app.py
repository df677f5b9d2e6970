"""GET /v1/live-events — server-to-server (``Api-Token``): streams as the live platform's live events.

Compatible with the platform's request parameters and response shape; errors in its shape
(``{"error": true, "code": 400100 | 400111 | 401121, "message": ...}``). DynamoDB round trips: one
BatchGetItem (ids) or queries of the chosen index until the page is full (at most READ_BUDGET items
read), then 1 BatchGetItem for the hosts' streaming flags. See livestream.live_events.
"""

from typing import Annotated, Optional

from livestream import live_events
from livestream.api import Query, Response, create_app, handler_for
from livestream.envelope import JSON, dumps
from livestream.queries import QueryInt, QueryText
from livestream.secrets import get_secret_string
from livestream.settings import get_settings

app = create_app(error_body=live_events.error_body)

Text = Annotated[Optional[QueryText], Query(max_length=200)]
Ids = Annotated[Optional[QueryText], Query(max_length=300, description="Comma-separated, at most 10")]
Millis = Annotated[Optional[QueryInt], Query(ge=0, le=live_events.MAX_MILLIS, description="Unix milliseconds (at most year 9999)")]
Count = Annotated[Optional[QueryInt], Query(ge=0, le=live_events.MAX_COUNT)]


@app.get("/v1/live-events", summary="List live events (live platform compatible)", tags=["Server to server"])
def list_live_events(
    host_type: Text = None,
    state: Annotated[Optional[QueryText], Query(max_length=100, description="Comma-separated: created, ready, ongoing, ended")] = None,
    created_at_start_date: Millis = None,
    created_at_end_date: Millis = None,
    started_at_start_date: Millis = None,
    started_at_end_date: Millis = None,
    participant_count_range_gte: Count = None,
    participant_count_range_lte: Count = None,
    live_event_id: Text = None,
    live_event_ids: Ids = None,
    created_by_user_id: Text = None,
    created_by_user_ids: Ids = None,
    duration_range_gte: Count = None,
    duration_range_lte: Count = None,
    title_contains: Text = None,
    current_host_user_id: Text = None,
    limit: Annotated[QueryInt, Query(ge=1, le=100)] = 10,
    prev: Annotated[Optional[QueryText], Query(max_length=4096)] = None,
    next: Annotated[Optional[QueryText], Query(max_length=4096)] = None,
):
    params = dict(locals())  # exactly the query parameters above, validated and typed
    cursor_key = live_events.cursor_key(get_secret_string(get_settings().api_token_secret_name))
    return Response(status_code=200, content_type=JSON, body=dumps(live_events.list_live_events(params, cursor_key)))


lambda_handler = handler_for(app, auth="api_token")
