"""HTTP: the Flask app (create_app, over the service quartermaster/compose.py builds), its
blueprints (api/), the token check, inputs, the JSON error shape, the request and response
schemas, the OpenAPI document and the access log.
"""
