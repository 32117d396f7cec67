"""quartermaster: run functions-as-a-service jobs on a Docker Swarm over HTTP.

The package imports nothing on purpose: its entry points (quartermaster/server) must be able to
patch the standard library for gevent before Flask, docker-py or the ssl module are imported.
"""
