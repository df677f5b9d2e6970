"""POST /api/v1/live-stream/create — multipart/form-data or JSON; 201 with the stream (role ``host``).

DynamoDB round trips: 1 BatchGetItem (creator, guests, broadcasters) + 1 TransactWriteItems
(stream, channel guard, memberships); with an Idempotency-Key, +1 conditional put and +1 update
of the idempotency record (a retry: 1 conditional put, answered from the record).
"""

from typing import Annotated, Optional, Union

from aws_lambda_powertools.event_handler.openapi.params import File, Form, Header, UploadFile

from livestream import snapstart, streams
from livestream.api import caller, create_app, handler_for, parse
from livestream.envelope import ok
from livestream.models import CreateStreamCommand

app = create_app()

FormText = Optional[Union[str, int, float]]


@app.post("/api/v1/live-stream/create", summary="Create a live stream", tags=["Live streams"])
def create_stream(
    title: Annotated[Optional[str], Form(description="1–120 characters after trimming")] = None,
    liveStreamType: Annotated[Optional[str], Form(description="solo (default) or multi")] = None,
    guests: Annotated[Optional[Union[str, list[str]]], Form(description="JSON array of user ids (at most 10)")] = None,
    broadcasters: Annotated[Optional[Union[str, list[str]]], Form(description="JSON array of user ids (multi only, at most 5)")] = None,
    price: Annotated[FormText, Form(description="positive, at most 2 decimals, at most 10000; makes the stream paid")] = None,
    durationGoal: Annotated[FormText, Form(description="whole minutes, 1–1440")] = None,
    motivation: Annotated[Optional[str], Form(description="at most 1000 characters")] = None,
    interest: Annotated[Optional[str], Form(description="at most 50 characters")] = None,
    plannedStartDate: Annotated[Optional[str], Form(description="ISO 8601; absent means live now")] = None,
    thumbnail: Annotated[Optional[UploadFile], File(description="JPEG, PNG or WebP, at most 4 MiB")] = None,
    idempotency_key: Annotated[Optional[str], Header(alias="Idempotency-Key")] = None,
):
    command = parse(
        CreateStreamCommand,
        {
            "title": title,
            "liveStreamType": liveStreamType,
            "guests": guests,
            "broadcasters": broadcasters,
            "price": price,
            "durationGoal": durationGoal,
            "motivation": motivation,
            "interest": interest,
            "plannedStartDate": plannedStartDate,
        },
    )
    stream = streams.create_stream(
        caller(app),
        command,
        thumbnail.content if thumbnail is not None else None,
        idempotency_key=idempotency_key,
        lambda_context=app.lambda_context,
    )
    return ok(stream, status=201)


lambda_handler = handler_for(app, auth="user")
snapstart.register(clients=("s3",))  # SnapStart only: the thumbnail bucket's client is built before the snapshot
