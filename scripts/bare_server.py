"""The HTTP hop's floor for `make bench`: a WSGI app that answers a fixed JSON body at once, under
quartermaster's own gunicorn settings (gevent workers, as many). Usage: bare_server.py HOST:PORT"""

import sys

# First: importing quartermaster.server patches gevent and prepares the metrics directory.
from quartermaster.server.gunicorn_app import gunicorn_options

# isort: split
from gunicorn.app.base import BaseApplication

from quartermaster.process.config import from_env

BODY = b'{"success": true, "id": "%s", "status": "started"}' % (b"x" * 25)
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]


class BareServer(BaseApplication):
    def load_config(self):
        options = gunicorn_options(from_env())
        for key in ("workers", "worker_class", "worker_connections", "timeout"):
            self.cfg.set(key, options[key])
        self.cfg.set("bind", sys.argv[1])

    def load(self):
        return app


if __name__ == "__main__":
    BareServer().run()
