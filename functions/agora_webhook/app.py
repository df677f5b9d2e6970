"""POST /webhooks/agora — Agora's channel event notifications (RTC): who is really watching or streaming.

The signature (``Agora-Signature-V2``, HMAC-SHA256 of the raw body with the notification secret) is
checked before anything is parsed: missing or wrong is 401 and nothing is applied. Then the body is
validated (400 naming the field) and applied; unknown channels and uids are acknowledged (200).

DynamoDB round trips (a user event): GetItem, 2 BatchGetItem, 1 TransactWriteItems (+1 UpdateItem).
"""

from typing import Annotated

from livestream import presence, snapstart
from livestream.api import Body, Header, create_app
from livestream.envelope import ok
from livestream.errors import CANONICAL_MESSAGES, ApiError
from livestream.notifications import AgoraNotification
from livestream.observability import instrument, logger
from livestream.secrets import SecretUnavailable

app = create_app()


@app.post("/webhooks/agora", summary="Agora channel events (Notifications service)", tags=["Presence"])
def agora_webhook(
    notification: Annotated[AgoraNotification, Body()],
    signature: Annotated[
        str,
        Header(alias="Agora-Signature-V2", description="Hex HMAC-SHA256 of the raw body, keyed with the notification secret"),
    ],
):
    result = presence.apply(notification, app.lambda_context.get_remaining_time_in_millis)
    logger.info("agora notification", extra=result)
    return ok(result)


def handle(event, context):
    try:
        presence.verify_signature(event)
    except SecretUnavailable:
        return _retry_later()
    except ApiError as exc:
        return app.fail_proxy(exc.status, exc.errors, exc)
    except Exception:  # the secret could not be read: Agora retries a non-200
        return _retry_later()
    return app.resolve(event, context)


def _retry_later():
    logger.exception("the notification secret is unavailable")
    answer = app.fail_proxy(503, [CANONICAL_MESSAGES[503]])
    answer["headers"]["Retry-After"] = "5"
    return answer


lambda_handler = instrument(handle)
# SnapStart only: prime before the snapshot; after restore, refresh and fetch the notification secret
snapstart.register(secrets=("agora_notification_secret_name",))
