"""POST /api/v1/live-stream/join-as-broadcaster — the creator (role host) or a listed broadcaster; an RTC publisher token.

Answers `{liveStream, agora, rtm}`. DynamoDB round trips: 1 BatchGetItem (stream, participation,
access, profile) + 1 TransactWriteItems (uid guard, participant, stream); a repeat join
writes nothing. Agora credentials: Secrets Manager via Powertools parameters (cached).
"""

from livestream import participants
from livestream.api import caller, create_app, handler_for
from livestream.envelope import ok
from livestream.joins import JoinRequest

app = create_app()


@app.post("/api/v1/live-stream/join-as-broadcaster", summary="Join a live stream as broadcaster", tags=["Joining"])
def join_as_broadcaster(request: JoinRequest):
    return ok(participants.join(request.liveStreamId, caller(app), "broadcaster"))


lambda_handler = handler_for(app, auth="user")
