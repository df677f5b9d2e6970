"""POST /api/v1/live-stream/create — multipart/form-data or JSON; 201 with the stream (role ``host``).

DynamoDB round trips: 1 BatchGetItem (creator, guests, broadcasters) + 1 TransactWriteItems
(stream, channel guard, memberships); with an Idempotency-Key, +1 conditional put that claims the
idempotency record, whose completion is one more item of that transaction (a retry: 1 conditional
put, answered from the record). A failed write with a thumbnail: +1 consistent GetItem of the stream when
the failure leaves it unknown whether it was written (the thumbnail is kept if it was), before any delete.
"""

from typing import Annotated, Optional

from livestream import snapstart, streams
from livestream.api import Header, caller, create_app, handler_for, parse, request_fields
from livestream.create_command import CreateStreamCommand
from livestream.envelope import ok

app = create_app()
FILES = frozenset({"thumbnail"})


@app.post("/api/v1/live-stream/create", summary="Create a live stream", tags=["Live streams"])
def create_stream(idempotency_key: Annotated[Optional[str], Header(alias="Idempotency-Key")] = None):
    # the body (multipart/form-data or JSON) is read strictly by the layer; its documented schemas
    # are livestream.openapi_models' CreateStreamForm and CreateStreamJson
    fields, files, is_form = request_fields(app, files=FILES)
    command = parse(CreateStreamCommand, fields, form=is_form)
    stream = streams.create_stream(
        caller(app),
        command,
        files.get("thumbnail"),
        idempotency_key=idempotency_key,
        lambda_context=app.lambda_context,
    )
    return ok(stream, status=201)


lambda_handler = handler_for(app, auth="user")
snapstart.register(clients=("s3",))  # SnapStart only: the thumbnail bucket's client is built before the snapshot
