"""GET /openapi.json and GET /docs — the API's OpenAPI 3 document and Swagger UI for it.

The document is generated from the functions' own routes and models by ``make openapi`` and ships
beside this file; Swagger UI's assets are Powertools' bundled copies, inlined (no CDN). No AWS calls.
"""

from functools import cache
from pathlib import Path

from livestream.api import Response, create_app, handler_for

app = create_app()
DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def document() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


@cache
def swagger_page() -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    return generate_swagger_html(
        document().replace("</", "<\\/"),
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        None,
        None,
        False,
    )


@app.get("/openapi.json", summary="This OpenAPI document", tags=["Documentation"])
def openapi_document():
    return Response(status_code=200, content_type="application/json", body=document())


@app.get("/docs", summary="Swagger UI for this document", tags=["Documentation"])
def swagger_ui():
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=swagger_page())


lambda_handler = handler_for(app, auth="none")
