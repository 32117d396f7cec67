"""The reaper process: timeouts, TTLs and callbacks (bounded, signed, guarded against internal
addresses), started and kept running by the gunicorn master (supervisor.py).
"""
