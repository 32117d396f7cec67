"""Every request gets an id: a sane incoming X-Request-ID is kept, otherwise one is made.

It is echoed in the X-Request-ID response header and in error bodies, and logged with failures.
"""

import re
import uuid

from flask import Flask, g, request

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def install_request_id(app: Flask) -> None:
    @app.before_request
    def assign_request_id():
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _SANE.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        response.headers[HEADER] = g.get("request_id") or uuid.uuid4().hex
        return response
