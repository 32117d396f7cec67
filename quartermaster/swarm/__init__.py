"""The runtime: all of quartermaster's Docker knowledge. Nothing here knows about Flask or HTTP.

`Swarm` (runtime.py) implements the job runtime over the modules beside it. This file imports
nothing, so that a pure module of the package (status.py: a service and its tasks as a job's
status) loads without docker, requests or prometheus_client.
"""
