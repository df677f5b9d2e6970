"""POST /api/v1/live-stream/join-as-guest — a listed guest; an RTC publisher token.

Answers `{liveStream, agora, rtm}`. DynamoDB round trips: 1 BatchGetItem (stream, participation,
access, profile) + 1 TransactWriteItems (uid guard, participant, stream); a repeat join
writes nothing. Agora credentials: Secrets Manager via Powertools parameters (cached).
"""

from livestream import participants
from livestream.api import caller, create_app, handler_for
from livestream.envelope import ok
from livestream.joins import JoinRequest

app = create_app()


@app.post("/api/v1/live-stream/join-as-guest", summary="Join a live stream as guest", tags=["Joining"])
def join_as_guest(request: JoinRequest):
    return ok(participants.join(request.liveStreamId, caller(app), "guest"))


lambda_handler = handler_for(app, auth="user")
