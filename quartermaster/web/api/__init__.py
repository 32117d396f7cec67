"""One blueprint per endpoint; each parses, makes one call into the job runtime, serializes.

Each view also says what it takes and answers (`@describe`, web/describe.py), from which
`openapi.py` generates the OpenAPI document: the schemas that validate requests are the ones the
document shows.
"""
