"""The entry points: the `quartermaster` command, gunicorn's application and its hooks, and the
worker class that answers gunicorn's own errors in JSON.

Importing this package starts a quartermaster process: its first import, preamble.py, patches the
standard library for gevent and prepares the metrics directory before anything else is imported.
Every entry point (the command, gunicorn.conf.py, scripts/bare_server.py) imports from this
package, so none of them orders its own imports.
"""

import quartermaster.server.preamble  # noqa: F401  (first: see preamble.py)
