"""The domain: what a job is (its spec, status, query, log options, nodes), the errors, the
label scheme. Pure: imports nothing of Flask or Docker, and nothing of ours outside this package.
"""
