"""POST /api/v1/live-stream/join-as-audience — any signed-in user of an active stream (a paid one
needs a granted access); an RTC subscriber token, and the caller becomes a viewer.

Answers `{liveStream, agora, rtm}`. DynamoDB round trips: 1 BatchGetItem (stream, participation,
access, profile) + 1 TransactWriteItems (uid guard, participant, stream) (+1 UpdateItem raising the peak audience); a repeat join
writes nothing. Agora credentials: Secrets Manager via Powertools parameters (cached).
"""

from livestream import participants
from livestream.api import caller, create_app, handler_for
from livestream.envelope import ok
from livestream.joins import JoinRequest

app = create_app()


@app.post("/api/v1/live-stream/join-as-audience", summary="Join a live stream as audience", tags=["Joining"])
def join_as_audience(request: JoinRequest):
    return ok(participants.join(request.liveStreamId, caller(app), "audience"))


lambda_handler = handler_for(app, auth="user")
