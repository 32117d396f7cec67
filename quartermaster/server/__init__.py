"""The entry points: the `quartermaster` command, gunicorn's application and its hooks, and the
worker class that answers gunicorn's own errors in JSON.
"""
