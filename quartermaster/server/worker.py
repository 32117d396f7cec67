"""gunicorn's gevent worker, but the answers gunicorn writes itself are JSON too.

gunicorn answers requests it cannot parse (a request line or headers too large, a bad method or
HTTP version) without the app, with an HTML page. These workers write the service's JSON error
shape (web/errors.py's error_document) instead, with any `token=` value in the echoed request
blanked.
"""

import json

from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

from quartermaster.server.gunicorn_app import redact_query_tokens
from quartermaster.web.errors import error_document

MAX_DETAIL = 200  # characters of gunicorn's explanation kept (it may echo the request line)


class JsonErrorsGeventWorker(GeventWorker):
    def init_process(self):
        util.write_error = write_json_error  # what gunicorn's handle_error writes with
        super().init_process()


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    detail = redact_query_tokens(mesg)[:MAX_DETAIL]
    error = f"{reason}: {detail}" if detail else reason
    body = json.dumps(error_document(status_int, error)).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)
