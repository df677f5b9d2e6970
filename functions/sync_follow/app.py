"""PUT / DELETE /internal/v1/users/{userId}/following/{targetUserId} — Api-Token; sync a follow edge.

DynamoDB round trips: 1 TransactWriteItems (both users' profiles checked, the edge put or deleted):
404 naming `userId` / `targetUserId` when the user service never synced that user. Repeating either is harmless.
"""

from livestream import users
from livestream.api import UserId, create_app, handler_for
from livestream.envelope import ok

app = create_app()
PATH = "/internal/v1/users/<userId>/following/<targetUserId>"


@app.put(PATH, summary="Record that a user follows another", tags=["Internal"])
def follow(userId: UserId, targetUserId: UserId):
    return ok(users.follow(userId, targetUserId))


@app.delete(PATH, summary="Remove a follow edge", tags=["Internal"])
def unfollow(userId: UserId, targetUserId: UserId):
    return ok(users.unfollow(userId, targetUserId))


lambda_handler = handler_for(app, auth="api_token")
