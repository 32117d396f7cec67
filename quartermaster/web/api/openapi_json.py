"""GET /openapi.json: the OpenAPI 3 document of this API, generated from its code. No token."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.openapi import openapi_document

blueprint = Blueprint("openapi", __name__)


@blueprint.get("/openapi.json")
@describe(summary="This document", response="application/json", public=True)
def openapi_json() -> ResponseReturnValue:
    app = context.current()
    if app.openapi_document is None:
        app.openapi_document = openapi_document(app, app.settings)
    return app.openapi_document
