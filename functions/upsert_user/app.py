"""PUT /internal/v1/users/{userId} — Api-Token; the user service upserts a profile.

DynamoDB round trips: 1 PutItem.
"""

from livestream import users
from livestream.api import UserId, create_app, handler_for
from livestream.envelope import ok
from livestream.profile_types import UserProfileIn

app = create_app()


@app.put("/internal/v1/users/<userId>", summary="Upsert a user profile", tags=["Internal"])
def upsert_user(userId: UserId, profile: UserProfileIn):
    return ok(users.upsert_profile(userId, profile))


lambda_handler = handler_for(app, auth="api_token")
