"""The process is stopping: long waits (`/status?wait`, a followed log) end now, cleanly.

`stopping` is set when a gunicorn worker is told to stop (see `server/gunicorn_app.py`); whoever
waits for something waits on it too, so a stop ends the wait at once instead of after the grace
period.
Under gevent this is a gevent Event, since the standard library is patched first.
"""

import threading

stopping = threading.Event()
