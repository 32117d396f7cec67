"""GET /openapi.json: the OpenAPI 3 document of this API, generated from its code. No token."""

from flask import Blueprint, current_app

from ..openapi import openapi_document
from . import current_swarm, describe

blueprint = Blueprint("openapi", __name__)
DOCUMENT_EXTENSION = "quartermaster.openapi"


@blueprint.get("/openapi.json")
@describe(summary="This document", response="application/json")
def openapi_json():
    app = current_app._get_current_object()
    if DOCUMENT_EXTENSION not in app.extensions:
        app.extensions[DOCUMENT_EXTENSION] = openapi_document(app, current_swarm().config)
    return app.extensions[DOCUMENT_EXTENSION]
