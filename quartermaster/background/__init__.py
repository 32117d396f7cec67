"""An instance's background process: the reaper's rounds and, beside them, the templates'
schedules (__main__.py), kept running by the gunicorn master (reaper/supervisor.py). Not under
quartermaster.server: like the reaper alone, it runs with the standard library's own threads,
not gevent's."""
