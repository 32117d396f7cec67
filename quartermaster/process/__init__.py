"""What every process of an instance shares: its configuration, JSON logging, metrics (and
the directory they meet in), the reaper's heartbeat, and the event that says it is stopping.
"""
