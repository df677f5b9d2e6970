"""Any route or method the API does not serve: 404, or 405 with an ``Allow`` header, in the envelope.

API Gateway sends here every request that matches no route (``ANY /{proxy+}``) and every request
whose path is known but whose method is not (``ANY`` on each declared path). No DynamoDB access.
"""

import json

from livestream import snapstart
from livestream.envelope import body
from livestream.observability import instrument
from livestream.routes import allowed_methods


def route_not_found(event, context):
    method, path = event.get("httpMethod", ""), event.get("path", "")
    allowed = allowed_methods(event.get("resource", ""))
    if allowed:
        status, detail = 405, f"{method} {path}: allowed methods are {', '.join(allowed)}"
        headers = {"Content-Type": "application/json", "Allow": ", ".join(allowed)}
    else:
        status, detail = 404, f"{method} {path}: no such route"
        headers = {"Content-Type": "application/json"}
    message = "Method not allowed" if status == 405 else "Resource not found"
    return {
        "statusCode": status,
        "headers": headers,
        "body": json.dumps(body(status, errors=[message, detail]), ensure_ascii=False),
        "isBase64Encoded": False,
    }


lambda_handler = instrument(route_not_found)
snapstart.register()  # SnapStart only: prime before the snapshot, refresh after restore
