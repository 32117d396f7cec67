"""gunicorn's gevent worker, but the answers gunicorn writes itself are JSON too.

gunicorn answers requests it cannot parse (a request line or headers too large, a bad method or
HTTP version) without the app, with an HTML page. These workers write the service's JSON error
shape instead (web/errors.py's raw_error_answer), with any `token=` value in the echoed request
blanked.

gunicorn's worker writes these answers with the module-level function `util.write_error`, and
offers no hook for them: replacing that function, once per worker process, is the only way in.
"""

import socket

from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

from quartermaster.web.errors import raw_error_answer


class JsonErrorsGeventWorker(GeventWorker):
    def init_process(self) -> None:
        util.write_error = write_json_error  # what gunicorn's handle_error writes with
        super().init_process()


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, raw_error_answer(status_int, reason, mesg))
