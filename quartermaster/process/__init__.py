"""What every process of an instance shares: its configuration, JSON logging, metrics (and
the directory they meet in), the reaper's heartbeat, the event that says it is stopping, and
a callback host's lookup (for /run's validation and the reaper's delivery).
"""
